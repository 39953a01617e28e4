// Checklist §14.1 #29: the request sequences captured in [MC-BUP] §4.1 and §4.2 (re-typed in
// bits-upload-protocol.md §7), sent byte for byte over a raw TCP socket — only the session id,
// which the server chooses, is substituted — and the Acks checked header by header.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startBackEnd } from './helpers/back-end.ts';
import { payload, removeFixture, startFixture } from './helpers/fixture.ts';
import { RawClient, type RawResponse } from './helpers/raw-client.ts';

const GUID = '{7df0354d-249b-430f-820d-3d2a9bef4931}';

function wire(lines: string[], body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** The BITS headers of a response, in order, as name → value (Date/Server/Pragma left out). */
function bitsHeaders(res: RawResponse): Array<readonly [string, string]> {
  return res.rawHeaders.filter(([k]) => !['date', 'server', 'pragma'].includes(k.toLowerCase()));
}

describe('replay of the [MC-BUP] §4 captures', () => {
  test('#29 §4.1 plain upload: Create-Session, Fragment, Ping, Close-Session', async () => {
    const f = await startFixture({ urlPrefix: '/upload/' });
    try {
      const c = await RawClient.connect(f.port);
      const create = await c.request(
        wire([
          'BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1',
          'Accept: */*',
          'BITS-Packet-Type: Create-Session',
          `BITS-Supported-Protocols: ${GUID}`,
          'Content-Name: rfc2119.txt',
          'User-Agent: Microsoft BITS/6.7',
          'Host: frankcao8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(create.statusLine, 'HTTP/1.1 200 OK');
      const id = create.get('BITS-Session-Id') ?? '';
      assert.deepEqual(bitsHeaders(create), [
        ['BITS-Packet-Type', 'Ack'],
        ['BITS-Protocol', GUID],
        ['BITS-Session-Id', id],
        ['Accept-Encoding', 'identity'],
        // Ours, not in the capture: the fragment limit our client grows its fragments to.
        ['X-Bits-Max-Fragment-Size', String(256 * 1024 * 1024)],
        ['Content-Length', '0'],
      ]);
      assert.equal(create.get('Pragma'), 'no-cache');

      const data = payload(4892, 41);
      const frag = await c.request(
        wire(
          [
            'BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1',
            'Accept: */*',
            'BITS-Packet-Type: Fragment',
            `BITS-Session-Id: ${id}`,
            'Content-Name: rfc2119.txt',
            'Content-Range: bytes 0-4891/4892',
            'User-Agent: Microsoft BITS/6.7',
            'Host: frankcao8',
            'Content-Length: 4892',
            'Connection: Keep-Alive',
          ],
          data,
        ),
      );
      assert.equal(frag.statusLine, 'HTTP/1.1 200 OK');
      // IIS omitted BITS-Session-Id here; the spec says MUST, so we send it (§10).
      assert.deepEqual(bitsHeaders(frag), [
        ['BITS-Packet-Type', 'Ack'],
        ['BITS-Session-Id', id],
        ['BITS-Received-Content-Range', '4892'],
        ['Content-Length', '0'],
      ]);

      const ping = await c.request(
        wire([
          'BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1',
          'Accept: */*',
          'BITS-Packet-Type: Ping',
          'User-Agent: Microsoft BITS/6.7',
          'Host: frankcao8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(ping.statusLine, 'HTTP/1.1 200 OK');
      assert.deepEqual(bitsHeaders(ping), [
        ['BITS-Packet-Type', 'Ack'],
        ['X-Bits-Max-Fragment-Size', String(256 * 1024 * 1024)],
        ['Content-Length', '0'],
      ]);

      const close = await c.request(
        wire([
          'BITS_POST /upload/2000mb-rfc2119.txt HTTP/1.1',
          'Accept: */*',
          'BITS-Packet-Type: Close-Session',
          `BITS-Session-Id: ${id}`,
          'Content-Name: rfc2119.txt',
          'User-Agent: Microsoft BITS/6.7',
          'Host: frankcao8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(close.statusLine, 'HTTP/1.1 200 OK');
      assert.deepEqual(bitsHeaders(close), [
        ['BITS-Packet-Type', 'Ack'],
        ['BITS-Session-Id', id],
        ['Content-Length', '0'],
      ]);
      assert.equal(close.get('Pragma'), 'no-cache');
      assert.deepEqual(await fs.readFile(path.join(f.root, '2000mb-rfc2119.txt')), data);
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });

  test('#29 §4.2 upload-reply with BITS-Host-Id and a by-reference notification', async () => {
    const reply = payload(10_240, 42);
    const app = await startBackEnd(async (n, res) => {
      await fs.writeFile(String(n.headers['bits-response-datafile-name']), reply);
      res.writeHead(200, { Connection: 'close', 'Content-type': 'text/html' });
      res.end();
    });
    const f = await startFixture({
      urlPrefix: '/upload-ref-isapi-WebFarm/',
      hostId: 'FRANKCAO8',
      hostIdFallbackTimeoutS: 110,
      notificationType: 'by-reference',
      notificationUrl: `${app.url}/bitsasp/test.REPLY`,
    });
    try {
      const c = await RawClient.connect(f.port);
      const url = '/upload-ref-isapi-WebFarm/2100mb-rfc2119.txt';
      const create = await c.request(
        wire([
          `BITS_POST ${url} HTTP/1.1`,
          'Accept: */*',
          'BITS-Packet-Type: Create-Session',
          `BITS-Supported-Protocols: ${GUID}`,
          'User-Agent: Microsoft BITS/6.7',
          'Host: frankcao8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(create.statusLine, 'HTTP/1.1 200 OK');
      const id = create.get('BITS-Session-Id') ?? '';
      assert.deepEqual(bitsHeaders(create), [
        ['BITS-Packet-Type', 'Ack'],
        ['BITS-Protocol', GUID],
        ['BITS-Session-Id', id],
        ['Accept-Encoding', 'identity'],
        // Ours, not in the capture: the fragment limit our client grows its fragments to.
        ['X-Bits-Max-Fragment-Size', String(256 * 1024 * 1024)],
        ['BITS-Host-Id', 'FRANKCAO8'],
        ['BITS-Host-Id-Fallback-Timeout', '110'],
        ['Content-Length', '0'],
      ]);

      const ping = await c.request(
        wire([
          `BITS_POST ${url} HTTP/1.1`,
          'Accept: */*',
          'BITS-Packet-Type: Ping',
          'User-Agent: Microsoft BITS/6.7',
          'Host: FRANKCAO8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(ping.statusLine, 'HTTP/1.1 200 OK');

      const frag = await c.request(
        wire(
          [
            `BITS_POST ${url} HTTP/1.1`,
            'Accept: */*',
            'BITS-Packet-Type: Fragment',
            `BITS-Session-Id: ${id}`,
            'Content-Name: rfc2119.txt',
            'Content-Range: bytes 0-4891/4892',
            'User-Agent: Microsoft BITS/6.7',
            'Host: FRANKCAO8',
            'Content-Length: 4892',
            'Connection: Keep-Alive',
          ],
          payload(4892, 43),
        ),
      );
      assert.equal(frag.statusLine, 'HTTP/1.1 200 OK');
      const replyPath = `/upload-ref-isapi-WebFarm/BITS-Sessions/Replies/${encodeURIComponent(id)}/responsefile.bin`;
      assert.deepEqual(bitsHeaders(frag), [
        ['BITS-Packet-Type', 'Ack'],
        ['BITS-Session-Id', id],
        ['BITS-Received-Content-Range', '4892'],
        // Relative, as IIS sends it (without --public-origin we never build one from Host).
        ['BITS-Reply-URL', replyPath],
        ['Content-Length', '0'],
      ]);
      const n = app.received[0];
      assert.ok(n);
      assert.equal(n.method, 'POST');
      assert.equal(n.url, '/bitsasp/test.REPLY');
      assert.equal(n.headers['bits-original-request-url'], `http://frankcao8${url}`);
      assert.match(String(n.headers['bits-request-datafile-name']), /Requests\/\{[0-9A-F-]{36}\}\/requestfile\.bin$/);
      assert.match(String(n.headers['bits-response-datafile-name']), /Replies\/\{[0-9A-F-]{36}\}\/responsefile\.bin$/);
      assert.equal(n.headers['content-length'], '0');

      // The client downloads the reply from the origin host, braces percent-encoded.
      const get = await c.request(
        wire([
          `GET ${replyPath} HTTP/1.1`,
          'Accept: */*',
          'Accept-Encoding: identity',
          'Range: bytes=0-9976',
          'User-Agent: Microsoft BITS/6.7',
          'Host: frankcao8',
        ]),
      );
      assert.equal(get.statusLine, 'HTTP/1.1 206 Partial Content');
      assert.equal(get.get('Content-Range'), 'bytes 0-9976/10240');
      assert.equal(get.get('Content-Length'), '9977');
      assert.equal(get.get('Accept-Ranges'), 'bytes');
      assert.equal(get.get('Content-Type'), 'application/octet-stream');
      assert.ok(get.has('Last-Modified') && get.has('ETag'));
      assert.deepEqual(get.body, reply.subarray(0, 9977));

      const close = await c.request(
        wire([
          `BITS_POST ${url} HTTP/1.1`,
          'Accept: */*',
          'BITS-Packet-Type: Close-Session',
          `BITS-Session-Id: ${id}`,
          'User-Agent: Microsoft BITS/6.7',
          'Host: FRANKCAO8',
          'Content-Length: 0',
          'Connection: Keep-Alive',
        ]),
      );
      assert.equal(close.statusLine, 'HTTP/1.1 200 OK');
      assert.equal(close.get('BITS-Packet-Type'), 'Ack');
      await assert.rejects(fs.stat(path.join(f.root, 'BITS-Sessions', 'Replies', id)), { code: 'ENOENT' });
      await assert.rejects(fs.stat(path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin')));
      // By reference without BITS-Copy-File-To-Destination: the upload went to the app only.
      await assert.rejects(fs.stat(path.join(f.root, '2100mb-rfc2119.txt')), { code: 'ENOENT' });
      c.destroy();
    } finally {
      await removeFixture(f);
      await app.close();
    }
  });
});
