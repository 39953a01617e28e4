import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  cancelUploadSession,
  closeUploadAgents,
  DEFAULT_UPLOAD_USER_AGENT,
  uploadFile,
} from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer, GUID } from '../../helpers/bits-fault-server.ts';
import { TestClock } from '../../helpers/test-clock.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Client checklist items 1, 2, 3 and 16 of bits-upload-protocol.md §14.2.

after(() => closeUploadAgents());

const MiB = 1024 * 1024;

async function withServer(
  options: ConstructorParameters<typeof BitsFaultServer>[0],
  size: number,
  fn: (server: BitsFaultServer, rec: RecordedUpload, data: Buffer) => Promise<void>,
): Promise<void> {
  const server = await BitsFaultServer.start(options);
  const { dir, file, data } = await tempUpload(size);
  try {
    await fn(server, new RecordedUpload(server.url(), file), data);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

test('§14.2 item 1: wire format — BITS_POST, HTTP/1.1, Windows packet casing, Content-Length always, lower-case GUID, UA, no Content-Encoding', async () => {
  await withServer({}, 2 * MiB + 100, async (server, rec, data) => {
    await uploadFile(rec.request());
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
    const types = server.requests.map((r) => r.packetType);
    assert.deepEqual(types.slice(0, 2), ['Ping', 'Create-Session']);
    assert.equal(types.at(-1), 'Close-Session');
    assert.ok(types.slice(2, -1).length >= 2 && types.slice(2, -1).every((t) => t === 'Fragment'), types.join());
    for (const r of server.requests) {
      assert.equal(r.method, 'BITS_POST');
      assert.equal(r.httpVersion, 'HTTP/1.1');
      assert.equal(r.headers['user-agent'], DEFAULT_UPLOAD_USER_AGENT);
      assert.equal(r.headers['content-encoding'], undefined);
      // Header names exactly as Windows writes them.
      const names = r.rawHeaders.map(([n]) => n);
      assert.ok(names.includes('BITS-Packet-Type'), names.join());
      assert.ok(names.includes('Content-Length'), names.join());
      const cl = Number(r.headers['content-length']);
      if (r.packetType === 'Fragment') {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.headers['content-range'] ?? '');
        assert.ok(m, r.headers['content-range']);
        assert.equal(cl, Number(m[2]) - Number(m[1]) + 1);
        assert.equal(Number(m[3]), data.length);
        assert.equal(r.body.length, cl);
        assert.equal(r.headers['content-name'], 'source.bin');
        assert.ok(names.includes('BITS-Session-Id') && names.includes('Content-Range'));
      } else {
        assert.equal(cl, 0);
      }
    }
    const create = server.packets('Create-Session')[0];
    assert.equal(create?.headers['bits-supported-protocols'], GUID);
    assert.ok(create?.rawHeaders.some(([n]) => n === 'BITS-Supported-Protocols'));
  });
  // Configurable UA and upper-case GUID option; Cancel-Session casing too.
  await withServer({}, 1000, async (server, rec) => {
    const options = { userAgent: 'Microsoft BITS/7.8', upperCaseProtocolGuid: true };
    await uploadFile(rec.request({ options }));
    assert.equal(server.packets('Create-Session')[0]?.headers['bits-supported-protocols'], GUID.toUpperCase());
    assert.ok(server.requests.every((r) => r.headers['user-agent'] === 'Microsoft BITS/7.8'));
    const req = rec.request({ options });
    const out = await cancelUploadSession({ ...req, state: { ...rec.state, sessionId: '{X}' } });
    assert.equal(out.outcome, 'done');
    const cancel = server.requests.at(-1);
    assert.equal(cancel?.packetType, 'Cancel-Session');
    assert.equal(cancel?.headers['content-length'], '0');
    assert.equal(cancel?.headers['bits-session-id'], '{X}');
  });
});

test('§14.2 item 2: Acks parsed with any header-name case, bare or braced ids up to 100 chars, 201 on Create-Session, no session id needed on Fragment/Close Acks', async () => {
  // Go-canonicalised names (Bits-Received-Content-Range), bare session ids, 201.
  await withServer(
    { headerCase: 'go', sessionIdStyle: 'bare', createStatus: 201 },
    MiB + 5,
    async (server, rec, data) => {
      await uploadFile(rec.request());
      assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
      assert.match(rec.state.sessionId ?? '', /^[0-9a-f]{32}$/);
    },
  );
  // A 100-character id, and IIS-style Acks that never echo the session id.
  const longId = `{${'A'.repeat(98)}}`;
  await withServer({}, 3000, async (server, rec) => {
    server.onRequest = (r) => {
      if (r.packetType === 'Create-Session') {
        return {
          kind: 'respond',
          status: 200,
          headers: { 'BITS-Protocol': GUID, 'BITS-Session-Id': longId, 'Content-Length': '0' },
        };
      }
      if (r.packetType === 'Fragment') {
        const end = Number(/-(\d+)\//.exec(r.headers['content-range'] ?? '')?.[1]);
        return { kind: 'respond', status: 200, headers: { 'BITS-Received-Content-Range': String(end + 1) } };
      }
      if (r.packetType === 'Close-Session') return { kind: 'respond', status: 200 };
      return undefined;
    };
    await uploadFile(rec.request());
    assert.equal(server.packets('Fragment')[0]?.headers['bits-session-id'], longId);
    assert.equal(server.packets('Close-Session')[0]?.headers['bits-session-id'], longId);
    assert.equal(rec.progress.at(-1), 3000);
  });
});

test('§14.2 item 3: a Create-Session Ack without BITS-Session-Id, or choosing a protocol not offered, is reported and nothing is sent', async () => {
  await withServer({}, 1000, async (server, rec) => {
    server.onRequest = (r) =>
      r.packetType === 'Create-Session'
        ? { kind: 'respond', status: 200, headers: { 'BITS-Protocol': GUID } }
        : undefined;
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
    assert.match(err.failure.error.message, /BITS-Session-Id/);
    assert.equal(server.packets('Fragment').length, 0);
    assert.equal(rec.state.sessionId, null);
  });
  await withServer({}, 1000, async (server, rec) => {
    server.onRequest = (r) =>
      r.packetType === 'Create-Session'
        ? {
            kind: 'respond',
            status: 200,
            headers: { 'BITS-Protocol': '{00000000-0000-0000-0000-000000000000}', 'BITS-Session-Id': '{S}' },
          }
        : undefined;
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH');
    assert.equal(server.packets('Fragment').length, 0);
  });
  // No BITS-Protocol at all is the same mismatch.
  await withServer({}, 1000, async (server, rec) => {
    server.onRequest = (r) =>
      r.packetType === 'Create-Session'
        ? { kind: 'respond', status: 200, headers: { 'BITS-Session-Id': '{S}' } }
        : undefined;
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.error.name, 'BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH');
  });
});

/** Let pending I/O callbacks run (no clock involved). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

test('§14.2 item 16: strictly one request in flight; response timeout (5 min) and request send timeout (2 min) on the injected clock', async () => {
  await withServer({}, 5 * MiB, async (server, rec) => {
    await uploadFile(rec.request());
    assert.equal(server.maxInFlight, 1);
    // 1 MiB, then (the injected clock stands still: a fast Ack) the rest in one.
    assert.ok(server.packets('Fragment').length >= 2);
  });
  // Response timeout: the server reads the fragment and never answers.
  await withServer({}, 200_000, async (server, rec) => {
    const clock = new TestClock();
    server.onRequest = (r) => (r.packetType === 'Fragment' ? { kind: 'hang' } : undefined);
    let settled = false;
    const p = failureOf(uploadFile(rec.request({ clock }))).finally(() => {
      settled = true;
    });
    while (server.packets('Fragment').length === 0 || clock.pending === 0) await settle(1);
    await settle();
    clock.advance(5 * 60_000 - 1);
    await settle();
    assert.equal(settled, false, 'no timeout before 5 minutes');
    clock.advance(1);
    const err = await p;
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_TIMEOUT');
    assert.equal(rec.state.bytesAcked, 0);
  });
  // Send timeout: the server stops reading a 13 MiB fragment; nothing moves for 2 minutes.
  await withServer({}, 13 * MiB, async (server, rec) => {
    const clock = new TestClock();
    server.onRequest = (r) => (r.packetType === 'Fragment' ? { kind: 'stall' } : undefined);
    const p = failureOf(uploadFile(rec.request({ clock, options: { initialFragmentSize: 13 * MiB } })));
    // The send timer runs from the request's start (the clock stands still while bytes move), so
    // the 2 minutes can pass as soon as the fragment is on its way; waiting longer only risked the
    // body fitting into the socket buffers and the response timer taking over.
    while (server.packets('Fragment').length === 0) await settle(1);
    clock.advance(2 * 60_000);
    const err = await p;
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_TIMEOUT');
  });
});
