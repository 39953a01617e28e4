import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { serve as serveBody, startOrigin } from '../helpers/origin-server.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from './helpers.ts';

/** Send raw bytes on the daemon's socket, then drop the connection without reading a reply. */
function sendAndDrop(socketPath: string, bytes: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(socketPath, () => {
      socket.write(bytes, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', reject);
  });
}

describe('bitsd end to end: events and dropped clients', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess;
  let client: BitsClient;

  before(async () => {
    home = await tempDir('openbits-e2e-');
    daemon = await spawnDaemon(home.path);
    client = connect({ socketPath: daemon.socketPath, autoStart: false });
  });
  after(async () => {
    await client.close();
    await stopDaemon(daemon);
    await home.remove();
  });

  it('a real download streams state, progress (≤ 10 per second, latest kept) and transferred events', async () => {
    const origin = await startOrigin();
    // The engine reports progress per 1 MiB written: 40 pieces of 1 MiB, 20 ms apart, make ~1 s
    // of transfer that would be ~40 progress events a second without coalescing.
    const pieces = 40;
    const body = randomBytes(pieces * 1024 * 1024);
    origin.route('/drip.bin', (req, res) =>
      serveBody(req, res, body, { etag: '"v1"', dripBytes: 1024 * 1024, dripMs: 20 }),
    );
    try {
      const job = await client.createJob('events');
      const dest = join(home.path, 'drip.bin');
      await client.addFile(job.id, origin.url('/drip.bin'), dest);
      const events: Array<{ at: number; event: ManagerEvent }> = [];
      let resumedAt = 0;
      const transferred = new Promise<void>((resolve) => {
        const off = client.subscribe(
          (event) => {
            events.push({ at: performance.now(), event });
            if (event.type === 'job:transferred') {
              off();
              resolve();
            }
          },
          { jobId: job.id },
        );
        void off.ready?.then(() => {
          resumedAt = performance.now();
          return client.resume(job.id);
        });
      });
      await transferred;
      const progress = events.filter((e) => e.event.type === 'job:progress');
      assert.ok(progress.length >= 3, `only ${progress.length} progress events`);
      assert.ok(progress.length < pieces, `${progress.length} progress events for ${pieces} writes: not coalesced`);
      // The hub emits progress at least 100 ms apart, between the resume call and the arrival
      // of job:transferred, except that every other event first flushes a held-back progress
      // (to keep the order). Arrival times alone would not do: on a loaded machine the stream
      // delivers in bursts (13 "within one second" were seen), so bound the count by the span.
      const spanMs = (events.at(-1)?.at ?? 0) - resumedAt;
      const flushes = events.length - progress.length;
      const allowed = Math.floor(spanMs / 100) + 1 + flushes;
      // The whole sequence goes into the message: this bound failed once (19 in 1,193 ms) and
      // the order of what arrived is what tells a burst from a coalescing bug.
      const arrived = events.map((e) => `${e.event.type}@${Math.round(e.at - resumedAt)}`).join(' ');
      assert.ok(
        progress.length <= allowed,
        `${progress.length} progress events in ${Math.round(spanMs)} ms: ${arrived}`,
      );
      const last = progress.at(-1)?.event;
      assert.ok(last?.type === 'job:progress');
      assert.equal(last.progress.bytesTransferred, body.length, 'the latest progress is not lost to coalescing');
      const states = events.flatMap((e) => (e.event.type === 'job:state' ? [e.event.state] : []));
      assert.deepEqual(states.slice(0, 1), ['QUEUED']);
      assert.ok(states.includes('TRANSFERRED'));
      assert.ok(events.some((e) => e.event.type === 'file:transferred'));
      assert.equal(await client.complete(job.id), 'S_OK');
      assert.ok(readFileSync(dest).equals(body));
    } finally {
      await origin.close();
    }
  });

  it('a client that drops mid-request leaves all or nothing, and the daemon keeps serving', async () => {
    const job = await client.createJob('dropped');
    const files = Array.from({ length: 50 }, (_, i) => ({
      remoteName: `http://127.0.0.1:9/${i}.bin`,
      localName: join(home.path, `dropped-${i}.bin`),
    }));
    const body = JSON.stringify({ files });
    const head = `POST /v1/jobs/${job.id}/file-set HTTP/1.1\r\nHost: bitsd\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

    // Half a body, then gone: nothing may be added.
    await sendAndDrop(daemon.socketPath, head + body.slice(0, body.length / 2));
    assert.deepEqual(await client.enumFiles(job.id), []);

    // The whole request, then gone before the reply: the call runs completely or not at all.
    await sendAndDrop(daemon.socketPath, head + body);
    const count = (await client.enumFiles(job.id)).length;
    assert.ok(count === 0 || count === files.length, `${count} of ${files.length} files added`);

    // A create dropped the same way: at most one job appears, whole.
    const before = (await client.enumJobs()).length;
    const create = JSON.stringify({ displayName: 'dropped-create' });
    await sendAndDrop(
      daemon.socketPath,
      `POST /v1/jobs HTTP/1.1\r\nHost: bitsd\r\nContent-Type: application/json\r\nContent-Length: ${create.length}\r\n\r\n${create}`,
    );
    const jobs = await client.enumJobs();
    assert.ok(jobs.length - before <= 1);
    for (const j of jobs.filter((x) => x.displayName === 'dropped-create')) assert.equal(j.state, 'SUSPENDED');
    assert.equal((await client.status()).pid, daemon.child.pid);
  });
});
