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

test('writeBodyDurably: the socket is read while a write is on the disk, up to 16 MiB queued, then reading waits', async () => {
  const dir = await tempDir('openbits-pipelined-');
  const fh = await open(join(dir.path, 'data'), 'w+');
  try {
    const realWritev = fh.writev.bind(fh);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let writes = 0;
    fh.writev = (async (buffers: Buffer[], position: number) => {
      writes += 1;
      await gate;
      return realWritev(buffers, position);
    }) as FileHandle['writev'];
    let reads = 0;
    const total = 160; // 40 MiB in 256 KiB chunks
    const reader = {
      async read() {
        if (reads === total) return null;
        reads += 1;
        return Buffer.alloc(256 * 1024, reads);
      },
    } as unknown as BodyReader;
    const done = writeBodyDurably(fh, 0, 0, reader);
    // The first write (4 MiB) hangs on the disk; reading goes on until 16 MiB more are queued.
    for (let i = 0; i < 200 && reads < 80; i++) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(writes, 1, 'one write at a time');
    assert.equal(reads, 16 + 64, '4 MiB on the disk + 16 MiB queued, then the reader waits');
    release();
    await done;
    assert.equal((await fh.stat()).size, total * 256 * 1024);
    const back = await fh.read(Buffer.alloc(256 * 1024), 0, 256 * 1024, 79 * 256 * 1024);
    assert.equal(back.buffer[0], 80, 'chunks land at their offsets, in order');
    assert.ok(writes < total / 4, `${writes} writes: queued chunks go out together`);
  } finally {
    await fh.close();
    await dir.remove();
  }
});
