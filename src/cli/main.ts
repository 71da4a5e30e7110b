// lstm-lens: the engine from the command line (docs/cli.md). This file reads the command
// and hands it to its file: train.ts, generate.ts, inspect.ts, grad.ts, bench.ts (the usage and
// each command's --help are in help.ts). `train` runs the loop the workers run
// (src/run/trainingLoop.ts) with its own I/O: the progress bar, atomic saves, signals.
// Exit status: 0 success; 2 bad usage or bad input (one line on stderr); 1 failure while running.

import { InputError } from '../engine/config';
import { printable } from '../engine/format';
import { UsageError } from './args';
import { baseline } from './baseline';
import { bench } from './bench';
import { explain } from './explain';
import { exportCommand } from './export';
import { generate } from './generate';
import { grad } from './grad';
import { COMMANDS, USAGE } from './help';
import { importCommand } from './import';
import { inspect } from './inspect';
import { nearest } from './options';
import { closeStderr, say } from './stderr';
import { train } from './train';
import { units } from './units';
import { packageVersion } from './version';
import { enableRelaxedSimd } from '../node/wasmFeatures';

export { useColor } from './generate';

export async function main(argv: string[]): Promise<number> {
  enableRelaxedSimd(); // the engine's FMA kernels on Node 20 too (before anything compiles them)
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'train':
        return await train(rest);
      case 'generate':
        return generate(rest);
      case 'inspect':
        return inspect(rest);
      case 'units':
        return units(rest);
      case 'explain':
        return explain(rest);
      case 'grad':
        return grad(rest);
      case 'baseline':
        return baseline(rest);
      case 'bench':
        return await bench(rest);
      case 'export':
        return exportCommand(rest);
      case 'import':
        return importCommand(rest);
      case undefined:
        // The usage on stdout, and bad usage said on stderr (status 2), as the usage itself says.
        process.stdout.write(`${USAGE}\n`);
        throw new UsageError(`no command given (commands: ${COMMANDS.join(', ')})`);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      case 'version':
      case '--version':
      case '-V':
      case '-v':
        process.stdout.write(`lstm-lens ${packageVersion() ?? '(version unknown: package.json not found)'}\n`);
        return 0;
      default: {
        const guess = nearest(command, COMMANDS);
        throw new UsageError(
          `unknown ${command.startsWith('-') ? 'option' : 'command'} "${printable(command, 60)}"${guess ? `; did you mean ${guess}?` : ''} (commands: ${COMMANDS.join(', ')}; see lstm-lens --help)`,
        );
      }
    }
  } catch (e) {
    // One line whatever the message quotes (a file name with a line break, a terminal escape).
    const message = printable(String((e as Error)?.message ?? e), 2000);
    if (e instanceof InputError) {
      say(`lstm-lens: ${message}`);
      return 2;
    }
    say(`lstm-lens: ${message}`);
    if (process.env.LSTM_LENS_DEBUG) say(`${(e as Error).stack}`);
    return 1;
  }
}

if (require.main === module) {
  // A closed pipe (lstm-lens inspect ... | head) ends the output quietly.
  // (With the status the command has set by then: train sets it before its last line.)
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit();
    throw e;
  });
  // A closed stderr (... 2>&1 | head -2) silences the progress and the notes; the run goes on,
  // saves, and ends with the status it would have had.
  // Any error of stderr: there is nowhere left to report it.
  process.stderr.on('error', () => {
    closeStderr();
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
