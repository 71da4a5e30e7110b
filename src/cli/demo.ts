// `npm run demo`: the command line on a text that shows learning. A character-level LSTM trains on
// the opening of Shakespeare's Coriolanus (media/samples/coriolanus_excerpt.txt, about 100 KB,
// public domain) for 300 steps (about half a minute on two cores), its last tenth held out; the
// loss there is set against the uniform guess ln V; then the model continues a cue, and the demo
// ends with what to try next. Each step is the real `lstm-lens` (dist/cli.js), shown as it runs.
//
// Run after `npm run build`: tsx src/cli/demo.ts [--steps N] [--out CKPT]

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const TEXT = join('media', 'samples', 'coriolanus_excerpt.txt');
const PRIME = 'MENENIUS:';

/** How a command is shown: as a user would type it from the project's folder. */
const shown = (args: string[]): string => `node dist/cli.js ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/\n/g, '\\n').replace(/'/g, `'\\''`)}'`)).join(' ')}`;

function run(args: string[], captureStdout = false): { status: number; stdout: string } {
  process.stdout.write(`\n$ ${shown(args)}\n`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout ?? '' };
}

function main(): number {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '300' }, out: { type: 'string', default: join('dist', 'coriolanus.lstm.safetensors') } } });
  if (!existsSync(CLI)) {
    process.stderr.write('demo: dist/cli.js is missing: run npm run build first (npm run demo does)\n');
    return 2;
  }
  const out = relative(ROOT, resolve(ROOT, values.out));
  process.stdout.write(
    'LSTM Lens demo: a character-level LSTM (one layer of 128 units, one-hot input) learns the opening\n' +
      "of Shakespeare's Coriolanus (100 KB, public domain). The last tenth of the text is held out: the\n" +
      'model never trains on it, so its loss there says what it learned rather than what it memorised.\n',
  );

  const trained = run(['train', TEXT, '--steps', values.steps, '--lr', '0.01', '--out', out, '--json'], true);
  const lines = trained.stdout.trimEnd().split('\n');
  let summary: Record<string, unknown> | null = null;
  try {
    summary = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
  } catch {
    /* no summary: the status says why */
  }
  if (trained.status !== 0 || summary === null) return trained.status || 1;
  const heldOut = summary.eval_loss as number | null;
  const uniform = summary.uniform_loss as number;
  const V = summary.vocab_size as number;
  if (heldOut !== null) {
    process.stdout.write(
      `\nWhat it learned: on the held-out tenth it scores ${heldOut.toFixed(3)} nats per character, where a uniform\n` +
        `guess among the ${V} characters scores ln ${V} = ${uniform.toFixed(3)}. On text it has never seen, it is as unsure\n` +
        `as a choice among e^${heldOut.toFixed(2)} ≈ ${Math.exp(heldOut).toFixed(1)} characters instead of ${V}.\n`,
    );
  }

  process.stdout.write('\nIt continues a cue (dimmed on a terminal) in the voice of the play:\n');
  const generated = run(['generate', out, '--prime', PRIME, '--with-prime', '--length', '400', '--temperature', '0.7', '--seed', '1']);
  if (generated.status !== 0) return generated.status;

  process.stdout.write(
    [
      '',
      'What to try next',
      '',
      'In VS Code: build and install the extension (npm run package, then Extensions view → … → Install',
      'from VSIX… and pick lstm-lens.vsix), open media/samples/coriolanus_excerpt.txt (or a text of your',
      'own) and run "LSTM Lens: Train LSTM on This File" from the command palette. Then run',
      '"LSTM Lens: Inspect States":',
      'Shapes, States (click a unit to colour it in the editor), Gradients, Training (the loss against',
      'ln V) and Predictions follow the cursor. "LSTM Lens: Generate Text at Cursor" writes into the file.',
      '',
      'On the command line:',
      `  ${shown(['inspect', out, '--text', 'First Citizen:', '--units', '0-7'])}`,
      '      what the model predicts at each character, and the gates and states of units 0 to 7',
      `  ${shown(['generate', out, '--prime', 'ROME', '--temperature', '0'])}`,
      '      the most likely continuation (--temperature 0); higher temperatures are more adventurous',
      `  ${shown(['train', TEXT, '--resume', '--out', out, '--steps', '1000'])}`,
      '      train further, and compare its held-out loss with this run\'s',
      `  ${shown(['train', join('media', 'samples', 'belling_the_cat.txt'), '--tokens', 'word', '--steps', '300'])}`,
      '      the fable the article series trained on, word by word (see the README for its exact setup)',
      `  ${shown(['grad', join('test', 'fixtures', 'grad', 'article.case.json')])}`,
      '      one forward and backward pass in the open, every gradient as JSON (checked against PyTorch)',
      `  ${shown(['bench'])}`,
      '      training and generation speed',
      `  ${shown(['--help'])}`,
      '      every command; lstm-lens <command> --help for its options',
      '',
    ].join('\n'),
  );
  return 0;
}

process.exitCode = main();
