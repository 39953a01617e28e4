import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { serve as serveBody, startOrigin } from '../helpers/origin-server.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

// Fault table rows 1–2 through the service: SIGTERM mid-transfer exits 0 within 5 s; the next
// bitsd re-queues the job, which finishes with the exact bytes.
it('SIGTERM mid-transfer: exit 0 within 5 s, then the restarted daemon finishes the job intact', async () => {
  const home = await tempDir('openbits-restart-');
  const origin = await startOrigin();
  const body = randomBytes(24 * 1024 * 1024);
  origin.route('/slow.bin', (req, res) =>
    serveBody(req, res, body, { etag: '"v1"', dripBytes: 1024 * 1024, dripMs: 40 }),
  );
  try {
    const first = await spawnDaemon(home.path);
    const client = connect({ socketPath: first.socketPath, autoStart: false });
    const job = await client.createJob('interrupted');
    const dest = join(home.path, 'slow.bin');
    await client.addFile(job.id, origin.url('/slow.bin'), dest);
    const moving = new Promise<void>((resolve) => {
      const off = client.subscribe(
        (e) => {
          if (e.type === 'job:progress' && e.progress.bytesTransferred > 0) {
            off();
            resolve();
          }
        },
        { jobId: job.id },
      );
      void off.ready?.then(() => client.resume(job.id));
    });
    await moving;
    // Exit 0 is the stop finishing in time: past its deadline (4.5 s) bitsd exits 1. (Timing the
    // stop from here also counted a loaded machine's scheduling delays.)
    const code = await stopDaemon(first);
    await client.close();
    assert.equal(code, 0, first.stderr());

    const second = await spawnDaemon(home.path);
    const again = connect({ socketPath: second.socketPath, autoStart: false });
    try {
      const done = new Promise<void>((resolve) => {
        const off = again.subscribe(
          (e) => {
            if (e.type === 'job:transferred') {
              off();
              resolve();
            }
          },
          { jobId: job.id },
        );
        // Subscribed: the job may have finished meanwhile, so look once the stream is live.
        void off.ready
          ?.then(() => again.getJob(job.id))
          .then((j) => {
            if (j.state === 'TRANSFERRED') resolve();
          });
      });
      await done;
      assert.equal(await again.complete(job.id), 'S_OK');
      assert.ok(readFileSync(dest).equals(body), 'the resumed file has exactly the served bytes');
      // The stop checkpointed: the restart asked for the rest, not for byte 0 again.
      const ranges = origin.hits('/slow.bin').map((r) => r.headers.range ?? 'none');
      assert.match(ranges.at(-1) ?? '', /^bytes=[1-9]\d*-$/u, ranges.join(', '));
    } finally {
      await again.close();
      assert.equal(await stopDaemon(second), 0);
    }
  } finally {
    await origin.close();
    await home.remove();
  }
});
