// Issue 12 item 5 against a real bitsd: an event-stream reader that stops reading is really cut
// off (its socket destroyed, its subscription gone) and bitsd's memory stays bounded; routes that
// take no body refuse one unread; a bad id is echoed at most 100 characters.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import { scratchDir } from '../e2e/helpers.ts';
import { getOnSocket, metricValue } from '../helpers/prometheus.ts';
import { floodEvents, openSlowReader, residentBytes, socketCount } from '../helpers/slow-reader.ts';
import { until } from '../helpers/until.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from './helpers.ts';

const MiB = 1024 * 1024;

describe('bitsd: slow readers and unwanted bodies (issue 12 item 5)', () => {
  let home: Awaited<ReturnType<typeof scratchDir>>;
  let daemon: DaemonProcess;
  let client: BitsClient;

  before(async () => {
    // tmpfs (SCRATCH): the flood of calls measures the event stream, not fsync.
    home = await scratchDir('openbits-slow-');
    daemon = await spawnDaemon(home.path);
    client = connect({ socketPath: daemon.socketPath, autoStart: false });
  });
  after(async () => {
    await client?.close();
    if (daemon !== undefined) await stopDaemon(daemon);
    await home?.remove();
  });

  const subscribers = async (): Promise<number> =>
    metricValue((await getOnSocket(daemon.socketPath, '/metrics')).body, 'openbits_event_subscribers');

  // Thousands of calls before the cut-off (~7 ms each on a loaded 2-core machine, more under
  // heavier load, where 180 s ran out once): a longer guard than the suite's.
  it('readers that stop reading are cut off: sockets destroyed, subscriptions gone, memory bounded', {
    timeout: 600_000,
  }, async () => {
    const pid = daemon.child.pid as number;
    const socketsBefore = socketCount(pid);
    const readers = await Promise.all(Array.from({ length: 20 }, () => openSlowReader(daemon.socketPath)));
    assert.equal(await subscribers(), 20);
    const baseline = residentBytes(pid).rss;
    const job = await client.createJob('flood');
    // Each call is one job:modified frame (~95 bytes) for each reader; flood until bitsd cuts
    // them off (a 256 KiB backlog behind the socket buffers), or 40,000 events.
    let sent = 0;
    while (sent < 40_000 && (await subscribers()) > 0) {
      await floodEvents(client, job.id, 2000);
      sent += 2000;
    }
    assert.equal(await subscribers(), 0, `after ${sent} events every slow reader is unsubscribed`);
    assert.match(daemon.stderr(), /event stream reader too slow; closing it/u);
    // Their sockets are closed on bitsd's side, though the readers have not read the end yet.
    // (The flood's client keeps at most 16 connections: fewer than the 20 readers.)
    await until(() => socketCount(pid) < socketsBefore + 20, 'bitsd to close the slow readers’ sockets');
    const growth = residentBytes(pid).peak - baseline;
    assert.ok(growth < 128 * MiB, `bitsd grew ${(growth / MiB).toFixed(1)} MiB for 20 slow readers`);
    // A reader that reads again finds its stream ended after what was in flight, not the flood.
    for (const r of readers) r.resume();
    await Promise.all(readers.map((r) => r.closed));
    for (const r of readers) assert.ok(r.bytes() < 4 * MiB, `a cut-off reader got ${r.bytes()} bytes`);
    // A reader that keeps up is not cut off.
    const events: string[] = [];
    const off = client.subscribe((e) => events.push(e.type), { jobId: job.id });
    await off.ready;
    await floodEvents(client, job.id, 500);
    await until(() => events.length >= 500, '500 events to a reader that keeps up');
    off();
  });

  it('a GET with a 100 MB body is refused unread with a BITS code, and the connection closes', async () => {
    // Thirty times: the reply must reach a client that is still writing (a close with unread
    // bytes would reset the connection and lose it; that lost about one reply in twelve).
    for (let round = 0; round < 30; round++) {
      const { head, written } = await sendUnwantedBody(daemon.socketPath, 100 * MiB);
      assert.match(head, /^HTTP\/1\.1 (413|400) /u, `round ${round}: ${head}`);
      assert.match(head, /"name":"(BG_E_TOO_LARGE|E_INVALIDARG)"/u, head);
      assert.match(head, /connection: close/iu);
      assert.ok(written < 50 * MiB, `bitsd read ${(written / MiB).toFixed(1)} MiB of a body it does not want`);
    }

    const small = await new Promise<string>((resolve) => {
      const socket = netConnect(daemon.socketPath, () => {
        socket.end(
          'DELETE /v1/jobs/{00000000-0000-4000-8000-000000000001}/credentials/SERVER/BASIC HTTP/1.1\r\nHost: bitsd\r\nContent-Length: 2\r\n\r\n{}',
        );
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
      });
      socket.on('close', () => resolve(text));
    });
    assert.match(small, /^HTTP\/1\.1 400 /u, small);
    assert.match(small, /"name":"E_INVALIDARG".*takes no request body/u);
  });

  it('a bad id is echoed at most 100 characters', async () => {
    const id = 'x'.repeat(5000);
    const { status, body } = await getOnSocket(daemon.socketPath, `/v1/jobs/${id}`);
    assert.equal(status, 404);
    const message = (JSON.parse(body) as { error: { name: string; message: string } }).error;
    assert.equal(message.name, 'BG_E_NOT_FOUND');
    assert.ok(message.message.includes('x'.repeat(100)) && !message.message.includes('x'.repeat(101)), message.message);
    const route = await getOnSocket(daemon.socketPath, `/v1/${'y'.repeat(5000)}`);
    assert.ok(!route.body.includes('y'.repeat(101)), route.body.slice(0, 300));
  });
});

/** Send GET /v1/jobs announcing `length` body bytes and keep writing them until bitsd closes. */
function sendUnwantedBody(socketPath: string, length: number): Promise<{ head: string; written: number }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(socketPath);
    let head = '';
    let written = 0;
    let stopped = false;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      stopped = true;
      resolve({ head, written });
    });
    socket.write(`GET /v1/jobs HTTP/1.1\r\nHost: bitsd\r\nContent-Length: ${length}\r\n\r\n`);
    const pump = (): void => {
      while (!stopped && written < length) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    setTimeout(() => reject(new Error(`no close after ${written} bytes; got ${head.slice(0, 300)}`)), 60_000).unref();
  });
}
