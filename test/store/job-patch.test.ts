import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from '../../src/core/job.ts';
import { patchFiles } from '../../src/store/job-patch.ts';
import { MemoryJobStore } from '../../src/store/memory-job-store.ts';
import { caller, createJob, file, jobId, T0 } from './store-fixtures.ts';

/** A job of `count` files as the memory store holds it (every file present). */
function bigJob(count: number): Job {
  const store = new MemoryJobStore();
  createJob(store, 1);
  const job = store.addFiles(jobId(1), [file(1)], caller('alice', T0 + 1));
  const one = job.files[0];
  assert.ok(one);
  return { ...job, files: Array.from({ length: count }, (_, index) => ({ ...one, index })) };
}

// Complete records every file of a job in one updateFiles; a walk of the file list per change made
// that O(files²): 8,000 files took 1.2 s, 40,000 would take ~30 s. Once, it is a few tens of ms.
test('patchFiles of every file of a 40,000-file job copies the list once, not once per change', {
  timeout: 20_000,
}, () => {
  const job = bigJob(40_000);
  const changes = job.files.map((f) => ({ index: f.index, patch: { bytesTotal: 10, completed: true } }));
  const next = patchFiles(job, changes, T0 + 2);
  assert.equal(next.files.length, 40_000);
  assert.ok(next.files.every((f, i) => f.index === i && f.bytesTotal === 10 && f.completed));
  assert.ok(
    job.files.every((f) => f.bytesTotal === -1 && !f.completed),
    'the job given is not changed',
  );
});

test('patchFiles on a job read with only the changed files (the SQLite store) keeps the others absent', () => {
  const job = bigJob(1);
  const sparse: Job = { ...job, files: [] };
  (sparse.files as Job['files'][number][])[39_999] = { ...(job.files[0] as Job['files'][number]), index: 39_999 };
  const next = patchFiles(sparse, [{ index: 39_999, patch: { bytesTransferred: 0, bytesTotal: 7 } }], T0 + 2);
  assert.equal(next.files[39_999]?.bytesTotal, 7);
  assert.equal(Object.keys(next.files).length, 1);
});
