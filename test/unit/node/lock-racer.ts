// A process that tries to take a model's lock (src/node/modelLock.ts), for lock.test.ts: it
// waits until the given moment (so that several racers try at once), tries, and prints one JSON
// line. A winner holds the lock until its stdin closes, then releases it, or, with "die", exits
// without releasing (as a crashed extension host would).

import { acquireModelLock } from '../../../src/node/modelLock';

const [checkpointPath, startAtText, then] = process.argv.slice(2);
const startAt = Number(startAtText);
while (Date.now() < startAt) {
  // spin: the racers start their attempts within a millisecond of one another
}
const result = acquireModelLock(checkpointPath);
process.stdout.write(`${JSON.stringify(result.ok ? { ok: true, pid: process.pid } : { ok: false, pid: process.pid, owner: result.owner })}\n`);
if (result.ok) {
  if (then === 'die') process.exit(0);
  process.stdin.resume();
  process.stdin.on('end', () => {
    result.lock.release();
    process.exit(0);
  });
} else process.exit(0);
