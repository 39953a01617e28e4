import assert from 'node:assert/strict';
import { type FileHandle, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../src/scheduler/token-bucket.ts';
import { DownloadSink } from '../../src/transfer/download-sink.ts';
import {
  giveWriteBuffer,
  pooledWriteBuffers,
  SHARED_WRITE_BUFFER_BYTES,
  takeWriteBuffer,
  WRITE_BUFFER_BUDGET,
  WRITE_BUFFER_BYTES,
  writerDone,
  writerStarted,
} from '../../src/transfer/write-buffers.ts';
import { TestClock } from '../helpers/test-clock.ts';

const MiB = 1024 * 1024;

/** A sink's options: checkpoints far apart (none falls due in these tests), nothing reported. */
function sinkOptions(clock: TestClock, limiter: TokenBucket | null) {
  return {
    clock,
    checkpointBytes: 64 * MiB,
    checkpointMs: 60_000,
    limiter,
    signal: new AbortController().signal,
    onCheckpoint: () => undefined,
    onProgress: () => undefined,
  };
}

describe('write buffers', () => {
  test('concurrent transfers share WRITE_BUFFER_BUDGET: 1 MiB buffers for up to eight, 512 KiB up to sixteen, 256 KiB past that', () => {
    assert.equal(WRITE_BUFFER_BUDGET, 32 * MiB);
    const sizes = Array.from({ length: 20 }, () => writerStarted());
    assert.deepEqual(sizes, [...Array(8).fill(MiB), ...Array(8).fill(512 * 1024), ...Array(4).fill(256 * 1024)]);
    for (let i = 0; i < 20; i++) writerDone();
    assert.equal(writerStarted(), MiB, 'alone again: 1 MiB');
    writerDone();
  });

  test('a burst is recycled up to one sink worth of 1 MiB buffers and eight of 256 KiB; past that the memory is freed at once', () => {
    for (const [size, kept] of [
      [WRITE_BUFFER_BYTES, 4],
      [SHARED_WRITE_BUFFER_BYTES, 32],
    ] as const) {
      const burst = Array.from({ length: kept + 4 }, () => takeWriteBuffer(size));
      for (const b of burst) assert.equal(b.byteLength, size);
      const external = process.memoryUsage().arrayBuffers;
      for (const b of burst) giveWriteBuffer(b);
      assert.equal(pooledWriteBuffers(size), kept);
      // The 4 past the bound are detached now (empty), not left to a later full GC.
      assert.equal(burst.filter((b) => b.byteLength === 0).length, 4);
      assert.ok(external - process.memoryUsage().arrayBuffers >= 4 * size);
      // The next burst takes the kept ones back: no new allocation for them.
      const again = Array.from({ length: kept }, () => takeWriteBuffer(size));
      assert.equal(pooledWriteBuffers(size), 0);
      for (const b of again) assert.ok(burst.includes(b) && b.byteLength === size);
      for (const b of again) giveWriteBuffer(b);
    }
  });

  test('the ninth sink at once writes 512 KiB pieces, the seventh and eighth 1 MiB ones; the bytes are the same', async () => {
    // Six other transfers are writing: the three sinks below are the seventh, eighth and ninth.
    for (let i = 0; i < 6; i++) writerStarted();
    const dir = await mkdtemp(join(tmpdir(), 'openbits-wbuf-'));
    const sizes: number[][] = [[], [], []];
    const handles: FileHandle[] = [];
    try {
      const sinks = await Promise.all(
        sizes.map(async (seen, i) => {
          const fh = await open(join(dir, `f${i}`), 'w+');
          handles.push(fh);
          // The real file handle, its positional writes recorded.
          const recording = new Proxy(fh, {
            get(target, prop) {
              if (prop === 'write') {
                return (buf: Buffer, off: number, len: number, pos: number) => {
                  seen.push(len);
                  return target.write(buf, off, len, pos);
                };
              }
              const v = Reflect.get(target, prop);
              return typeof v === 'function' ? v.bind(target) : v;
            },
          });
          return new DownloadSink(recording, 0, sinkOptions(new TestClock(), null));
        }),
      );
      const chunk = Buffer.alloc(64 * 1024, 5);
      for (let k = 0; k < 32; k++) await Promise.all(sinks.map((s) => s.write(chunk)));
      for (const s of sinks) {
        await s.checkpoint();
        s.release();
      }
      assert.deepEqual(sizes, [Array(2).fill(MiB), Array(2).fill(MiB), Array(4).fill(512 * 1024)]);
      for (let i = 0; i < 3; i++) assert.deepEqual(await readFile(join(dir, `f${i}`)), Buffer.alloc(2 * MiB, 5));
    } finally {
      for (let i = 0; i < 6; i++) writerDone();
      for (const fh of handles) await fh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the sink and the rate limiter', () => {
  test('a limiter that grants at once (a background job with no limit) hands the reader no promise; one that waits does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openbits-limit-'));
    const fh = await open(join(dir, 'f'), 'w+');
    try {
      const clock = new TestClock();
      const bucket = new TokenBucket(clock, Number.POSITIVE_INFINITY);
      const sink = new DownloadSink(fh, 0, sinkOptions(clock, bucket));
      const chunk = Buffer.alloc(64 * 1024, 7);
      // A promise here pauses the socket and resumes it a tick later: for every chunk of a
      // NORMAL-priority download, ~0.5 s of bitsd's CPU per GiB before the limiter said null.
      assert.equal(sink.accept(chunk), null);
      bucket.setRate(64 * 1024); // a limit: every chunk waits for its grant, as before
      const wait = sink.accept(chunk);
      assert.ok(wait instanceof Promise, 'limited: the reader waits');
      clock.advance(2000);
      await wait;
      await sink.checkpoint();
      sink.release();
      assert.deepEqual(await readFile(join(dir, 'f')), Buffer.alloc(2 * 64 * 1024, 7));
    } finally {
      await fh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
