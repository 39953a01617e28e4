import assert from 'node:assert/strict';
import { appendFileSync, utimesSync } from 'node:fs';
import { after, test } from 'node:test';
import { closeUploadAgents, MIN_FRAGMENT_SIZE, uploadFile } from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer, type RecordedRequest } from '../../helpers/bits-fault-server.ts';
import { TestClock } from '../../helpers/test-clock.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Client checklist items 4, 5, 6, 11 and 13 of bits-upload-protocol.md §14.2.

after(() => closeUploadAgents());

const MiB = 1024 * 1024;

async function withServer(
  options: ConstructorParameters<typeof BitsFaultServer>[0],
  size: number,
  fn: (server: BitsFaultServer, rec: RecordedUpload, data: Buffer, file: string) => Promise<void>,
): Promise<void> {
  const server = await BitsFaultServer.start(options);
  const { dir, file, data } = await tempUpload(size);
  try {
    await fn(server, new RecordedUpload(server.url(), file), data, file);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

function range(r: RecordedRequest | undefined): { start: number; end: number } {
  const m = /^bytes (\d+)-(\d+)\//.exec(r?.headers['content-range'] ?? '');
  return { start: Number(m?.[1]), end: Number(m?.[2]) };
}

function stored(server: BitsFaultServer): string {
  return sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0));
}

test('§14.2 item 4: BITS-Received-Content-Range adopted on 200 and 416, smaller and larger than expected, until offset = size', async () => {
  await withServer({}, 3 * MiB, async (server, rec, data) => {
    let n = 0;
    server.onRequest = (r) => {
      if (r.packetType !== 'Fragment') return undefined;
      n++;
      // 2nd fragment: 416 claiming the server holds only 1000 bytes (smaller).
      if (n === 2) return { kind: 'respond', status: 416, headers: { 'BITS-Received-Content-Range': '1000' } };
      // 4th: 200 claiming 5000 bytes more than were sent (larger): the next fragment is a gap → real 416.
      if (n === 4) {
        const { end } = range(r);
        server.onRequest = null;
        return { kind: 'respond', status: 200, headers: { 'BITS-Received-Content-Range': String(end + 1 + 5000) } };
      }
      return undefined;
    };
    await uploadFile(rec.request({ options: { initialFragmentSize: 256 * 1024 } }));
    const frags = server.packets('Fragment');
    assert.equal(range(frags[2]).start, 1000, 'resumed from the smaller offset');
    const claimed = range(frags[3]).end + 1 + 5000;
    assert.equal(range(frags[4]).start, claimed, 'adopted the larger offset');
    // The server never stored the 4th fragment: its 416 names where that fragment began.
    assert.equal(range(frags[5]).start, range(frags[3]).start, 'then the 416 offset');
    assert.equal(stored(server), sha256(data));
    assert.equal(rec.state.bytesAcked, data.length);
    assert.equal(rec.progress.at(-1), data.length);
  });
});

test('§14.2 item 4: a server that never advances is a failure (no endless loop)', async () => {
  await withServer({}, 100_000, async (server, rec) => {
    server.onRequest = (r) =>
      r.packetType === 'Fragment'
        ? { kind: 'respond', status: 416, headers: { 'BITS-Received-Content-Range': '0' } }
        : undefined;
    const err = await failureOf(uploadFile(rec.request({ options: { maxStalledAcks: 5 } })));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
    assert.match(err.failure.error.message, /did not advance/);
    assert.equal(server.packets('Fragment').length, 5);
  });
});

test('§14.2 item 5: 413 halves the fragment size down to the 5 KB floor and retries', async () => {
  await withServer({ maxFragment: 100_000 }, 3 * MiB, async (server, rec, data) => {
    await uploadFile(rec.request());
    const sizes = server.packets('Fragment').map((r) => Number(r.headers['content-length']));
    assert.deepEqual(sizes.slice(0, 5), [MiB, MiB / 2, MiB / 4, MiB / 8, MiB / 16]);
    assert.ok(sizes.slice(4).every((s) => s <= 100_000));
    assert.equal(stored(server), sha256(data));
  });
  // A server that refuses even 5 KB: fatal BG_E_TOO_LARGE, nothing smaller than 5 KB sent.
  await withServer({ maxFragment: 4000 }, 50_000, async (server, rec) => {
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_TOO_LARGE');
    const sizes = server.packets('Fragment').map((r) => Number(r.headers['content-length']));
    assert.equal(Math.min(...sizes), MIN_FRAGMENT_SIZE);
  });
});

test('§14.2 item 6: BG_E_SESSION_NOT_FOUND on Fragment → new Create-Session from byte 0', async () => {
  await withServer({}, 3 * MiB, async (server, rec, data) => {
    let n = 0;
    server.onRequest = (r) => {
      if (r.packetType === 'Fragment' && ++n === 2) server.loseSessions();
      return undefined;
    };
    await uploadFile(rec.request({ options: { initialFragmentSize: 512 * 1024 } }));
    assert.equal(server.packets('Create-Session').length, 2);
    const frags = server.packets('Fragment');
    assert.equal(range(frags[1]).start, 512 * 1024, 'the second fragment went on from the first');
    assert.equal(range(frags[2]).start, 0, 'restarted from 0');
    assert.notEqual(frags[2]?.headers['bits-session-id'], frags[0]?.headers['bits-session-id']);
    assert.equal(stored(server), sha256(data));
  });
});

test('§14.2 item 6: BG_E_SESSION_NOT_FOUND on Close-Session → new session, upload again from 0', async () => {
  await withServer({}, 200_000, async (server, rec, data) => {
    let lost = false;
    server.onRequest = (r) => {
      if (r.packetType === 'Close-Session' && !lost) {
        lost = true;
        server.loseSessions();
      }
      return undefined;
    };
    await uploadFile(rec.request());
    assert.equal(server.packets('Create-Session').length, 2);
    assert.equal(server.packets('Close-Session').length, 2);
    assert.equal(range(server.packets('Fragment').at(-1)).start, 0);
    assert.equal(stored(server), sha256(data));
  });
});

test('§14.2 item 11: resume after a killed connection and after a process restart — Ping, then Fragment from the last acked offset', async () => {
  await withServer({}, 3 * MiB, async (server, rec, data) => {
    let n = 0;
    server.onRequest = (r) =>
      r.packetType === 'Fragment' && ++n === 2 ? { kind: 'reset', afterBytes: 1000 } : undefined;
    const opts = { options: { initialFragmentSize: MiB } };
    const err = await failureOf(uploadFile(rec.request(opts)));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.context, 'GENERAL_TRANSPORT');
    // What the manager persisted survives a restart as JSON.
    assert.equal(rec.state.bytesAcked, MiB);
    rec.state = JSON.parse(JSON.stringify(rec.state));
    const before = server.requests.length;
    await uploadFile(rec.request(opts));
    const resumed = server.requests.slice(before);
    assert.equal(resumed[0]?.packetType, 'Ping');
    assert.equal(resumed[1]?.packetType, 'Fragment');
    assert.equal(range(resumed[1]).start, MiB);
    assert.ok(resumed[0] !== undefined && resumed[0].connection > (server.requests[0]?.connection ?? 0));
    assert.equal(server.packets('Create-Session').length, 1);
    assert.equal(stored(server), sha256(data));
  });
  // A dropped Ack: the server stored the fragment, the client never heard; it resends and adopts R.
  await withServer({}, 2 * MiB, async (server, rec, data) => {
    let n = 0;
    server.onRequest = (r) => (r.packetType === 'Fragment' && ++n === 1 ? { kind: 'dropAck' } : undefined);
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(rec.state.bytesAcked, 0);
    await uploadFile(rec.request());
    assert.equal(range(server.packets('Fragment')[1]).start, 0);
    assert.equal(stored(server), sha256(data));
  });
});

test('§14.2 item 13: the local file changing size or mtime after the upload started → BG_E_LOCAL_FILE_CHANGED (LOCAL_FILE)', async () => {
  await withServer({}, 2 * MiB, async (server, rec, _data, file) => {
    let n = 0;
    server.onRequest = (r) => {
      if (r.packetType === 'Fragment' && ++n === 1) appendFileSync(file, 'more');
      return undefined;
    };
    const err = await failureOf(uploadFile(rec.request({ options: { initialFragmentSize: MiB } })));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_LOCAL_FILE_CHANGED');
    assert.equal(err.failure.error.context, 'LOCAL_FILE');
    assert.equal(server.packets('Fragment').length, 1);
  });
  // Between two calls (a restart): only the mtime changed.
  await withServer({}, 2 * MiB, async (server, rec, _data, file) => {
    server.onRequest = (r) => (r.packetType === 'Fragment' ? { kind: 'reset' } : undefined);
    await failureOf(uploadFile(rec.request()));
    assert.ok(rec.state.snapshot !== null);
    utimesSync(file, new Date(2020, 1, 1), new Date(2020, 1, 1));
    server.onRequest = null;
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.error.name, 'BG_E_LOCAL_FILE_CHANGED');
    assert.equal(err.failure.error.context, 'LOCAL_FILE');
  });
});

test('§14.2 item 11: a keep-alive connection the server dropped while idle is resent once on a new connection', async () => {
  for (const idleMs of [5_000, 0]) {
    await withServer({}, 10_000, async (server, rec, data) => {
      const clock = new TestClock();
      let closes = 0;
      server.onRequest = (r) =>
        r.packetType === 'Close-Session' && ++closes === 1
          ? { kind: 'respond', status: 503, headers: { 'BITS-Error-Code': '0x80004005' } }
          : undefined;
      await failureOf(uploadFile(rec.request({ clock })));
      const pooled = server.requests.at(-1)?.connection;
      // The server dropped the idle connection; the client only learns it by sending on it.
      server.onRequest = (r) => (r.connection === pooled ? { kind: 'reset' } : undefined);
      clock.advance(idleMs);
      const call = uploadFile(rec.request({ clock }));
      if (idleMs === 0) {
        // Not idle: a reset is a real transport failure (suspend, resume later with a Ping).
        const err = await failureOf(call);
        assert.equal(err.failure.kind, 'transient');
        return;
      }
      await call;
      const pings = server.packets('Ping');
      assert.equal(pings.at(-2)?.connection, pooled);
      assert.notEqual(pings.at(-1)?.connection, pooled);
      assert.equal(stored(server), sha256(data));
    });
  }
});

test('§14.2 item 5: a 413 sent before the server reads the fragment (connection closed) still shrinks the fragment', async () => {
  await withServer({}, 20 * MiB, async (server, rec, data) => {
    server.onRequest = (r) =>
      r.packetType === 'Fragment' && Number(r.headers['content-length']) > 200_000
        ? { kind: 'respondEarly', status: 413 }
        : undefined;
    await uploadFile(rec.request({ options: { initialFragmentSize: 13 * MiB } }));
    assert.equal(stored(server), sha256(data));
    assert.ok(server.packets('Fragment').every((r) => Number(r.headers['content-length']) <= 13 * MiB));
  });
});
