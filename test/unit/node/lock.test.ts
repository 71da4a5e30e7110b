// The per-model lock (src/node/modelLock.ts) that keeps two VS Code windows from training one
// file's model at once, with real processes racing for it: exactly one wins, the others name it;
// a lock left by a dead process, or not refreshed for STALE_AFTER_MS, is taken over (by exactly
// one of several racers); a live one is never taken; the owner notices when its lock is gone.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { acquireModelLock, lockedElsewhere, lockPathFor, STALE_AFTER_MS, type LockOwner } from '../../../src/node/modelLock';

const RACER = join(__dirname, 'lock-racer.ts');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-lock-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface RacerResult { ok: boolean; pid: number; owner?: LockOwner | null }

/** Starts `n` racer processes that all try at the same moment; resolves with their answers and a way to end the winners. */
async function race(checkpointPath: string, n: number, then: 'hold' | 'die' = 'hold') {
  const startAt = Date.now() + 2500; // time for every process to load before the moment
  const children = Array.from({ length: n }, () => spawn(process.execPath, ['--import', 'tsx', RACER, checkpointPath, String(startAt), then], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const results = await Promise.all(children.map((child) => new Promise<RacerResult>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as RacerResult);
    });
    child.on('exit', (code) => { if (!out.includes('\n')) reject(new Error(`racer exited with ${code} and said nothing`)); });
  })));
  const exited = children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', () => resolve()))));
  return {
    results,
    /** Closes every racer's stdin: the winner releases its lock and exits. */
    end: async () => {
      for (const child of children) child.stdin.end();
      await Promise.all(exited);
    },
  };
}

describe('the per-model lock, raced by real processes', { timeout: 120_000 }, () => {
  it('six processes take a free lock at once: exactly one wins, the others name it; released, it is gone', async () => {
    const ckpt = join(scratch, 'free.lstm.safetensors');
    const { results, end } = await race(ckpt, 6);
    const winners = results.filter((r) => r.ok);
    assert.equal(winners.length, 1, JSON.stringify(results));
    for (const loser of results.filter((r) => !r.ok)) {
      assert.equal(loser.owner?.pid, winners[0].pid);
      assert.equal(loser.owner?.host, hostname());
    }
    const owner = JSON.parse(readFileSync(lockPathFor(ckpt), 'utf8')) as LockOwner;
    assert.equal(owner.pid, winners[0].pid);
    assert.equal(lockedElsewhere(ckpt)?.pid, winners[0].pid);
    await end();
    assert.equal(existsSync(lockPathFor(ckpt)), false);
    assert.deepEqual(readdirSync(scratch).filter((f) => f.includes('free') && f !== 'free.lstm.safetensors'), [], 'no temporary file is left');
  });

  it('a lock left by a process that died is stale: of six racers exactly one takes it over', async () => {
    const ckpt = join(scratch, 'dead.lstm.safetensors');
    const first = await race(ckpt, 1, 'die');
    await first.end();
    assert.equal(first.results[0].ok, true);
    const left = JSON.parse(readFileSync(lockPathFor(ckpt), 'utf8')) as LockOwner;
    assert.equal(left.pid, first.results[0].pid, 'the dead process left its lock');
    assert.equal(lockedElsewhere(ckpt), null, 'a dead owner holds nothing');
    const { results, end } = await race(ckpt, 6);
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
    const winner = results.find((r) => r.ok) as RacerResult;
    for (const loser of results.filter((r) => !r.ok)) assert.equal(loser.owner?.pid, winner.pid);
    await end();
    assert.equal(existsSync(lockPathFor(ckpt)), false);
  });
});

describe('the per-model lock in one process', () => {
  const otherHost = (started: number): LockOwner => ({ pid: 1, host: `${hostname()}-elsewhere`, started, nonce: 'feedfacefeedface' });

  it("another host's live lock is held; once not refreshed for STALE_AFTER_MS it is taken over", () => {
    const ckpt = join(scratch, 'remote.lstm.safetensors');
    const path = lockPathFor(ckpt);
    writeFileSync(path, JSON.stringify(otherHost(Date.now())));
    const refused = acquireModelLock(ckpt);
    assert.ok(!refused.ok);
    assert.equal(refused.owner?.host, `${hostname()}-elsewhere`);
    assert.ok(lockedElsewhere(ckpt));
    const old = new Date(Date.now() - STALE_AFTER_MS - 5000);
    utimesSync(path, old, old);
    const taken = acquireModelLock(ckpt);
    assert.ok(taken.ok);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    taken.lock.release();
  });

  it('the owner refreshes its heartbeat, notices when its lock was taken over or deleted, and never removes a lock not its own', () => {
    const ckpt = join(scratch, 'owner.lstm.safetensors');
    const path = lockPathFor(ckpt);
    const got = acquireModelLock(ckpt);
    assert.ok(got.ok);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    assert.equal(got.lock.refresh(), true);
    assert.ok(Date.now() - statSync(path).mtimeMs < 30_000, 'refreshed');
    // Another window took it over (as after a long suspend): the owner no longer holds it, and its
    // release leaves the other's lock in place.
    writeFileSync(path, JSON.stringify(otherHost(Date.now())));
    assert.equal(got.lock.held(), false);
    assert.equal(got.lock.refresh(), false);
    got.lock.release();
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).nonce, 'feedfacefeedface');
    rmSync(path);
  });

  it('an unreadable (half-written) fresh lock counts as held; an old one is stale', () => {
    const ckpt = join(scratch, 'garbled.lstm.safetensors');
    const path = lockPathFor(ckpt);
    writeFileSync(path, '{"pid": 12');
    assert.equal(acquireModelLock(ckpt).ok, false);
    const old = new Date(Date.now() - STALE_AFTER_MS - 5000);
    utimesSync(path, old, old);
    const taken = acquireModelLock(ckpt);
    assert.ok(taken.ok);
    taken.lock.release();
    assert.equal(existsSync(path), false);
  });
});
