import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FileSyncRounds } from '../../src/service/file-sync-rounds.ts';
import type { FileChange } from '../../src/store/job-store.ts';
import { TestClock } from '../helpers/test-clock.ts';

/** A sync the test settles by hand. */
function manualSync(): { sync: () => Promise<void>; done: () => void; fail: (err: Error) => void; started: boolean } {
  const p = Promise.withResolvers<void>();
  const s = {
    started: false,
    sync: () => {
      s.started = true;
      return p.promise;
    },
    done: () => p.resolve(),
    fail: (err: Error) => p.reject(err),
  };
  return s;
}

const transferred = (index: number) => (): FileChange => ({ index, patch: { transferred: true } });
const flush = () => new Promise((r) => setImmediate(r));

function rounds(clock = new TestClock()) {
  const records: number[][] = [];
  const failures: number[] = [];
  const r = new FileSyncRounds(
    clock,
    (changes) => records.push(changes.map((c) => c.index)),
    (fileIndex) => failures.push(fileIndex),
  );
  return { r, records, failures, clock };
}

it('finished files wait 25 ms (or until 16 wait) for a round: one sync each, then one record for all, in order', async () => {
  const { r, records, clock } = rounds();
  const syncs = Array.from({ length: 20 }, () => manualSync());
  for (const [i, s] of syncs.slice(0, 3).entries()) await r.add(i, s.sync, transferred(i));
  assert.ok(!syncs[0]?.started, 'no round before 25 ms or 16 files');
  clock.advance(24);
  assert.ok(!syncs[0]?.started);
  clock.advance(1);
  assert.ok(
    syncs.slice(0, 3).every((s) => s.started),
    'the round starts 25 ms after the first file finished',
  );
  // While it runs, 16 more gather: due at once when it ends.
  for (const [i, s] of syncs.slice(3, 19).entries()) await r.add(i + 3, s.sync, transferred(i + 3));
  assert.ok(!syncs[3]?.started, 'one round at a time');
  for (const s of syncs.slice(0, 3)) s.done();
  await flush();
  assert.deepEqual(records, [[0, 1, 2]]);
  assert.ok(
    syncs.slice(3, 19).every((s) => s.started),
    '16 waiting files start the next round without the timer',
  );
  for (const s of syncs.slice(3, 19)) s.done();
  await flush();
  assert.equal(records.length, 2);
  assert.deepEqual(
    records[1],
    Array.from({ length: 16 }, (_, i) => i + 3),
  );
});

it('nothing of a round is recorded before its last sync; a failed sync is left out; settle() does not wait for the timer', async () => {
  const { r, records, failures } = rounds();
  const [s0, s1, s2] = [manualSync(), manualSync(), manualSync()];
  await r.add(0, s0.sync, transferred(0));
  await r.add(1, s1.sync, transferred(1));
  await r.add(2, s2.sync, transferred(2));
  const settled = r.settle();
  assert.ok(s0.started && s1.started && s2.started, 'settle() starts the round at once');
  s1.done();
  s2.fail(new Error('EIO'));
  await flush();
  assert.deepEqual(records, [], 'file 0 has not synced yet');
  s0.done();
  await settled;
  assert.deepEqual(records, [[0, 1]]);
  assert.deepEqual(failures, [2]);
});

it('a record that throws fails every file of its round; later rounds still run', async () => {
  const failures: number[] = [];
  let calls = 0;
  const r = new FileSyncRounds(
    new TestClock(),
    () => {
      calls++;
      if (calls === 1) throw new Error('COMMIT failed');
    },
    (fileIndex) => failures.push(fileIndex),
  );
  await r.add(0, async () => undefined, transferred(0));
  await r.settle();
  await r.add(1, async () => undefined, transferred(1));
  await r.settle();
  assert.deepEqual(failures, [0]);
  assert.equal(calls, 2);
});
