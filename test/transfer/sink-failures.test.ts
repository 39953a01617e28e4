import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DownloadSink } from '../../src/transfer/download-sink.ts';
import { TransferError } from '../../src/transfer/transfer-error.ts';
import { TestClock } from '../helpers/test-clock.ts';

const MiB = 1024 * 1024;

describe('a checkpoint failing beside the writes', () => {
  test('a disk filling under it stops the reader with a fatal LOCAL_FILE ERROR_DISK_FULL, not the raw error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openbits-sinkfail-'));
    const fh = await open(join(dir, 't'), 'w+');
    try {
      // The real file handle, except that its positional writes fail as a full disk does.
      const full = new Proxy(fh, {
        get(target, prop) {
          if (prop === 'write') {
            return () =>
              Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
          }
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const sink = new DownloadSink(full, 0, {
        clock: new TestClock(),
        checkpointBytes: MiB,
        checkpointMs: 60_000,
        limiter: null,
        signal: new AbortController().signal,
        onCheckpoint: () => undefined,
        onProgress: () => undefined,
      });
      const stopped = new Promise<unknown>((resolve) => sink.watch(resolve));
      // As the pump does: take the chunk at once (a full buffer is written, a checkpoint falls due
      // and runs beside), without waiting for what accept returns.
      void sink.accept(Buffer.alloc(MiB, 1))?.catch(() => undefined);
      const err = await stopped;
      assert.ok(err instanceof TransferError, `stopped with ${String(err)}`);
      assert.equal(err.failure.kind, 'fatal');
      assert.equal(err.failure.error.context, 'LOCAL_FILE');
      assert.equal(err.failure.error.name, 'ERROR_DISK_FULL');
      sink.release();
    } finally {
      await fh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('written, not synced (onWritten)', () => {
  test('reports how far every write completed, never past a failed one, and the checkpoint after the rollback', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openbits-sinkwritten-'));
    const fh = await open(join(dir, 't'), 'w+');
    try {
      const FAIL_AT = 7 * MiB;
      // Positional writes from FAIL_AT on fail as an I/O error does; the others reach the file.
      const failing = new Proxy(fh, {
        get(target, prop) {
          if (prop === 'write') {
            return (buf: Buffer, off: number, len: number, at: number) =>
              at >= FAIL_AT
                ? Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }))
                : target.write(buf, off, len, at);
          }
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const written: number[] = [];
      const checkpoints: number[] = [];
      const sink = new DownloadSink(failing, 0, {
        clock: new TestClock(),
        checkpointBytes: 4 * MiB,
        checkpointMs: 60_000,
        limiter: null,
        signal: new AbortController().signal,
        onCheckpoint: (n) => checkpoints.push(n),
        onProgress: () => undefined,
        onWritten: (n) => written.push(n),
      });
      let failed: unknown = null;
      for (let i = 0; i < 10 && failed === null; i++) {
        await sink.write(Buffer.alloc(MiB, i)).catch((err: unknown) => {
          failed = err;
        });
      }
      if (failed === null) await sink.checkpoint().catch((err: unknown) => (failed = err));
      assert.ok(failed instanceof TransferError, `the write failed: ${String(failed)}`);
      sink.release();
      const last = written.at(-1);
      const forward = written.slice(0, -1);
      assert.ok(forward.length >= 2, `reports as writes completed: ${written}`);
      for (let i = 1; i < forward.length; i++) assert.ok((forward[i] ?? 0) > (forward[i - 1] ?? 0), `${written}`);
      assert.ok(Math.max(...forward) <= FAIL_AT, `never past the failed write: ${written}`);
      // Rolled back: the last report is the last checkpoint, which is what the file holds now.
      assert.ok(Math.max(...forward) > Math.max(0, ...checkpoints), `written past the checkpoint first: ${written}`);
      assert.equal(last, Math.max(0, ...checkpoints), `${written} after checkpoints ${checkpoints}`);
      assert.equal((await fh.stat()).size, last);
    } finally {
      await fh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
