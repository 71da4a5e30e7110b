// `npm run demo` (src/cli/demo.ts) in short: trains on the bundled Coriolanus excerpt with its last
// tenth held out, reports the held-out loss against ln V, continues a cue, and ends with what to
// try next, every suggested command one the command line takes. Three steps instead of 300.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, readHeader, ROOT } from './cli-support';

let dir = '';
before(() => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'lstm-lens-demo-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Shell words as the demo prints them: plain, or in single quotes ('\'' for a quote). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
  return out;
}

describe('the demo', () => {
  it('trains on the bundled text with its tail held out, compares with ln V, generates, and suggests commands that exist', () => {
    const text = readFileSync(join(ROOT, 'media', 'samples', 'coriolanus_excerpt.txt'), 'utf8');
    assert.ok(text.length > 50_000 && text.length < 150_000, `${text.length} characters`);
    const out = join(dir, 'demo.ckpt');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join('src', 'cli', 'demo.ts'), '--steps', '3', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const header = readHeader(out);
    assert.equal(header.config.holdout, 0.1);
    assert.equal(header.training.step, 3);
    const V = (JSON.parse(header.metadata.vocab) as { tokens: string[] }).tokens.length;
    assert.match(r.stderr, /loss on the last 10% of the text \([\d,]+ tokens, held out: not trained on\)/);
    assert.match(r.stdout, new RegExp(`What it learned: on the held-out tenth it scores \\d+\\.\\d{3} nats per character, where a uniform\\nguess among the ${V} characters scores ln ${V} = ${Math.log(V).toFixed(3)}`));
    assert.match(r.stdout, /\nMENENIUS:./);
    const next = r.stdout.slice(r.stdout.indexOf('What to try next'));
    assert.ok(next.length > 0 && /Train LSTM on This File/.test(next) && /Inspect States/.test(next));
    const suggested = next.split('\n').filter((l) => l.startsWith('  node dist/cli.js '));
    assert.ok(suggested.length >= 6, suggested.join('\n'));
    for (const line of suggested) {
      const args = words(line).slice(2);
      // Every option is one the command knows (--help after them answers before anything runs).
      const help = spawnSync(process.execPath, [CLI, ...args, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.equal(help.status, 0, `${line}\n${help.stderr}`);
      // The quick ones run as printed.
      if (['inspect', 'generate', 'grad'].includes(args[0])) {
        const run = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
        assert.equal(run.status, 0, `${line}\n${run.stderr}`);
      }
    }
  });
});
