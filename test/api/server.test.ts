import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createConnection, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { VERSION_HEADER } from '../../src/api/operation.ts';
import { connect } from '../../src/client/connect.ts';
import { parseSse } from '../../src/client/event-feed.ts';
import { BitsError, OPENBITS_VERSION } from '../../src/core/index.ts';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { FileServer } from '../helpers/file-server.ts';
import { waitForState } from '../helpers/manager-harness.ts';
import { until } from '../helpers/until.ts';
import { startBackEnd } from '../upload-server/helpers/back-end.ts';
import { type Observed, observe, rawCall, realManager, serve, tempDir } from './helpers.ts';
import { rejectsWith } from './manager-contract.ts';

// The API's shape over a real Unix socket: envelopes, statuses, field-naming validation, binary
// replies and the event stream, with the real in-process manager behind it.

describe('API server', () => {
  let real: Awaited<ReturnType<typeof realManager>>;
  let manager: Observed;
  let served: Awaited<ReturnType<typeof serve>>;
  let agent: Agent;

  const call = (method: string, path: string, body?: string) => rawCall(agent, method, path, body);

  before(async () => {
    real = await realManager();
    manager = observe(real.manager);
    served = await serve(manager, { heartbeatMs: 20, maxBodyBytes: 64 * 1024 });
    agent = new Agent({ connect: { socketPath: served.socketPath } });
  });
  after(async () => {
    await agent.close();
    await served.close();
    await real.close();
  });

  it('creates a job: 201 with the job', async () => {
    const { status, json } = await call('POST', '/v1/jobs', JSON.stringify({ displayName: 'shape' }));
    assert.equal(status, 201);
    assert.equal(json.state, 'SUSPENDED');
    assert.equal(json.displayName, 'shape');
  });

  it('answers errors with the envelope and the registry’s HTTP status', async () => {
    const missing = await call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(missing.json.error).sort(), ['context', 'hresult', 'message', 'name']);
    assert.equal(missing.json.error.name, 'BG_E_NOT_FOUND');
    assert.equal(missing.json.error.hresult, 0x80200001);

    const job = (await call('POST', '/v1/jobs', '{"displayName":"upload","type":"UPLOAD"}')).json;
    const state = await call('POST', `/v1/jobs/${job.id}/complete`);
    assert.equal(state.status, 409);
    assert.equal(state.json.error.name, 'BG_E_INVALID_STATE');

    const empty = await call('POST', `/v1/jobs/${job.id}/resume`);
    assert.equal(empty.status, 409);
    assert.equal(empty.json.error.name, 'BG_E_EMPTY');
  });

  it('names the offending field in E_INVALIDARG for a malformed body', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['POST', '{"displayName": 7}', /displayName must be string/],
      ['POST', '{}', /displayName is required/],
      ['POST', '{"displayName":"a","colour":"red"}', /colour is not a known field/],
      ['POST', '{not json', /not valid JSON/],
      ['POST', '', /a JSON object is required/],
    ];
    for (const [method, body, message] of cases) {
      const { status, json } = await call(method, '/v1/jobs', body);
      assert.equal(status, 400, body);
      assert.equal(json.error.name, 'E_INVALIDARG');
      assert.match(json.error.message, message);
    }
    const job = (await call('POST', '/v1/jobs', '{"displayName":"files"}')).json;
    const nested = await call(
      'POST',
      `/v1/jobs/${job.id}/file-set`,
      JSON.stringify({ files: [{ remoteName: 'http://a/x', localName: '/tmp/x' }, { remoteName: 'http://a/y' }] }),
    );
    assert.equal(nested.status, 400);
    assert.match(nested.json.error.message, /files\[1\]\.localName is required/);
    const index = await call('PUT', `/v1/jobs/${job.id}/files/first/remote-name`, '{"value":"http://a/z"}');
    assert.match(index.json.error.message, /path parameter index must be a whole number/);
    const query = await call('GET', '/v1/jobs?allUsers=maybe');
    assert.match(query.json.error.message, /allUsers must be true or false/);
    const brief = await call('GET', '/v1/job-summaries?allUsers=maybe');
    assert.equal(brief.status, 400);
    assert.equal(brief.json.error.name, 'E_INVALIDARG');
    assert.match(brief.json.error.message, /allUsers must be true or false/);
  });

  it('refuses an oversized body with BG_E_TOO_LARGE (413) and an unknown route with 404', async () => {
    const big = await call('POST', '/v1/jobs', JSON.stringify({ displayName: 'x'.repeat(100_000) }));
    assert.equal(big.status, 413);
    assert.equal(big.json.error.name, 'BG_E_TOO_LARGE');
    const route = await call('GET', '/v1/nothing-here');
    assert.equal(route.status, 404);
    assert.match(route.json.error.message, /no route GET "\/v1\/nothing-here"/);
  });

  it('turns a non-BITS failure inside the manager into E_FAIL (500) without leaking its text', async () => {
    const restore = manager.replace('getTimes', () => Promise.reject(new TypeError('secret internal detail')));
    try {
      const { status, json } = await call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000/times');
      assert.equal(status, 500);
      assert.equal(json.error.name, 'E_FAIL');
      assert.doesNotMatch(json.error.message, /secret/);
    } finally {
      restore();
    }
  });

  it("counts the calls in flight and answered (what bitsd's warm-up waits on); an event stream is no call", async () => {
    const { activity } = served.server;
    let release = (): void => {};
    const restore = manager.replace(
      'getTimes',
      () =>
        new Promise((_resolve, reject) => {
          release = () => reject(new BitsError('BG_E_NOT_FOUND', 'no such job'));
        }),
    );
    try {
      const before = activity.answered();
      const held = call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000/times');
      await until(() => activity.inFlight() === 1, 'the call in flight');
      assert.equal(activity.answered(), before);
      release();
      assert.equal((await held).status, 404);
      assert.equal(activity.inFlight(), 0);
      assert.equal(activity.answered(), before + 1);
      const stream = await agent.request({ origin: 'http://bitsd', path: '/v1/events', method: 'GET' });
      try {
        assert.equal(stream.statusCode, 200);
        assert.equal(activity.inFlight(), 0, 'an open event stream');
        assert.equal(activity.answered(), before + 1);
      } finally {
        stream.body.destroy();
      }
    } finally {
      restore();
    }
  });

  it('client: rebuilds envelopes into BitsErrors, reply data from base64, job errors intact', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const app = await startBackEnd((_n, res) => res.end(bytes));
    const work = await tempDir();
    const uploads = await startBitsUploadServer({
      root: work.path,
      notificationType: 'by-value',
      notificationUrl: app.url,
    });
    const origin = await FileServer.start();
    const client = connect({ socketPath: served.socketPath, autoStart: false });
    try {
      const err = await rejectsWith(() => client.getJob('00000000-0000-4000-8000-000000000000'), 'BG_E_NOT_FOUND');
      assert.equal(err.hresult, 0x80200001);
      // A real upload-reply job whose reply holds bytes that are not text.
      const source = join(work.path, 'form.bin');
      await writeFile(source, 'form data');
      const job = await client.createJob('reply', 'UPLOAD_REPLY');
      await client.addFile(job.id, `http://127.0.0.1:${uploads.port}/forms/form.bin`, source);
      await client.resume(job.id);
      await waitForState(client, job.id, 'TRANSFERRED');
      assert.deepEqual(await client.getReplyData(job.id), bytes);
      // A real 404.
      const failed = await client.createJob('failed');
      await client.addFile(failed.id, origin.url('/nowhere.bin'), join(work.path, 'nowhere.bin'));
      await client.resume(failed.id);
      await waitForState(client, failed.id, 'ERROR');
      const info = await client.getError(failed.id);
      assert.equal(info.name, 'BG_E_HTTP_ERROR_404');
      assert.equal(info.context, 'REMOTE_FILE');
      assert.equal((await client.getJob(failed.id)).error?.hresult, 0x80190194);
      assert.equal((await client.status()).service, 'bitsd');
    } finally {
      await client.close();
      await origin.close();
      await uploads.close();
      await app.close();
      await work.remove();
    }
  });

  it('events: ready first, then this job’s events as SSE; heartbeats; unsubscribed on disconnect', async () => {
    const job = (await call('POST', '/v1/jobs', '{"displayName":"events"}')).json;
    const other = (await call('POST', '/v1/jobs', '{"displayName":"other"}')).json;
    const baseline = manager.listenerCount;
    const abort = new AbortController();
    const res = await agent.request({
      origin: 'http://bitsd',
      path: `/v1/events?jobId=${encodeURIComponent(`{${job.id.toUpperCase()}}`)}`,
      method: 'GET',
      signal: abort.signal,
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const iterator = parseSse(res.body)[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.event, 'ready');
    // Another job's event is filtered out; this job's arrives.
    await manager.setDescription(other.id, 'not watched');
    await manager.setDescription(job.id, 'watched');
    const message = (await iterator.next()).value;
    assert.equal(message?.event, 'job:modified');
    assert.deepEqual(JSON.parse(message?.data ?? '{}'), { type: 'job:modified', jobId: job.id });

    // Heartbeats are comments: read raw chunks until one shows up.
    const raw = await agent.request({ origin: 'http://bitsd', path: '/v1/events', method: 'GET' });
    let seen = '';
    for await (const chunk of raw.body) {
      seen += chunk.toString();
      if (seen.includes(': heartbeat')) break;
    }
    assert.ok(seen.startsWith('event: ready'));
    raw.body.destroy();

    const bad = await call('GET', '/v1/events?jobId=nope');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /jobId is not a job id/);

    abort.abort();
    await manager.listenerCountIs(baseline);
    assert.equal(manager.listenerCount, baseline);
  });

  it('a reply of a daemon of this very version is trusted (no schema check, no TypeBox); the API names its version', async () => {
    const dir = await tempDir();
    const socketPath = join(dir.path, 'same.sock');
    const same = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader(VERSION_HEADER, OPENBITS_VERSION);
      res.end(JSON.stringify({ id: 'x', state: 'SLEEPING' }));
    });
    await new Promise<void>((resolve) => same.listen(socketPath, resolve));
    const client = connect({ socketPath, autoStart: false });
    try {
      assert.deepEqual(await client.getJob('00000000-0000-4000-8000-000000000000'), { id: 'x', state: 'SLEEPING' });
    } finally {
      await client.close();
      await new Promise((resolve) => same.close(resolve));
      await dir.remove();
    }
    // The suite's server (the real manager behind it) names the version its status() gives.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({ socketPath: served.socketPath, path: '/v1/status' }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.resume();
    assert.equal(res.headers[VERSION_HEADER], 'test');
  });

  it('client reply checks: a server answering the wrong shape gives E_FAIL naming the field', async () => {
    const dir = await tempDir();
    const socketPath = join(dir.path, 'wrong.sock');
    const wrong = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'x', state: 'SLEEPING' }));
    });
    await new Promise<void>((resolve) => wrong.listen(socketPath, resolve));
    const client = connect({ socketPath, autoStart: false });
    try {
      const err = await rejectsWith(() => client.getJob('00000000-0000-4000-8000-000000000000'), 'E_FAIL');
      assert.match(err.message, /^reply: (type|displayName|description|owner|state)/);
    } finally {
      await client.close();
      await new Promise((resolve) => wrong.close(resolve));
      await dir.remove();
    }
  });

  it('client after close(): E_FAIL saying so, and close() may be called twice', async () => {
    const client = connect({ socketPath: served.socketPath, autoStart: false });
    await client.enumJobs();
    await client.close();
    await client.close();
    const err = await rejectsWith(() => client.enumJobs(), 'E_FAIL');
    assert.match(err.message, /client is closed/);
  });

  it('a request whose body is cut short creates nothing, and the server goes on answering', async () => {
    const before = (await call('GET', '/v1/jobs')).json.jobs.length;
    const socket = createConnection(served.socketPath);
    await once(socket, 'connect');
    socket.write(
      'POST /v1/jobs HTTP/1.1\r\nHost: bitsd\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"displayName":',
    );
    socket.destroy();
    await once(socket, 'close');
    const created = await call('POST', '/v1/jobs', JSON.stringify({ displayName: 'after-cut' }));
    assert.equal(created.status, 201);
    const names = (await call('GET', '/v1/jobs')).json.jobs.map((j: { displayName: string }) => j.displayName);
    assert.equal(names.length, before + 1, 'only the whole request made a job');
    assert.ok(names.includes('after-cut'));
  });

  it('client: a connection cut mid-call is RPC_S_CALL_FAILED (may or may not have happened)', async () => {
    const dir = await tempDir();
    const socketPath = join(dir.path, 'cut.sock');
    const cut = createNetServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => cut.listen(socketPath, resolve));
    const client = connect({ socketPath, autoStart: false });
    try {
      const err = await rejectsWith(() => client.createJob('cut'), 'RPC_S_CALL_FAILED');
      assert.match(err.message, /may or may not have been applied/);
    } finally {
      await client.close();
      await new Promise((resolve) => cut.close(resolve));
      await dir.remove();
    }
  });

  it('client without a daemon: RPC_S_SERVER_UNAVAILABLE naming the socket', async () => {
    const client = connect({ socketPath: join(served.dir.path, 'nobody.sock'), autoStart: false });
    try {
      const err = await rejectsWith(() => client.enumJobs(), 'RPC_S_SERVER_UNAVAILABLE');
      assert.match(err.message, /nobody\.sock/);
      assert.ok(err instanceof BitsError);
    } finally {
      await client.close();
    }
  });
});
