// Mounting in an existing Node HTTP(S) server. Node's parser rejects BITS_POST (§11), so the
// handler takes over the server's connections, serves its URL prefix itself, and hands every
// other request (socket + unread bytes) to the app's http.Server, which then owns the connection.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BITS_PROTOCOL_GUID as GUID } from '../../src/core/upload-protocol.ts';
import { type BitsUploadHandler, createBitsUploadHandler } from '../../src/upload-server/index.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { assertOk } from './helpers/assertions.ts';
import { packet, payload, uploadWhole } from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';

let base: string;
before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-mount-'));
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

/** The embedding app: a JSON route, an echo of POST bodies, and a notification endpoint. */
function appHandler(notified: string[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/app/notify')) {
        notified.push(`${req.url} ${req.headers['bits-original-request-url']}`);
        res.end(`reply for ${Buffer.concat(chunks).length} bytes`);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
    });
  };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('createBitsUploadHandler mounted in a Node server', () => {
  let app: http.Server;
  let handler: BitsUploadHandler;
  let port: number;
  let root: string;
  const notified: string[] = [];

  before(async () => {
    root = path.join(base, 'root');
    await fs.mkdir(root);
    app = http.createServer(appHandler(notified));
    port = await listen(app);
    handler = await createBitsUploadHandler({
      root,
      urlPrefix: '/uploads/',
      clock: new TestClock(),
      notificationType: 'by-value',
      // Relative: resolved against the upload URL on the public origin, i.e. this same server,
      // outside the prefix (never against the request's Host header).
      notificationUrl: '/app/notify',
      publicOrigin: `http://127.0.0.1:${port}`,
    });
    handler.attach(app);
  });
  after(async () => {
    await handler.close();
    app.closeAllConnections();
    await new Promise<void>((r) => app.close(() => r()));
  });

  test("the app's own routes still work (fetch, keep-alive, POST bodies)", async () => {
    const a = await fetch(`http://127.0.0.1:${port}/api/hello?x=1`);
    assert.deepEqual(await a.json(), { method: 'GET', url: '/api/hello?x=1', body: '' });
    const b = await fetch(`http://127.0.0.1:${port}/api/echo`, { method: 'POST', body: 'payload' });
    assert.deepEqual(await b.json(), { method: 'POST', url: '/api/echo', body: 'payload' });
  });

  test('a BITS upload-reply on the same port, notifying the app through a relative URL', async () => {
    const c = await RawClient.connect(port);
    const data = payload(70_000, 3);
    const host = `127.0.0.1:${port}`;
    const url = '/uploads/doc.bin?acct=9';
    const created = await c.request(
      bitsPost(url, { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': GUID }, undefined, { host }),
    );
    assertOk(created);
    const id = created.get('BITS-Session-Id') ?? '';
    const send = (start: number, end: number) =>
      c.request(
        bitsPost(
          url,
          {
            'BITS-Packet-Type': 'Fragment',
            'BITS-Session-Id': id,
            'Content-Range': `bytes ${start}-${end - 1}/${data.length}`,
          },
          data.subarray(start, end),
          { host },
        ),
      );
    assertOk(await send(0, 40_000));
    const last = await send(40_000, data.length);
    assertOk(last);
    assert.deepEqual(notified, [`/app/notify?acct=9 http://${host}${url}`]);
    const replyPath = new URL(last.get('BITS-Reply-URL') ?? '').pathname;
    const reply = await c.request(`GET ${replyPath} HTTP/1.1\r\nHost: h\r\nRange: bytes=0-4\r\n\r\n`);
    assert.equal(reply.status, 206);
    assert.equal(reply.body.toString(), 'reply');
    assertOk(await packet(c, '/uploads/doc.bin', 'Close-Session', id));
    c.destroy();
  });

  test('keep-alive: BITS packets, then an app request on the same connection is handed over', async () => {
    const c = await RawClient.connect(port);
    assertOk(await packet(c, '/uploads/k.txt', 'Ping'));
    // Pipelined: two app requests in one write, after BITS traffic on this connection.
    await c.write(
      'GET /api/one HTTP/1.1\r\nHost: h\r\n\r\nPOST /api/two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc',
    );
    const one = await c.read();
    const two = await c.read();
    assert.equal(JSON.parse(one.body.toString()).url, '/api/one');
    assert.deepEqual(JSON.parse(two.body.toString()), { method: 'POST', url: '/api/two', body: 'abc' });
    // From here on Node's parser owns the connection, and it rejects BITS_POST: a BITS client
    // opens a new connection (documented limitation; Windows clients never mix them).
    const rejected = await c.request(bitsPost('/uploads/k.txt', { 'BITS-Packet-Type': 'Ping' }));
    assert.equal(rejected.status, 400);
    assert.ok(!rejected.has('BITS-Packet-Type'));
    c.destroy();
    const fresh = await RawClient.connect(port);
    assertOk(await packet(fresh, '/uploads/k.txt', 'Ping'));
    fresh.destroy();
  });

  test('mounted on an https.Server (attach takes over secureConnection)', async () => {
    const cert = path.join(base, 'c.pem');
    const key = path.join(base, 'k.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    const tlsRoot = path.join(base, 'tls-root');
    await fs.mkdir(tlsRoot);
    const server = https.createServer({ cert: await fs.readFile(cert), key: await fs.readFile(key) }, appHandler([]));
    const h = await createBitsUploadHandler({ root: tlsRoot, urlPrefix: '/bits/', clock: new TestClock() });
    h.attach(server);
    const p = await listen(server);
    try {
      const ca = await fs.readFile(cert, 'utf8');
      const c = await RawClient.connect(p, { tls: true, ca });
      await uploadWhole(c, '/bits/s.bin', payload(1000, 1), 300);
      c.destroy();
      assert.equal((await fs.readFile(path.join(tlsRoot, 's.bin'))).length, 1000);
      const res = await new Promise<string>((resolve, reject) => {
        https
          .get(`https://127.0.0.1:${p}/api/x`, { ca, servername: 'localhost' }, (r) => {
            let body = '';
            r.on('data', (d) => {
              body += d;
            });
            r.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      assert.equal(JSON.parse(res).url, '/api/x');
    } finally {
      h.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
