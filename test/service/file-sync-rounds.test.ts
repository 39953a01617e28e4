import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FileSyncRounds } from '../../src/service/file-sync-rounds.ts';
import type { FileChange } from '../../src/store/job-store.ts';

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

it('files that finish while a round syncs are synced together next and recorded in one commit, in order, each after its own sync', async () => {
  const records: number[][] = [];
  const failures: number[] = [];
  const rounds = new FileSyncRounds(
    (changes) => records.push(changes.map((c) => c.index)),
    (fileIndex) => failures.push(fileIndex),
  );
  const [s0, s1, s2, s3] = [manualSync(), manualSync(), manualSync(), manualSync()];
  await rounds.add(0, s0.sync, transferred(0));
  await rounds.add(1, s1.sync, transferred(1));
  await rounds.add(2, s2.sync, transferred(2));
  await rounds.add(3, s3.sync, transferred(3));
  assert.ok(s0.started && !s1.started, 'the next round starts when the running one ends');
  s0.done();
  await flush();
  assert.deepEqual(records, [[0]]);
  assert.ok(s1.started && s2.started && s3.started);
  s2.done();
  s3.fail(new Error('EIO'));
  await flush();
  assert.deepEqual(records, [[0]], 'nothing of the round is recorded before file 1 synced');
  s1.done();
  await rounds.settle();
  assert.deepEqual(records, [[0], [1, 2]], 'one record for the round; the failed file is not in it');
  assert.deepEqual(failures, [3]);
});

it('a record that throws fails every file of its round; later rounds still run', async () => {
  const failures: number[] = [];
  let calls = 0;
  const rounds = new FileSyncRounds(
    () => {
      calls++;
      if (calls === 1) throw new Error('COMMIT failed');
    },
    (fileIndex) => failures.push(fileIndex),
  );
  await rounds.add(0, async () => undefined, transferred(0));
  await rounds.settle();
  await rounds.add(1, async () => undefined, transferred(1));
  await rounds.settle();
  assert.deepEqual(failures, [0]);
  assert.equal(calls, 2);
});
