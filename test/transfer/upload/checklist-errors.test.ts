import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { isAbortError } from '../../../src/transfer/index.ts';
import {
  cancelUploadSession,
  closeUploadAgents,
  discardUploadLocalState,
  uploadFile,
} from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer, type FaultAction } from '../../helpers/bits-fault-server.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Client checklist items 7, 8, 9, 10 and 15 of bits-upload-protocol.md §14.2.

after(() => closeUploadAgents());

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

const errorAck = (status: number, code?: string, context = '0x5', name = 'BITS-Error-Code'): FaultAction => ({
  kind: 'respond',
  status,
  headers: code === undefined ? {} : { [name]: code, 'BITS-Error-Context': context },
});

test('§14.2 item 7: Close-Session answered 5xx is retried (transient; the retry sends only Ping + Close), 4xx is not', async () => {
  await withServer({}, 50_000, async (server, rec, data) => {
    let first = true;
    server.onRequest = (r) => {
      if (r.packetType === 'Close-Session' && first) {
        first = false;
        return errorAck(500, '0x80070070');
      }
      return undefined;
    };
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_DISK_FULL');
    const before = server.requests.length;
    await uploadFile(rec.request());
    assert.deepEqual(
      server.requests.slice(before).map((r) => r.packetType),
      ['Ping', 'Close-Session'],
    );
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
  });
  await withServer({}, 50_000, async (server, rec) => {
    server.onRequest = (r) => (r.packetType === 'Close-Session' ? errorAck(400, '0x80070057') : undefined);
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(server.packets('Close-Session').length, 1);
  });
  // Cancel-Session: one attempt each; 5xx → retryLater, 4xx → done, session-not-found → done.
  await withServer({}, 50_000, async (server, rec) => {
    server.onRequest = (r) => (r.packetType === 'Fragment' ? { kind: 'reset' } : undefined);
    await failureOf(uploadFile(rec.request()));
    const req = rec.request();
    const cancel = () => cancelUploadSession({ ...req, state: rec.state });
    server.onRequest = (r) => (r.packetType === 'Cancel-Session' ? errorAck(503) : undefined);
    const retry = await cancel();
    assert.equal(retry.outcome, 'retryLater');
    assert.equal(retry.outcome === 'retryLater' && retry.failure.kind, 'transient');
    server.onRequest = (r) => (r.packetType === 'Cancel-Session' ? errorAck(404) : undefined);
    assert.deepEqual(await cancel(), { outcome: 'done', status: 404 });
    server.onRequest = null;
    assert.deepEqual(await cancel(), { outcome: 'done', status: 200 });
    assert.equal(server.sessions.size, 0);
    // Now the session is gone: 500 + 0x8020001F means done.
    assert.deepEqual(await cancel(), { outcome: 'done', status: 500 });
    assert.equal(server.packets('Cancel-Session').length, 4);
  });
  // An unreachable server: retryLater, classified as a network failure.
  await withServer({}, 10, async (server, rec) => {
    const url = server.url();
    await server.close();
    const req = rec.request();
    const out = await cancelUploadSession({ ...req, remoteName: url, state: { ...rec.state, sessionId: '{S}' } });
    assert.equal(out.outcome, 'retryLater');
    assert.equal(out.outcome === 'retryLater' && out.failure.error.name, 'ERROR_INTERNET_CANNOT_CONNECT');
  });
});

test('§14.2 item 8: 401 is answered with the configured Basic credentials; wrong or missing ones fail after one retry', async () => {
  const basicAuth = { user: 'alice', password: 's3cret' };
  await withServer({ basicAuth }, 300_000, async (server, rec, data) => {
    const credentials = [{ target: 'SERVER', scheme: 'BASIC', userName: 'alice', password: 's3cret' }] as const;
    await uploadFile(rec.request({ options: { credentials } }));
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
    // One challenge (the first Ping); every later packet carries the credentials up front.
    assert.equal(server.requests[0]?.headers.authorization, undefined);
    assert.ok(server.requests.slice(1).every((r) => r.headers.authorization?.startsWith('Basic ')));
    assert.equal(server.packets('Ping').length, 2);
  });
  await withServer({ basicAuth }, 1000, async (server, rec) => {
    const credentials = [{ target: 'SERVER', scheme: 'BASIC', userName: 'alice', password: 'wrong' }] as const;
    const err = await failureOf(uploadFile(rec.request({ options: { credentials } })));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_HTTP_ERROR_401');
    assert.equal(server.requests.length, 2, 'exactly one credentialed retry');
  });
  await withServer({ basicAuth }, 1000, async (server, rec) => {
    const err = await failureOf(uploadFile(rec.request()));
    assert.equal(err.failure.error.name, 'BG_E_HTTP_ERROR_401');
    assert.equal(server.requests.length, 1);
  });
  // Digest (RFC 7616, checked by the server independently): the digest covers method BITS_POST.
  const auth = { scheme: 'digest', user: 'bob', password: 'pw', algorithm: 'SHA-256' } as const;
  await withServer({ auth }, 300_000, async (server, rec, data) => {
    const credentials = [{ target: 'SERVER', scheme: 'DIGEST', userName: 'bob', password: 'pw' }] as const;
    await uploadFile(rec.request({ options: { credentials } }));
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
    assert.ok(server.requests.slice(1).every((r) => r.headers.authorization?.startsWith('Digest ')));
  });
});

test('§14.2 item 9: 403, 501, 0x80200020 and 0x80070057 are fatal with HTTP status, HRESULT and context exposed', async () => {
  const cases: Array<[FaultAction, string, number, string]> = [
    [errorAck(403, '0x80070005'), 'E_ACCESSDENIED', 0x80070005, 'REMOTE_FILE'],
    [errorAck(501, '0x80070005'), 'E_ACCESSDENIED', 0x80070005, 'REMOTE_FILE'],
    [errorAck(403), 'BG_E_HTTP_ERROR_403', 0x80190193, 'REMOTE_FILE'],
    [errorAck(500, '0x80200020'), 'BG_E_TOO_LARGE', 0x80200020, 'REMOTE_FILE'],
    [errorAck(400, '0x80070057'), 'E_INVALIDARG', 0x80070057, 'REMOTE_FILE'],
    [errorAck(404, '0x80070002', '0x7'), 'ERROR_FILE_NOT_FOUND', 0x80070002, 'REMOTE_APPLICATION'],
  ];
  for (const [action, name, hresult, context] of cases) {
    await withServer({}, 1000, async (server, rec) => {
      server.onRequest = (r) => (r.packetType === 'Fragment' ? action : undefined);
      const err = await failureOf(uploadFile(rec.request()));
      const status = action.kind === 'respond' ? action.status : 0;
      assert.equal(err.failure.kind, 'fatal', name);
      assert.equal(err.failure.error.name, name);
      assert.equal(err.failure.error.hresult, hresult);
      assert.equal(err.failure.error.context, context);
      assert.match(err.failure.error.message, new RegExp(`HTTP ${status}`));
    });
  }
  // The server-application table: 409/408/503 transient, 505 fatal; context 0x7 → REMOTE_APPLICATION.
  const transient: Array<[number, 'transient' | 'fatal']> = [
    [409, 'transient'],
    [408, 'transient'],
    [503, 'transient'],
    [505, 'fatal'],
    [307, 'fatal'],
    [306, 'transient'],
  ];
  for (const [status, kind] of transient) {
    await withServer({}, 1000, async (server, rec) => {
      server.onRequest = (r) => (r.packetType === 'Fragment' ? errorAck(status, '0x80004005', '0x7') : undefined);
      const err = await failureOf(uploadFile(rec.request()));
      assert.equal(err.failure.kind, kind, `status ${status}`);
      assert.equal(err.failure.error.context, 'REMOTE_APPLICATION');
      assert.equal(err.failure.error.name, 'E_FAIL');
    });
  }
});

test('§14.2 item 10: BITS-Error-Code parsed with or without 0x, any case, decimal fallback, and under the spec name BITS-Error', async () => {
  const spellings: Array<[string, string]> = [
    ['0x80070057', 'BITS-Error-Code'],
    ['0X80070057', 'BITS-Error-Code'],
    ['80070057', 'BITS-Error-Code'],
    ['0x80070057'.toLowerCase(), 'bits-error-code'],
    ['8007005a'.replace('a', '7'), 'Bits-Error-Code'],
    ['2147942487', 'BITS-Error-Code'],
    ['0x80070057', 'BITS-Error'],
  ];
  for (const [value, header] of spellings) {
    await withServer({}, 1000, async (server, rec) => {
      server.onRequest = (r) => (r.packetType === 'Fragment' ? errorAck(400, value, '5', header) : undefined);
      const err = await failureOf(uploadFile(rec.request()));
      assert.equal(err.failure.error.name, 'E_INVALIDARG', `${header}: ${value}`);
      assert.equal(err.failure.error.context, 'REMOTE_FILE');
    });
  }
});

test('§14.2 item 15: cancel at any point — the upload aborts, Cancel-Session is sent, local reply data is removed', async () => {
  // Mid-upload: abort while a fragment is in flight.
  await withServer({}, 4 * 1024 * 1024, async (server, rec) => {
    const ac = new AbortController();
    let n = 0;
    server.onRequest = (r) => {
      if (r.packetType === 'Fragment' && ++n === 2) {
        ac.abort(new Error('job cancelled'));
        return { kind: 'hang' };
      }
      return undefined;
    };
    await assert.rejects(uploadFile(rec.request({ signal: ac.signal })), (e) => isAbortError(e));
    assert.ok(rec.state.sessionId !== null);
    server.onRequest = null;
    const out = await cancelUploadSession({ ...rec.request(), state: rec.state });
    assert.equal(out.outcome, 'done');
    assert.equal(server.sessions.size, 0, 'server dropped the session');
  });
  // After the reply was stored (upload-reply): Cancel-Session, and the reply temp file goes.
  await withServer({ reply: () => Buffer.from('the reply') }, 10_000, async (server, rec) => {
    server.onRequest = (r) => (r.packetType === 'Close-Session' ? errorAck(503) : undefined);
    await failureOf(uploadFile(rec.request({ type: 'UPLOAD_REPLY' })));
    const temp = rec.state.replyTemporaryName;
    assert.ok(temp !== null && existsSync(temp));
    server.onRequest = null;
    assert.equal((await cancelUploadSession({ ...rec.request(), state: rec.state })).outcome, 'done');
    assert.equal(await discardUploadLocalState(rec.state), true);
    assert.equal(existsSync(temp), false);
    assert.equal(server.packets('Cancel-Session').length, 1);
  });
  // Before any session exists: nothing to send.
  await withServer({}, 10, async (server, rec) => {
    assert.deepEqual(await cancelUploadSession({ ...rec.request(), state: rec.state }), {
      outcome: 'done',
      status: null,
    });
    assert.equal(server.requests.length, 0);
  });
});
