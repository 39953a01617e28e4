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

/** Run `fn` on a fresh data file in a temp folder, removed afterwards. */
async function withDataFile(fn: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = await tempDir('openbits-pipelined-');
  const fh = await open(join(dir.path, 'data'), 'w+');
  try {
    await fn(fh);
  } finally {
    await fh.close();
    await dir.remove();
  }
}

/** Holds the handle's writes until `release()`; `sizes` lists each writev's chunk count. */
function stallWrites(fh: FileHandle): { release: () => void; sizes: number[] } {
  const realWritev = fh.writev.bind(fh);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const sizes: number[] = [];
  fh.writev = (async (buffers: Buffer[], position: number) => {
    sizes.push(buffers.length);
    await gate;
    return realWritev(buffers, position);
  }) as FileHandle['writev'];
  return { release: () => release(), sizes };
}

/** A body of `total` chunks of `bytes`, counting the reads made. */
function countedBody(total: number, bytes: number): { reader: BodyReader; reads: () => number } {
  let reads = 0;
  const reader = {
    async read() {
      if (reads === total) return null;
      reads += 1;
      return Buffer.alloc(bytes, reads % 256);
    },
  } as unknown as BodyReader;
  return { reader, reads: () => reads };
}

/** Let the writer run until `reads()` reaches `n` (or a bounded number of turns), then a little more. */
async function settleAt(reads: () => number, n: number): Promise<void> {
  for (let i = 0; i < 2000 && reads() < n; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

test('writeBodyDurably: a failed background fdatasync fails the fragment, though the last sync succeeds', () =>
  withDataFile(async (fh) => {
    const syncs = countSyncs(fh, 1);
    // 16 MiB: background syncs start every 4 MiB written, the first one fails.
    await assert.rejects(writeBodyDurably(fh, 0, 0, body(64)), { code: 'EIO' });
    assert.ok(syncs() >= 1);
  }));

test('writeBodyDurably: without a failure every byte is written at its offset and synced last', () =>
  withDataFile(async (fh) => {
    const syncs = countSyncs(fh);
    await writeBodyDurably(fh, 1024, 512, body(40));
    const { size } = await fh.stat();
    assert.equal(size, 1024 + 40 * 256 * 1024 - 512);
    assert.ok(syncs() >= 2, `${syncs()} syncs: background ones and the final one`);
  }));

test('writeBodyDurably: the socket is read while a write is on the disk, up to 16 MiB unwritten, then reading waits', () =>
  withDataFile(async (fh) => {
    const disk = stallWrites(fh);
    const total = 160; // 40 MiB in 256 KiB chunks
    const { reader, reads } = countedBody(total, 256 * 1024);
    const done = writeBodyDurably(fh, 0, 0, reader);
    // The first write (4 MiB) hangs on the disk; reading goes on until 12 MiB more are queued.
    await settleAt(reads, 64);
    assert.equal(disk.sizes.length, 1, 'one write at a time');
    assert.equal(reads(), 16 + 48, '4 MiB on the disk + 12 MiB queued = 16 MiB, then the reader waits');
    disk.release();
    await done;
    assert.equal((await fh.stat()).size, total * 256 * 1024);
    const back = await fh.read(Buffer.alloc(256 * 1024), 0, 256 * 1024, 79 * 256 * 1024);
    assert.equal(back.buffer[0], 80, 'chunks land at their offsets, in order');
    assert.ok(disk.sizes.length < total / 4, `${disk.sizes.length} writes: queued chunks go out together`);
  }));

test("writeBodyDurably: a trickling sender's tiny chunks are written in batches of 256 and never queue by the thousand", () =>
  withDataFile(async (fh) => {
    const disk = stallWrites(fh);
    const total = 5000; // 5000 chunks of 10 bytes: far below the 4 MiB batch
    const { reader, reads } = countedBody(total, 10);
    const done = writeBodyDurably(fh, 0, 0, reader);
    await settleAt(reads, 256 + 1024);
    assert.deepEqual(disk.sizes, [256], 'a write starts at 256 chunks');
    assert.equal(reads(), 256 + 1024, 'then 1024 more queue and the reader waits for the disk');
    disk.release();
    await done;
    assert.equal((await fh.stat()).size, total * 10);
    assert.ok(
      disk.sizes.every((n) => n <= 256),
      `writev sizes ${disk.sizes.join(', ')}`,
    );
  }));

test('writeBodyDurably: on a slow disk, bytes read but not yet written never exceed 16 MiB (64 KiB chunks)', () =>
  withDataFile(async (fh) => {
    const cap = 16 * 1024 * 1024;
    const chunk = 64 * 1024;
    const total = 1024; // 64 MiB
    let read = 0;
    let written = 0;
    let most = 0;
    let overlapped = false;
    let onDisk = false;
    const realWritev = fh.writev.bind(fh);
    fh.writev = (async (buffers: Buffer[], position: number) => {
      onDisk = true;
      // A slow disk: each write takes a few hundred turns of the event loop.
      for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r));
      const result = await realWritev(buffers, position);
      written += result.bytesWritten;
      onDisk = false;
      return result;
    }) as FileHandle['writev'];
    let n = 0;
    const reader = {
      async read() {
        if (n === total) return null;
        n += 1;
        read += chunk;
        if (onDisk) overlapped = true;
        most = Math.max(most, read - written);
        return Buffer.alloc(chunk, n % 256);
      },
    } as unknown as BodyReader;
    await writeBodyDurably(fh, 0, 0, reader);
    assert.equal((await fh.stat()).size, total * chunk);
    assert.ok(overlapped, 'the socket is read while a write is on the disk');
    assert.ok(most <= cap, `${most} bytes read but unwritten (cap ${cap})`);
    assert.ok(most > cap / 2, `${most}: the reader runs ahead of the disk up to near the cap`);
  }));
