// Bodies are streamed to disk, never buffered whole: the server process's peak resident set
// must not grow with the upload. 512 MiB go up in 128 MiB fragments, so buffering a whole
// fragment (let alone the file) would lift the peak by ≥ 128 MiB. What remains is V8's slack for
// unreclaimed socket Buffers (external memory is collected in ~64 MiB steps): measured ~70 MiB
// over a ~105 MiB baseline, the same for 256 MiB, 512 MiB and 1 GiB uploads. (A memory bound,
// not a timing: the throughput figure is only reported.)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertOk } from './helpers/assertions.ts';
import { createSession, packet, payload, sha256File } from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';
import { startServerProcess } from './helpers/server-process.ts';

async function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
}

test('RSS stays flat while 512 MiB are uploaded in 128 MiB fragments', async (t) => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-rss-'));
  const server = await startServerProcess(['--root', base, '--max-fragment-size', '256M']);
  const pid = server.child.pid ?? 0;
  try {
    const fragmentSize = 128 * 1024 * 1024;
    const count = 4;
    const total = fragmentSize * count;
    const block = payload(fragmentSize, 512);
    const c = await RawClient.connect(server.port);
    // Warm up code paths (first session, first fragment) before taking the baseline.
    const warm = await createSession(c, '/warm.bin');
    await c.request(
      bitsPost(
        '/warm.bin',
        { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': warm.id, 'Content-Range': 'bytes 0-1048575/1048576' },
        block.subarray(0, 1048576),
      ),
    );
    const baseline = await memoryKiB(pid, 'VmRSS');
    const hash = createHash('sha256');
    const { id } = await createSession(c, '/big.bin');
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const start = i * fragmentSize;
      const head = bitsPost(
        '/big.bin',
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': id,
          'Content-Range': `bytes ${start}-${start + fragmentSize - 1}/${total}`,
        },
        Buffer.alloc(0),
        { contentLength: fragmentSize },
      );
      await c.write(head);
      await c.write(block);
      hash.update(block);
      const res = await c.read();
      assertOk(res);
      assert.equal(res.get('BITS-Received-Content-Range'), String(start + fragmentSize));
    }
    const seconds = (performance.now() - started) / 1000;
    assertOk(await packet(c, '/big.bin', 'Close-Session', id));
    c.destroy();
    const peak = await memoryKiB(pid, 'VmHWM');
    const growthMiB = (peak - baseline) / 1024;
    t.diagnostic(
      `baseline RSS ${(baseline / 1024).toFixed(1)} MiB, peak ${(peak / 1024).toFixed(1)} MiB ` +
        `(+${growthMiB.toFixed(1)}) for 512 MiB; ${(total / 1024 / 1024 / seconds).toFixed(0)} MiB/s ` +
        'incl. fdatasync per fragment',
    );
    assert.ok(growthMiB < 120, `peak RSS grew by ${growthMiB.toFixed(1)} MiB (≥ 128 if a fragment were buffered)`);
    assert.equal(await sha256File(path.join(base, 'big.bin')), hash.digest('hex'));
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await fs.rm(base, { recursive: true, force: true });
  }
});
