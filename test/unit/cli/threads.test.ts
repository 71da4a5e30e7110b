// --threads on the command line, from the same row of the table of training options as
// lstmLens.threads: 0 (every core, up to 8, the default) to 8 taken by train (fresh or resumed)
// and bench, anything else refused in one line with exit status 2; the help names it once.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cliIn, ok, show, TINY, workspace } from './cli-support';

const ws = workspace('threads');
after(ws.cleanup);

describe('--threads', () => {
  for (const bad of ['9', '2.5', 'x', '-1', '']) {
    it(`train and bench refuse --threads=${JSON.stringify(bad)}: one line, exit 2`, () => {
      for (const args of [['train', ws.story, ...TINY, '--steps', '1', `--threads=${bad}`], ['bench', `--threads=${bad}`]]) {
        const r = cliIn(ws.dir, args);
        assert.equal(r.status, 2, show(r));
        assert.equal(r.stderr, `lstm-lens: --threads must be a whole number from 0 to 8 (0: every core, up to 8), got "${bad}"\n`, show(r));
      }
    });
  }

  it('train takes 0 (every core) and 1, fresh and with --resume (the count is not the saved run\'s)', () => {
    ok(cliIn(ws.dir, ['train', ws.story, ...TINY, '--steps', '2', '--threads', '0']));
    ok(cliIn(ws.dir, ['train', ws.story, '--quiet', '--steps', '4', '--resume', '--threads', '1']));
  });

  it('the help names it once, with 0', () => {
    const help = ok(cliIn(ws.dir, ['train', '--help'])).stdout;
    assert.equal(help.match(/--threads N/g)?.length, 1, help);
    assert.match(help, /--threads N +threads, 1 to 8; 0 for every core, up to 8 \(default 0\)/);
  });
});
