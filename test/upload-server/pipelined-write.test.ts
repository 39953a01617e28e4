// A fragment is acknowledged only when its bytes are durable. Linux reports a writeback error
// once per open file: when a background fdatasync of writeBodyDurably fails, the final one on the
// same handle succeeds, so the failure itself must fail the fragment. The EIO is injected at the
// handle's datasync (no device here can fail on demand); the writes go to a real file.
import assert from 'node:assert/strict';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BodyReader } from '../../src/upload-server/http/socket-input.ts';
import { writeBodyDurably } from '../../src/upload-server/pipelined-write.ts';
import { tempDir } from '../api/helpers.ts';

/** A body of `chunks` chunks of 256 KiB. */
function body(chunks: number): BodyReader {
  let left = chunks;
  return {
    async read() {
      if (left === 0) return null;
      left -= 1;
      return Buffer.alloc(256 * 1024, left);
    },
  } as unknown as BodyReader;
}

/** Counts the handle's datasync calls; the `failAt`-th one fails with EIO before syncing. */
function countSyncs(fh: FileHandle, failAt?: number): () => number {
  let syncs = 0;
  const realSync = fh.datasync.bind(fh);
  fh.datasync = async () => {
    syncs += 1;
    if (syncs === failAt) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    return realSync();
  };
  return () => syncs;
}

test('writeBodyDurably: a failed background fdatasync fails the fragment, though the last sync succeeds', async () => {
  const dir = await tempDir('openbits-pipelined-');
  const fh = await open(join(dir.path, 'data'), 'w+');
  try {
    const syncs = countSyncs(fh, 1);
    // 16 MiB: background syncs start every 4 MiB written, the first one fails.
    await assert.rejects(writeBodyDurably(fh, 0, 0, body(64)), { code: 'EIO' });
    assert.ok(syncs() >= 1);
  } finally {
    await fh.close();
    await dir.remove();
  }
});

test('writeBodyDurably: without a failure every byte is written at its offset and synced last', async () => {
  const dir = await tempDir('openbits-pipelined-');
  const fh = await open(join(dir.path, 'data'), 'w+');
  try {
    const syncs = countSyncs(fh);
    await writeBodyDurably(fh, 1024, 512, body(40));
    const { size } = await fh.stat();
    assert.equal(size, 1024 + 40 * 256 * 1024 - 512);
    assert.ok(syncs() >= 2, `${syncs()} syncs: background ones and the final one`);
  } finally {
    await fh.close();
    await dir.remove();
  }
});
