// The command line and its files under a careless or unlucky user (issue 11): the text is never
// overwritten, nothing else is replaced by mistake, a bad --out is found before the first step,
// SIGTERM and SIGHUP save like Ctrl-C, killed runs' temporary files go, links and permissions
// survive a save, devices and FIFOs are refused, names from outside are printed escaped, a closed
// stderr does not fail a run, and numbers are plain decimals. The real CLI (dist/cli.js: `npm run
// build` first) runs in a temporary folder on the bundled fable.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { WriteError, writeFileAtomic } from '../../../src/node/files';
import { assertNoControl, CLI, cliIn, lastJsonLine, ok, readHeader, refused, savedStep, startCli, TINY, workspace, type Run } from './cli-support';

let dir = '';
let story = '';
let cleanup = (): void => {};
let original = Buffer.alloc(0);

before(() => {
  ({ dir, story, cleanup } = workspace('files'));
  original = readFileSync(story);
});
after(() => cleanup());

const cli = (...args: string[]): Run => cliIn(dir, args);
const posix = process.platform !== 'win32';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The temporary files beside checkpoints in `folder` (`.<name>.<pid>.<thread>.<n>.tmp`). */
const temporaries = (folder = dir): string[] => readdirSync(folder).filter((f) => f.startsWith('.') && f.endsWith('.tmp'));

/** Tries a read-only bind mount of `folder` onto itself (root on Linux with the right to mount); returns the undo, or null. */
function readOnlyBind(folder: string): (() => void) | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const bind = spawnSync('mount', ['--bind', folder, folder]);
  if (bind.status !== 0) return null;
  const ro = spawnSync('mount', ['-o', 'remount,ro,bind', folder]);
  if (ro.status !== 0) {
    spawnSync('umount', [folder]);
    return null;
  }
  return () => {
    spawnSync('umount', [folder]);
  };
}

describe('the training text is never replaced', () => {
  it('--out naming the text (the same path, ./path, absolute, a symbolic link, a hard link) is refused in one line; the text is untouched', () => {
    symlinkSync('story.txt', join(dir, 'story-link.txt'));
    linkSync(story, join(dir, 'story-hard.txt'));
    for (const out of ['story.txt', './story.txt', story, join(dir, '.', 'story.txt'), 'story-link.txt', 'story-hard.txt']) {
      refused(cli('train', 'story.txt', ...TINY, '--steps', '2', '--out', out), /is the training text/);
      assert.ok(readFileSync(story).equals(original), `the text is unchanged after --out ${out}`);
    }
    // Trained through the link, the default checkpoint is beside the link, not over the text.
    ok(cli('train', 'story-link.txt', ...TINY, '--steps', '1'));
    assert.ok(readFileSync(story).equals(original));
  });

  it('an existing file that is not a checkpoint is replaced only with --force', () => {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'my notes, not a model\n');
    const foreign = join(dir, 'other.safetensors');
    // A safetensors file of another program: a header, no lstm-lens format.
    const header = Buffer.from('{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(foreign, Buffer.concat([len, header, Buffer.alloc(4)]));
    const tiny = join(dir, 'tiny.bin');
    writeFileSync(tiny, 'abc');
    for (const path of [notes, foreign, tiny]) {
      const before = readFileSync(path);
      refused(cli('train', 'story.txt', ...TINY, '--steps', '1', '--out', path), /exists and is not an lstm-lens checkpoint.*--force/);
      assert.ok(readFileSync(path).equals(before), `${path} is unchanged`);
    }
    const forced = ok(cli('train', 'story.txt', ...TINY.filter((a) => a !== '--quiet'), '--steps', '1', '--out', notes, '--force'));
    assert.match(forced.stderr, /--force: replacing .*notes\.txt, which is not a checkpoint/);
    assert.equal(savedStep(notes), 1);
  });

  it('a fresh run onto an existing checkpoint says what it replaces: its step, loss and source', () => {
    const out = join(dir, 'replaced.ckpt');
    ok(cli('train', 'story.txt', ...TINY, '--steps', '3', '--out', out));
    const { training } = readHeader(out);
    const r = ok(cli('train', 'story.txt', ...TINY.filter((a) => a !== '--quiet'), '--steps', '1', '--out', out));
    const note = r.stderr.split('\n').find((l) => l.includes('replacing'));
    assert.ok(note, r.stderr);
    assert.match(note, /^note: replacing the checkpoint at .*replaced\.ckpt \(step 3, loss \d+\.\d{4}, trained on story\.txt\)/);
    assert.ok(note.includes((training.loss as number).toFixed(4)), `the saved loss ${training.loss}: ${note}`);
  });
});

describe('a bad --out is found before the first step', () => {
  // Without --quiet a run prints its model line before the first step: one line on stderr means nothing was trained.
  const train = (out: string, ...more: string[]): Run => cli('train', 'story.txt', '--tokens', 'word', '--hidden', '8', '--steps', '1000000', '--out', out, ...more);

  it('a folder, a missing folder, a file used as a folder, a FIFO and a name over 255 bytes: exit 2, one line, nothing trained', () => {
    mkdirSync(join(dir, 'a-folder'));
    refused(train('a-folder'), /a-folder is a folder/);
    refused(train(join('no-such-folder', 'x.ckpt')), /the folder no-such-folder does not exist/);
    refused(train(join('story.txt', 'x.ckpt')), /cannot be written/);
    refused(train('x'.repeat(256)), /the file name is 256 bytes; the limit is 255/);
    if (posix) {
      assert.equal(spawnSync('mkfifo', [join(dir, 'out.fifo')]).status, 0);
      refused(train('out.fifo'), /pipe/);
      // As root, the rename of a save would have replaced the device itself.
      refused(train('/dev/null'), /\/dev\/null is a character device; give a regular file/);
      assert.ok(statSync('/dev/null').isCharacterDevice());
    }
  });

  it('an unwritable folder (permissions for a user; a read-only mount for root): exit 2, one line', (t: TestContext) => {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    let undo: (() => void) | null = null;
    if (process.getuid?.() === 0) {
      // chmod does not stop root: only a read-only file system does.
      undo = readOnlyBind(locked);
      if (!undo) return t.skip('running as root without the right to mount: no folder here is unwritable to root');
    } else {
      if (!posix) return t.skip('no POSIX permissions');
      chmodSync(locked, 0o555);
      undo = () => chmodSync(locked, 0o755);
    }
    try {
      refused(train(join(locked, 'x.ckpt')), /cannot be written: (permission denied|the file system is read-only)/);
    } finally {
      undo();
    }
  });

  it('an append-only folder (as root): the run is refused before it starts, and a save there reports its own error, not the failed cleanup\'s', (t: TestContext) => {
    // In an append-only folder a file can be created but neither renamed nor removed, even by root.
    const folder = join(dir, 'append-only');
    mkdirSync(folder);
    if (process.platform !== 'linux' || process.getuid?.() !== 0 || spawnSync('chattr', ['+a', folder]).status !== 0) {
      return t.skip('needs root on Linux and a file system with chattr +a');
    }
    try {
      refused(train(join(folder, 'x.ckpt')), /append-only.*cannot be written: permission denied/);
      assert.throws(
        () => writeFileAtomic(join(folder, 'y.ckpt'), new Uint8Array([1, 2, 3])),
        (e: unknown) =>
          e instanceof WriteError && /^cannot save .*y\.ckpt: permission denied$/.test(e.message) && (e.cause as NodeJS.ErrnoException).syscall === 'rename',
      );
    } finally {
      spawnSync('chattr', ['-a', folder]);
    }
  });

  it('a checkpoint name long enough that its temporary name would pass 255 bytes is still saved, and no temporary file stays', () => {
    const name = `${'m'.repeat(240)}.ckpt`; // 245 bytes: fine, but ".<name>.<pid>.<thread>.<n>.tmp" is not
    ok(cli('train', 'story.txt', ...TINY, '--steps', '2', '--save-every', '1', '--out', name));
    assert.equal(savedStep(join(dir, name)), 2);
    assert.deepEqual(temporaries(), []);
  });

  it('a save that fails mid-run (a full disk) ends in one line with exit 1, and leaves no temporary file', (t: TestContext) => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return t.skip('needs root on Linux to mount a small file system');
    const small = join(dir, 'small');
    mkdirSync(small);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]).status !== 0) return t.skip('cannot mount a tmpfs here');
    try {
      // Hidden 64: a checkpoint of about 350 KB, over the 64 KiB the file system holds.
      const r = cli('train', 'story.txt', '--tokens', 'word', '--hidden', '64', '--steps', '3', '--save-every', '1', '--quiet', '--out', join(small, 'x.ckpt'));
      refused(r, /cannot save .*x\.ckpt: no space left on the device/, 1);
      assert.deepEqual(temporaries(small), []);
    } finally {
      spawnSync('umount', [small]);
    }
  });
});

describe('stopping, killed runs, links and permissions', () => {
  /** Starts a long run that saves every step, waits for its first save, sends `signal`, and returns how it ended. */
  async function stopWith(signal: NodeJS.Signals, out: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
    const child = startCli(dir, ['train', 'story.txt', ...TINY, '--steps', '100000000', '--save-every', '1', '--json', '--out', out]);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (status, sig) => r({ status, signal: sig })));
    // The first save comes after the handlers are in place.
    while (!existsSync(out) && child.exitCode === null) await sleep(20);
    child.kill(signal);
    const end = await ended;
    return { ...end, stdout, stderr };
  }

  for (const [signal, status] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    it(`${signal} saves the run and exits ${status}`, async () => {
      if (!posix && signal !== 'SIGINT') return;
      const out = join(dir, `stopped-${signal}.ckpt`);
      const r = await stopWith(signal, out);
      assert.equal(r.signal, null, `ended by its own exit, not killed: ${r.stderr}`);
      assert.equal(r.status, status, r.stderr);
      const summary = lastJsonLine(r.stdout);
      assert.equal(savedStep(out), summary.steps, 'the checkpoint holds the last step run');
      assert.ok((summary.steps as number) >= 1);
      ok(cli('generate', out, '--length', '3'));
    });
  }

  it('temporary files of killed runs are removed at the next save there; those of live processes stay', () => {
    const out = join(dir, 'cleaned.ckpt');
    ok(cli('train', 'story.txt', ...TINY, '--steps', '1', '--out', out));
    // A process that has ended: its pid is free (and would have to be reused within this test to be alive again).
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    assert.ok(deadPid > 0);
    const dead = `.cleaned.ckpt.${deadPid}.0.1.tmp`;
    const live = `.cleaned.ckpt.${process.pid}.0.1.tmp`;
    const unrelated = `.other.ckpt.${deadPid}.0.1.tmp`;
    for (const name of [dead, live, unrelated]) writeFileSync(join(dir, name), 'half a checkpoint');
    const r = ok(cli('train', 'story.txt', ...TINY.filter((a) => a !== '--quiet'), '--steps', '1', '--out', out));
    assert.match(r.stderr, /removed 1 temporary file/);
    const left = temporaries();
    assert.ok(!left.includes(dead), 'the dead run\'s file is gone');
    assert.ok(left.includes(live), 'a live process\'s file stays');
    assert.ok(left.includes(unrelated), 'another checkpoint\'s file stays');
    for (const name of [live, unrelated]) rmSync(join(dir, name));
  });

  it('saving through a symbolic link keeps the link and writes its target; the file\'s permissions are kept', { skip: !posix }, () => {
    mkdirSync(join(dir, 'models'));
    const real = join(dir, 'models', 'real.ckpt');
    const link = join(dir, 'link.ckpt');
    ok(cli('train', 'story.txt', ...TINY, '--steps', '2', '--out', real));
    chmodSync(real, 0o600);
    symlinkSync(join('models', 'real.ckpt'), link);
    ok(cli('train', 'story.txt', '--resume', '--steps', '4', '--quiet', '--out', link));
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a link');
    assert.equal(readlinkSync(link), join('models', 'real.ckpt'));
    assert.equal(savedStep(real), 4, 'the target holds the new save');
    assert.equal(statSync(real).mode & 0o777, 0o600, 'mode kept');
    assert.deepEqual(temporaries(join(dir, 'models')), []);
    assert.deepEqual(temporaries(), []);
    // A link to a checkpoint that does not exist yet: the first save creates the target.
    const ahead = join(dir, 'ahead.ckpt');
    symlinkSync(join('models', 'first.ckpt'), ahead);
    ok(cli('train', 'story.txt', ...TINY, '--steps', '1', '--out', ahead));
    assert.ok(lstatSync(ahead).isSymbolicLink());
    assert.equal(savedStep(join(dir, 'models', 'first.ckpt')), 1);
    // A fresh run onto the link (it replaces the checkpoint it points to) keeps it too.
    chmodSync(real, 0o640);
    ok(cli('train', 'story.txt', ...TINY, '--steps', '1', '--out', link));
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(savedStep(real), 1);
    assert.equal(statSync(real).mode & 0o777, 0o640);
    // Root saving a user's checkpoint leaves it theirs.
    if (process.getuid?.() === 0) {
      chownSync(real, 1234, 2345);
      ok(cli('train', 'story.txt', '--resume', '--steps', '3', '--quiet', '--out', link));
      assert.equal(savedStep(real), 3);
      assert.deepEqual([statSync(real).uid, statSync(real).gid], [1234, 2345], 'owner kept');
    }
  });
});

describe('only regular files are read', () => {
  it('devices and FIFOs are refused at once in one line: train, generate, inspect, grad', { skip: !posix }, () => {
    const fifo = join(dir, 'in.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // Before, /dev/zero was read until memory ran out and a FIFO was waited on for ever (the spawn's timeout ends those).
    refused(cli('train', '/dev/zero', ...TINY), /\/dev\/zero is a character device, not a text file/);
    refused(cli('train', fifo, ...TINY), /in\.fifo is a pipe \(FIFO\), not a text file/);
    refused(cli('generate', '/dev/zero'), /character device, not a checkpoint/);
    refused(cli('generate', fifo), /pipe \(FIFO\), not a checkpoint/);
    refused(cli('inspect', fifo, '--text', 'the mice'), /pipe \(FIFO\), not a checkpoint/);
    refused(cli('grad', '/dev/zero'), /character device, not a grad case/);
    refused(cli('grad', fifo), /pipe \(FIFO\), not a grad case/);
    refused(cli('train', 'story.txt', '--resume', '--out', '/dev/zero'), /character device/);
  });

  it('/dev/stdin: a pipe or a socket is refused (it would skip the size limit); a file redirected to stdin is read as a file', { skip: process.platform !== 'linux' }, () => {
    // A shell pipe: /dev/stdin is a FIFO.
    const piped = spawnSync('sh', ['-c', `printf 'the cat and the mice %.0s' $(seq 50) | "${process.execPath}" "${CLI}" train /dev/stdin --tokens word --out stdin.ckpt`], { cwd: dir, encoding: 'utf8' });
    refused({ status: piped.status, signal: piped.signal, stdout: piped.stdout, stderr: piped.stderr }, /\/dev\/stdin is a pipe \(FIFO\), not a text file/);
    // Node's own pipes are sockets, which cannot even be opened by name.
    refused(cliIn(dir, ['train', '/dev/stdin', ...TINY, '--out', 'stdin.ckpt'], { input: 'the cat and the mice '.repeat(50) }), /\/dev\/stdin: cannot read it \(it is not a regular file/);
    assert.ok(!existsSync(join(dir, 'stdin.ckpt')));
    const fd = openSync(story, 'r');
    try {
      const r = spawnSync(process.execPath, [CLI, 'train', '/dev/stdin', ...TINY, '--steps', '1', '--out', 'stdin.ckpt'], { cwd: dir, stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      closeSync(fd);
    }
    assert.equal(savedStep(join(dir, 'stdin.ckpt')), 1);
  });
});

describe('names from outside are printed escaped', () => {
  it('a file name with a line break gives a one-line message', () => {
    refused(cli('train', 'no\nsuch.txt', ...TINY), /no\\nsuch\.txt: no such file/);
    writeFileSync(join(dir, 'empty\nfile.txt'), '');
    refused(cli('train', 'empty\nfile.txt', ...TINY), /empty\\nfile\.txt: the file is empty/);
    refused(cli('generate', 'bad\r\nname.ckpt'), /bad\\r\\nname\.ckpt: no such file/);
    refused(cli('grad', 'case\n.json'), /case\\n\.json: no such file/);
    refused(cli('train', 'story.txt', '--out', 'new\nfolder/x.ckpt'), /new\\nfolder/);
  });

  it('a stored source name with terminal escapes is printed escaped', () => {
    // A text whose name carries escape sequences (ESC, an 8-bit CSI, a bidirectional override).
    const evil = 'evil\u001b[2J\u009b31m\u202e.txt';
    writeFileSync(join(dir, evil), original);
    const out = join(dir, 'evil.ckpt');
    ok(cli('train', evil, ...TINY, '--steps', '1', '--out', out));
    assert.equal((readHeader(out).training.source as { name: string }).name, evil, 'stored as it is');
    const fresh = ok(cli('train', 'story.txt', ...TINY.filter((a) => a !== '--quiet'), '--steps', '1', '--out', out));
    assertNoControl(fresh.stderr, 'stderr');
    assert.match(fresh.stderr, /trained on evil\\x1b\[2J\\x9b31m\\u202e\.txt/);
    // Resumed on another text: the note naming the text it was trained on.
    ok(cli('train', evil, ...TINY, '--steps', '1', '--out', out));
    const resumed = ok(cli('train', 'story.txt', '--resume', '--steps', '2', '--out', out));
    assertNoControl(resumed.stderr, 'stderr');
    // Tokens in inspect's text output: a char model that knows the escape characters.
    const chars = join(dir, 'chars.ckpt');
    writeFileSync(join(dir, 'escapes.txt'), `${original.toString('utf8')}\u001b[31m red \u009b0m \u202e`);
    ok(cli('train', 'escapes.txt', '--hidden', '8', '--seq', '8', '--batch', '2', '--steps', '1', '--quiet', '--out', chars));
    const shown = ok(cli('inspect', chars, '--text', 'a\u001b[31m\u009b\u202eb', '--top', '100'));
    assertNoControl(shown.stdout, 'inspect output');
  });
});

describe('a closed stderr', () => {
  it('does not turn a finished run into a failure (train ... 2>&1 | head -2): exit 0 and the checkpoint saved', async () => {
    const out = join(dir, 'piped.ckpt');
    const child = spawn(process.execPath, [CLI, 'train', 'story.txt', '--tokens', 'word', '--hidden', '8', '--steps', '300', '--save-every', '50', '--out', out], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // The reader goes away before the run writes anything (as `head` does after its lines): every
    // line the run writes to stderr, the first note to the last "done", meets a closed pipe.
    child.stderr!.destroy();
    const status = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code))));
    assert.equal(status, 0);
    assert.equal(savedStep(out), 300);
  });
});

describe('numbers are plain decimals, checked by the rules of the checkpoint reader', () => {
  it('negative numbers reach the check ("must be > 0"), not parseArgs\' "ambiguous"', () => {
    refused(cli('train', 'story.txt', '--lr', '-1'), /^lstm-lens: --lr must be a number > 0, got "-1"$/);
    refused(cli('train', 'story.txt', '--hidden', '-3'), /^lstm-lens: --hidden must be a whole number from 1 to 16384, got "-3"$/);
    refused(cli('train', 'story.txt', '--clip', '-0.5'), /--clip must be a number ≥ 0/);
    refused(cli('generate', 'x.ckpt', '--temperature', '-1'), /--temperature must be a number ≥ 0/);
    refused(cli('train', 'story.txt', '--steps', '-1e3'), /--steps must be a whole number ≥ 1, got "-1e3"/);
  });

  it('hexadecimal, padded, exponent and fractional whole numbers are refused', () => {
    for (const value of ['0x10', ' 8 ', '8 ', '1e3', '2.5', '+8', '08.0', 'Infinity', '']) {
      refused(cli('train', 'story.txt', '--hidden', value), /--hidden must be a whole number from 1 to 16384/);
    }
    for (const value of ['0x1p-3', ' 0.1', 'Infinity', 'NaN', '1e-3x', '1/2', '']) {
      refused(cli('train', 'story.txt', '--lr', value), /--lr must be a number > 0/);
    }
    refused(cli('train', 'story.txt', '--steps', '1e300'), /--steps must be a whole number ≥ 1/);
    refused(cli('train', 'story.txt', '--steps', '9007199254740993'), /--steps must be a whole number ≥ 1/);
    refused(cli('train', 'story.txt', '--seed', '4294967296'), /--seed must be a whole number from 0 to 4294967295/);
    // Options are checked before any file is read or written.
    refused(cli('train', 'no-such.txt', '--hidden', '0x10'), /--hidden must be/);
    refused(cli('train', 'story.txt', '--resume', '--out', 'no-such.ckpt', '--steps', '1e300'), /--steps must be/);
  });

  it('bench takes the same plain whole numbers, and a parseArgs mistake is one line with exit 2', () => {
    for (const value of ['0x10', ' 8 ', '-1', '1e2', '2.5']) refused(cli('bench', '--steps', value), /^lstm-lens: (--steps must be a whole number ≥ 1|bench: )/);
    refused(cli('bench', '--hidden', '20000'), /--hidden must be a whole number from 1 to 16384/);
    refused(cli('bench', '--frobnicate'), /^lstm-lens: bench: unknown option --frobnicate \(see lstm-lens bench --help\)$/);
  });

  it('sizes the reader would refuse are refused before training: --layers 65, --embedding 100000, --max-vocab over 2^20', () => {
    refused(cli('train', 'story.txt', '--layers', '65'), /--layers must be a whole number from 1 to 64/);
    refused(cli('train', 'story.txt', '--embedding', '100000'), /--embedding must be a whole number from 0 to 16384/);
    refused(cli('train', 'story.txt', '--max-vocab', String(2 ** 20 + 1)), /--max-vocab must be a whole number from 0 to 1048576/);
    refused(cli('train', 'story.txt', '--hidden', '16385'), /--hidden must be a whole number from 1 to 16384/);
  });

  it('plain decimals are accepted: 8, 0.004, .5e-2, 1e-3, 4E-3', () => {
    for (const lr of ['0.004', '.5e-2', '1e-3', '4E-3']) {
      const out = join(dir, `lr-${lr}.ckpt`);
      ok(cli('train', 'story.txt', ...TINY, '--steps', '1', '--lr', lr, '--out', out));
      assert.equal(readHeader(out).config.learning_rate, Number(lr));
    }
  });
});
