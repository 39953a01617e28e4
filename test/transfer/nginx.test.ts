import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock as realClock } from '../../src/core/clock.ts';
import { closeDispatchers, downloadFile, isAbortError } from '../../src/transfer/index.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type Nginx, startNginx } from '../helpers/nginx.ts';

// Against nginx (sendfile): resume across interruptions, ranges, 416 `bytes */N`.

const MiB = 1024 * 1024;
const BIG = randomBytes(64 * MiB);
const BIG_SHA = sha256(BIG);
let nginx: Nginx;
let dir: string;

before(async () => {
  nginx = await startNginx();
  await writeFile(join(nginx.root, 'big.bin'), BIG, { mode: 0o644 });
  dir = await mkdtemp(join(tmpdir(), 'openbits-nginx-dl-'));
});
after(async () => {
  await closeDispatchers();
  await nginx.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('nginx', () => {
  test('64 MiB interrupted three times (AbortSignal) and resumed: right sha256', async (t) => {
    const f = new RecordedFile(nginx.url('/big.bin'), join(dir, 'big.bin'));
    const stops = [16 * MiB, 32 * MiB, 48 * MiB];
    for (const stopAt of stops) {
      const ac = new AbortController();
      const req = f.request({ signal: ac.signal, clock: realClock, options: { checkpointBytes: 4 * MiB } });
      const hooks = req.hooks;
      const p = downloadFile({
        ...req,
        hooks: {
          ...hooks,
          onCheckpoint: (n) => {
            hooks.onCheckpoint(n);
            if (n >= stopAt) ac.abort();
          },
        },
      });
      await assert.rejects(p, (err) => isAbortError(err));
      assert.ok(f.bytesTransferred >= stopAt && f.bytesTransferred < BIG.length, `stopped at ${f.bytesTransferred}`);
    }
    await downloadFile(f.request({ clock: realClock, options: { checkpointBytes: 4 * MiB } }));
    assert.equal(f.bytesTotal, BIG.length);
    assert.match(f.validators?.etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/u);
    assert.equal(f.restarts, 0);
    assert.equal(await f.tempSha256(), BIG_SHA);
    t.diagnostic(`checkpoints: ${f.checkpoints.length}`);
  });

  test('64 MiB through a relay that resets the connection three times: transient, resumed, right sha256', async () => {
    const relay = await startCuttingProxy(nginx.port, [10 * MiB, 20 * MiB, 15 * MiB]);
    try {
      const f = new RecordedFile(relay.url('/big.bin'), join(dir, 'cut.bin'));
      const failures: string[] = [];
      for (let attempt = 0; attempt < 6 && f.bytesTransferred < BIG.length; attempt++) {
        try {
          await downloadFile(f.request({ clock: realClock, options: { checkpointBytes: 2 * MiB } }));
          break;
        } catch (err) {
          const e = await transferFailure(Promise.reject(err));
          assert.equal(e.failure.kind, 'transient');
          failures.push(e.failure.error.name);
        }
      }
      assert.equal(relay.cuts, 3);
      assert.equal(failures.length, 3, failures.join());
      assert.equal(f.restarts, 0);
      assert.equal(await f.tempSha256(), BIG_SHA);
    } finally {
      await relay.close();
    }
  });

  test('uninterrupted 64 MiB (throughput reported, not asserted)', async (t) => {
    const f = new RecordedFile(nginx.url('/big.bin'), join(dir, 'fast.bin'));
    const started = performance.now();
    await downloadFile(f.request({ clock: realClock, options: { checkpointBytes: 8 * MiB, checkpointMs: 2000 } }));
    const ms = performance.now() - started;
    t.diagnostic(`64 MiB in ${ms.toFixed(0)} ms = ${(((BIG.length / ms) * 1000) / 1e6).toFixed(0)} MB/s`);
    assert.equal(await f.tempSha256(), BIG_SHA);
  });

  test('ranged download: 100–199, 900–999, 400–499 back to back', async () => {
    const f = new RecordedFile(nginx.url('/big.bin'), join(dir, 'ranges.bin'));
    const ranges = [
      { offset: 100, length: 100 },
      { offset: 900, length: 100 },
      { offset: 400, length: 100 },
      { offset: BIG.length - 10, length: -1 },
    ];
    await downloadFile(f.request({ ranges, clock: realClock }));
    const expected = Buffer.concat([
      BIG.subarray(100, 200),
      BIG.subarray(900, 1000),
      BIG.subarray(400, 500),
      BIG.subarray(BIG.length - 10),
    ]);
    assert.equal(f.bytesTotal, 310);
    assert.equal(await f.tempSha256(), sha256(expected));
  });

  test('resume at the end: nginx answers 416 bytes */N, the file counts as complete', async () => {
    await writeFile(join(nginx.root, 'small.bin'), BIG.subarray(0, 5000), { mode: 0o644 });
    const f = new RecordedFile(nginx.url('/small.bin'), join(dir, 'small.bin'));
    await downloadFile(f.request({ clock: realClock }));
    f.validators = null;
    await downloadFile(f.request({ clock: realClock }));
    assert.equal(f.restarts, 0);
    assert.equal(await f.tempSha256(), sha256(BIG.subarray(0, 5000)));
  });
});
