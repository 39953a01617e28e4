import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { JobStore } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot, T0 } from './store-fixtures.ts';

/** Files: AddFileSet atomicity, upload rules, ranges, per-file updates and checkpoints. */
export function jobStoreFileContract(factory: StoreFactory): void {
  describe('files', () => {
    let handle: StoreHandle;
    let store: JobStore;
    beforeEach(() => {
      handle = factory({});
      store = handle.store;
    });
    afterEach(() => handle.cleanup());

    test('files are added in order with their indexes and read back as written', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2)], caller('alice', T0 + 5));
      const ranges = [
        { offset: 900, length: 100 },
        { offset: 100, length: 100 },
        { offset: 2000, length: -1 },
      ];
      const job = store.addFiles(id, [file(3, { ranges })], caller('alice', T0 + 6));
      assert.deepEqual(
        job.files.map((f) => [f.index, f.remoteName, f.localName]),
        [1, 2, 3].map((n, i) => [i, `https://example.org/f${n}.bin`, `/srv/data/f${n}.bin`]),
      );
      assert.deepEqual(job.files[2]?.ranges, ranges, 'ranges keep the order given');
      assert.deepEqual(job.files[0], {
        index: 0,
        remoteName: 'https://example.org/f1.bin',
        localName: '/srv/data/f1.bin',
        ranges: null,
        bytesTotal: -1,
        bytesTransferred: 0,
        transferred: false,
        completed: false,
        temporaryName: null,
        temporaryFileId: null,
        readyMode: null,
        validators: null,
        segments: null,
        mirrors: [],
        digests: [],
        pieces: null,
      });
      assert.equal(job.times.modificationTime, T0 + 6);
      assert.deepEqual(store.getJob(id), job);
    });

    test('AddFileSet is all or nothing: one bad file adds none', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller());
      const before = snapshot(store, [id]);
      const bad = [
        { remoteName: 'https://example.org/ok', localName: 'relative/path' },
        { remoteName: 'ftp://example.org/x', localName: '/srv/x' },
        { remoteName: `https://example.org/${'a'.repeat(2200)}`, localName: '/srv/x' },
        { remoteName: 'https://example.org/x', localName: '/srv/../etc/passwd' },
      ];
      for (const b of bad) {
        assertBitsError(() => store.addFiles(id, [file(2), b, file(3)], caller('alice', T0 + 50)), 'E_INVALIDARG');
      }
      assertBitsError(() => store.addFiles(id, [], caller()), 'E_INVALIDARG');
      assertBitsError(
        () =>
          store.addFiles(
            id,
            [
              file(2),
              file(3, {
                ranges: [
                  { offset: 0, length: 10 },
                  { offset: 5, length: 10 },
                ],
              }),
            ],
            caller(),
          ),
        'BG_E_OVERLAPPING_RANGES',
      );
      assertBitsError(
        () => store.addFiles(id, [file(2, { ranges: [{ offset: -1, length: 10 }] })], caller()),
        'BG_E_INVALID_RANGE',
      );
      assertBitsError(() => store.addFiles(id, [file(2, { ranges: [] })], caller()), 'E_INVALIDARG');
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('upload jobs take exactly one file and no ranges (BG_E_TOO_MANY_FILES, E_NOTIMPL)', () => {
      createJob(store, 1, 'alice', 'UPLOAD');
      createJob(store, 2, 'alice', 'UPLOAD_REPLY');
      const [up, reply] = [jobId(1), jobId(2)];
      assertBitsError(() => store.addFiles(up, [file(1), file(2)], caller()), 'BG_E_TOO_MANY_FILES');
      assertBitsError(
        () => store.addFiles(up, [file(1, { ranges: [{ offset: 0, length: 1 }] })], caller()),
        'E_NOTIMPL',
      );
      assert.equal(store.getJob(up)?.files.length, 0);
      store.addFiles(up, [file(1)], caller());
      const before = snapshot(store, [up]);
      assertBitsError(() => store.addFiles(up, [file(2)], caller()), 'BG_E_TOO_MANY_FILES');
      assert.deepEqual(snapshot(store, [up]), before);
      assertBitsError(
        () => store.addFiles(reply, [{ remoteName: 'file:///srv/x', localName: '/srv/x' }], caller()),
        'E_INVALIDARG',
      );
      store.addFiles(reply, [file(3)], caller());
      assert.equal(store.getJob(reply)?.files.length, 1);
    });

    test('no files can be added to a final job', () => {
      createJob(store, 1);
      store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: T0 });
      assertBitsError(() => store.addFiles(jobId(1), [file(1)], caller()), 'BG_E_INVALID_STATE');
      assert.equal(store.getJob(jobId(1))?.files.length, 0);
    });

    test('updateFile applies the engine’s metadata; bad patches change nothing', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2)], caller());
      const validators = { size: 4096, lastModified: 'Sat, 21 Nov 2026 07:00:00 GMT', etag: '"abc"' };
      store.updateFile(id, 1, { bytesTotal: 4096, temporaryName: '/srv/data/.f2.bin.bits', validators }, T0 + 3);
      const job = store.getJob(id);
      assert.ok(job);
      assert.deepEqual(job.files[1], {
        ...job.files[1],
        bytesTotal: 4096,
        temporaryName: '/srv/data/.f2.bin.bits',
        validators,
      });
      assert.equal(job.times.modificationTime, T0 + 3);
      assert.equal(job.files.length, 2);
      const before = snapshot(store, [id]);
      assertBitsError(() => store.updateFile(id, 1, { bytesTransferred: 4097 }, T0 + 4), 'E_INVALIDARG');
      assertBitsError(() => store.updateFile(id, 2, { bytesTotal: 1 }, T0 + 4), 'E_INVALIDARG');
      assertBitsError(() => store.updateFile(id, 0, { temporaryName: 'tmp' }, T0 + 4), 'E_INVALIDARG');
      assertBitsError(() => store.updateFile(id, 0, { remoteName: 'gopher://x' }, T0 + 4), 'E_INVALIDARG');
      assertBitsError(() => store.updateFile(id, 0, { bogus: 1 } as never, T0 + 4), 'E_INVALIDARG');
      assert.deepEqual(snapshot(store, [id]), before);
      store.updateFile(id, 0, { bytesTotal: 10, bytesTransferred: 10, transferred: true, completed: true }, T0 + 5);
      assert.equal(store.getJob(id)?.files[0]?.completed, true);
    });

    test('updateFiles changes several files in one verb, all or none', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2), file(3)], caller());
      const done = { bytesTotal: 10, bytesTransferred: 10, transferred: true };
      const before = snapshot(store, [id]);
      assertBitsError(
        () =>
          store.updateFiles(
            id,
            [
              { index: 0, patch: done },
              { index: 2, patch: { temporaryName: 'relative.tmp' } },
            ],
            T0 + 4,
          ),
        'E_INVALIDARG',
      );
      assert.deepEqual(snapshot(store, [id]), before, 'the valid first change was undone with the bad second');
      store.updateFiles(
        id,
        [0, 2].map((index) => ({ index, patch: { ...done, completed: true } })),
        T0 + 5,
      );
      const job = store.getJob(id);
      assert.deepEqual(
        job?.files.map((f) => f.completed),
        [true, false, true],
      );
      assert.equal(job?.times.modificationTime, T0 + 5);
    });

    test('updateFiles moves a remote name’s userinfo into the job’s credentials, as updateFile does', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2), file(3)], caller());
      store.updateFiles(
        id,
        [
          { index: 2, patch: { remoteName: 'https://bob:p%40ss@example.org/moved.bin' } },
          { index: 0, patch: { bytesTotal: 10 } },
        ],
        T0 + 6,
      );
      const job = store.getJob(id);
      assert.deepEqual(
        job?.files.map((f) => [f.remoteName, f.bytesTotal]),
        [
          ['https://example.org/f1.bin', 10],
          ['https://example.org/f2.bin', -1],
          ['https://example.org/moved.bin', -1],
        ],
      );
      assert.deepEqual(job?.credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'bob', password: 'p@ss' }]);
      assert.equal(job?.times.modificationTime, T0 + 6);
    });

    test('updateFiles applies a file’s changes in order: a second change is judged on the first', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2)], caller());
      const twice = (transferred: number) => [
        { index: 1, patch: { bytesTotal: 10 } },
        { index: 1, patch: { bytesTransferred: transferred } },
      ];
      assertBitsError(() => store.updateFiles(id, twice(11), T0 + 7), 'E_INVALIDARG');
      store.updateFiles(id, twice(10), T0 + 7);
      assert.deepEqual(
        store.getJob(id)?.files.map((f) => [f.bytesTotal, f.bytesTransferred]),
        [
          [-1, 0],
          [10, 10],
        ],
      );
    });

    test('saveCheckpoint records the durable offset; refused past the size and on final jobs', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller());
      store.updateFile(id, 0, { bytesTotal: 1 << 20 }, T0 + 1);
      store.saveCheckpoint(id, 0, 65_536, T0 + 2);
      assert.equal(store.getJob(id)?.files[0]?.bytesTransferred, 65_536);
      assert.equal(store.getJob(id)?.times.modificationTime, T0 + 2);
      assertBitsError(() => store.saveCheckpoint(id, 0, (1 << 20) + 1, T0 + 3), 'E_INVALIDARG');
      assertBitsError(() => store.saveCheckpoint(id, 1, 1, T0 + 3), 'E_INVALIDARG');
      assertBitsError(() => store.saveCheckpoint(id, 0, -5, T0 + 3), 'E_INVALIDARG');
      store.applyTransition(id, { expected: 'SUSPENDED', event: 'cancel', now: T0 + 4 });
      assertBitsError(() => store.saveCheckpoint(id, 0, 70_000, T0 + 5), 'BG_E_INVALID_STATE');
      assertBitsError(() => store.updateFile(id, 0, { bytesTransferred: 70_000 }, T0 + 5), 'BG_E_INVALID_STATE');
      assert.equal(store.getJob(id)?.files[0]?.bytesTransferred, 65_536);
      assert.equal(store.getJob(id)?.times.modificationTime, T0 + 4);
    });

    test('saveWritten keeps bytes past the durable offset until the file is written again; never a durable claim', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2)], caller());
      store.updateFile(id, 0, { bytesTotal: 1 << 20 }, T0 + 1);
      store.saveCheckpoint(id, 0, 65_536, T0 + 2);
      const boot = '0b6a3b52-9d4c-4a43-8c41-5f1b1a7c2d10';
      store.saveWritten(id, 0, { bytes: 300_000, boot });
      assert.deepEqual([...store.getWritten(id)], [[0, { bytes: 300_000, boot }]]);
      // Not a durable offset: the file's record, its times and the job's read are unchanged.
      assert.equal(store.getJob(id)?.files[0]?.bytesTransferred, 65_536);
      assert.equal(store.getJob(id)?.times.modificationTime, T0 + 2);
      // Not past the durable offset, or not short of the size: none.
      store.saveWritten(id, 0, { bytes: 65_536, boot });
      assert.equal(store.getWritten(id).size, 0);
      store.saveWritten(id, 0, { bytes: 300_000, boot });
      store.saveWritten(id, 0, { bytes: 1 << 20, boot });
      assert.equal(store.getWritten(id).size, 0, 'the whole file is never kept');
      // null clears it, a checkpoint of the file clears it, and so does any other write of its record.
      store.saveWritten(id, 0, { bytes: 300_000, boot });
      store.saveWritten(id, 0, null);
      assert.equal(store.getWritten(id).size, 0);
      store.saveWritten(id, 0, { bytes: 400_000, boot });
      store.saveCheckpoint(id, 0, 131_072, T0 + 3);
      assert.equal(store.getWritten(id).size, 0);
      store.saveWritten(id, 0, { bytes: 400_000, boot });
      store.updateFile(id, 0, { bytesTransferred: 0 }, T0 + 4);
      assert.equal(store.getWritten(id).size, 0);
      // Bad values are refused; an unknown job or file is ignored.
      assertBitsError(() => store.saveWritten(id, 0, { bytes: -1, boot }), 'E_INVALIDARG');
      assertBitsError(() => store.saveWritten(id, 0, { bytes: 1.5, boot }), 'E_INVALIDARG');
      assertBitsError(() => store.saveWritten(id, 0, { bytes: 10, boot: '' }), 'E_INVALIDARG');
      store.saveWritten(id, 7, { bytes: 10, boot });
      store.saveWritten(jobId(9), 0, { bytes: 10, boot });
      assert.equal(store.getWritten(id).size, 0);
      assert.equal(store.getWritten(jobId(9)).size, 0);
      // A file of unknown size keeps any count past its offset; a transferred file keeps none.
      store.saveWritten(id, 1, { bytes: 5_000_000, boot });
      assert.deepEqual([...store.getWritten(id)], [[1, { bytes: 5_000_000, boot }]]);
      store.updateFile(id, 1, { bytesTotal: 10, bytesTransferred: 10, transferred: true }, T0 + 5);
      assert.equal(store.getWritten(id).size, 0);
      store.saveWritten(id, 1, { bytes: 10, boot });
      assert.equal(store.getWritten(id).size, 0);
    });
  });
}
