import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { JobStore } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot, T0 } from './store-fixtures.ts';

/** Segmented downloads and mirrors: MaxConnections, the per-part durable layout, a file's mirrors. */
export function jobStoreSegmentContract(factory: StoreFactory): void {
  describe('segmented downloads', () => {
    let handle: StoreHandle;
    let store: JobStore;
    beforeEach(() => {
      handle = factory({});
      store = handle.store;
    });
    afterEach(() => handle.cleanup());

    test('setMaxConnections: 1 by default, 1–16, download jobs only', () => {
      createJob(store, 1);
      const id = jobId(1);
      assert.equal(store.getJob(id)?.maxConnections, 1);
      store.updateJob(id, 'setMaxConnections', { maxConnections: 16 }, T0 + 1);
      assert.equal(store.getJob(id)?.maxConnections, 16);
      const before = snapshot(store, [id]);
      for (const bad of [0, 17, 2.5, '4', null]) {
        assertBitsError(
          () => store.updateJob(id, 'setMaxConnections', { maxConnections: bad as number }, T0 + 2),
          'E_INVALIDARG',
        );
      }
      assert.deepEqual(snapshot(store, [id]), before, 'a refused value changes nothing');
      createJob(store, 2, 'alice', 'UPLOAD');
      assertBitsError(
        () => store.updateJob(jobId(2), 'setMaxConnections', { maxConnections: 4 }, T0 + 3),
        'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY',
      );
    });

    test('a segmented checkpoint records the layout with the byte sum; a plain one keeps it; a restart clears it', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller('alice', T0 + 1));
      store.updateFile(id, 0, { bytesTotal: 300 }, T0 + 2);
      const layout = [
        { start: 0, end: 100, done: 100 },
        { start: 100, end: 200, done: 150 },
        { start: 200, end: 300, done: 210 },
      ];
      store.saveCheckpoint(id, 0, 160, T0 + 3, layout);
      let f = store.getJob(id)?.files[0];
      assert.deepEqual(f?.segments, layout);
      assert.equal(f?.bytesTransferred, 160);
      store.saveCheckpoint(id, 0, 170, T0 + 4);
      f = store.getJob(id)?.files[0];
      assert.deepEqual(f?.segments, layout, 'a checkpoint without a layout leaves it');
      assert.equal(f?.bytesTransferred, 170);
      store.updateFile(id, 0, { bytesTransferred: 0, segments: null }, T0 + 5);
      assert.equal(store.getJob(id)?.files[0]?.segments, null);
    });

    test('a layout that overlaps, leaves its part or disagrees with the byte count is refused', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller('alice', T0 + 1));
      store.updateFile(id, 0, { bytesTotal: 300 }, T0 + 2);
      const before = snapshot(store, [id]);
      const bad: Array<[number, unknown]> = [
        [0, []],
        [
          20,
          [
            { start: 0, end: 150, done: 10 },
            { start: 100, end: 300, done: 110 },
          ],
        ],
        [60, [{ start: 0, end: 50, done: 60 }]],
        [5, [{ start: 0, end: 300, done: 10 }]],
        [1, [{ start: 0, end: 300, done: 0.5 }]],
      ];
      for (const [bytes, layout] of bad) {
        assertBitsError(() => store.saveCheckpoint(id, 0, bytes, T0 + 3, layout as never), 'E_INVALIDARG');
      }
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('mirrors: added with the file or replaced later, http(s) only, at most 16, no duplicates, download jobs only', () => {
      createJob(store, 1);
      const id = jobId(1);
      const mirrors = ['https://mirror.example.net/f1.bin', 'http://m2.example.org/pub/f1.bin'];
      const job = store.addFiles(id, [file(1, { mirrors }), file(2)], caller('alice', T0 + 1));
      assert.deepEqual(job.files[0]?.mirrors, mirrors);
      assert.deepEqual(job.files[1]?.mirrors, []);
      assert.deepEqual(store.getJob(id)?.files[0]?.mirrors, mirrors);
      store.updateFile(id, 1, { mirrors: ['https://other.example/f2.bin'] }, T0 + 2);
      assert.deepEqual(store.getJob(id)?.files[1]?.mirrors, ['https://other.example/f2.bin']);
      const before = snapshot(store, [id]);
      const bad: unknown[] = [
        ['file:///etc/passwd'],
        ['https://a.example/x', 'https://a.example/x'],
        Array.from({ length: 17 }, (_, i) => `https://m${i}.example/x`),
        ['not a url'],
        'https://a.example/x',
      ];
      for (const list of bad) {
        assertBitsError(() => store.updateFile(id, 0, { mirrors: list as string[] }, T0 + 3), 'E_INVALIDARG');
        assertBitsError(
          () => store.addFiles(id, [file(9, { mirrors: list as string[] })], caller('alice', T0 + 3)),
          'E_INVALIDARG',
        );
      }
      assert.deepEqual(snapshot(store, [id]), before, 'a refused list changes nothing');
      createJob(store, 2, 'alice', 'UPLOAD');
      assertBitsError(
        () => store.addFiles(jobId(2), [file(3, { mirrors: ['https://m.example/x'] })], caller('alice', T0 + 4)),
        'E_NOTIMPL',
      );
    });

    test('digests and piece digests: one per algorithm, hex of the right length, lower-cased; bad ones refused', () => {
      createJob(store, 1);
      const id = jobId(1);
      const digests = [
        { algorithm: 'sha-256', value: 'A'.repeat(64) },
        { algorithm: 'md5', value: 'b'.repeat(32) },
      ] as const;
      const pieces = { algorithm: 'sha-1', length: 262144, hashes: ['c'.repeat(40), 'D'.repeat(40)] } as const;
      const job = store.addFiles(id, [file(1, { digests, pieces })], caller('alice', T0 + 1));
      assert.deepEqual(job.files[0]?.digests, [
        { algorithm: 'sha-256', value: 'a'.repeat(64) },
        { algorithm: 'md5', value: 'b'.repeat(32) },
      ]);
      assert.deepEqual(store.getJob(id)?.files[0]?.pieces, {
        algorithm: 'sha-1',
        length: 262144,
        hashes: ['c'.repeat(40), 'd'.repeat(40)],
      });
      const before = snapshot(store, [id]);
      const badDigests: unknown[] = [
        [{ algorithm: 'sha-256', value: 'a'.repeat(63) }],
        [{ algorithm: 'crc32', value: 'abcd1234' }],
        [
          { algorithm: 'md5', value: 'a'.repeat(32) },
          { algorithm: 'md5', value: 'b'.repeat(32) },
        ],
        [{ algorithm: 'sha-1', value: 'z'.repeat(40) }],
        'sha-256=abc',
      ];
      for (const d of badDigests) {
        assertBitsError(() => store.updateFile(id, 0, { digests: d as never }, T0 + 2), 'E_INVALIDARG');
      }
      const badPieces: unknown[] = [
        { algorithm: 'sha-1', length: 100, hashes: ['c'.repeat(40)] },
        { algorithm: 'sha-1', length: 262144, hashes: [] },
        { algorithm: 'sha-1', length: 262144, hashes: ['c'.repeat(64)] },
      ];
      for (const p of badPieces) {
        assertBitsError(() => store.updateFile(id, 0, { pieces: p as never }, T0 + 2), 'E_INVALIDARG');
      }
      assert.deepEqual(snapshot(store, [id]), before);
    });
  });
}
