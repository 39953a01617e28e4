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
