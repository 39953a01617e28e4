// HTTP/1.1 details of our own request handling: keep-alive and pipelining, Connection: close,
// Expect: 100-continue, and two connections racing on one session.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { BITS_PROTOCOL_GUID, formatContentRange, parseAck } from '../../src/core/upload-protocol.ts';
import { assertBitsError, assertOk, BG_E_SESSION_NOT_FOUND } from './helpers/assertions.ts';
import {
  createSession,
  type Fixture,
  fragment,
  packet,
  payload,
  removeFixture,
  startFixture,
} from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(async () => {
  await removeFixture(f);
});

describe('HTTP handling', () => {
  test('pipelined packets on one keep-alive connection are answered in order', async () => {
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/pipe.bin');
    const data = payload(3000, 2);
    await c.write(
      Buffer.concat([
        bitsPost(
          '/pipe.bin',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 0-999/3000' },
          data.subarray(0, 1000),
        ),
        bitsPost('/pipe.bin', { 'BITS-Packet-Type': 'Ping' }),
        bitsPost(
          '/pipe.bin',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 1000-2999/3000' },
          data.subarray(1000),
        ),
        bitsPost('/pipe.bin', { 'BITS-Packet-Type': 'Close-Session', 'BITS-Session-Id': id }),
      ]),
    );
    const answers = [await c.read(), await c.read(), await c.read(), await c.read()];
    for (const a of answers) assertOk(a);
    assert.equal(answers[0]?.get('BITS-Received-Content-Range'), '1000');
    assert.equal(answers[2]?.get('BITS-Received-Content-Range'), '3000');
    assert.deepEqual(await fs.readFile(path.join(f.root, 'pipe.bin')), data);
    c.destroy();
  });

  test('Connection: close and HTTP/1.0 end the connection after the answer', async () => {
    const c = await RawClient.connect(f.port);
    const res = await c.request(bitsPost('/c.txt', { 'BITS-Packet-Type': 'Ping', Connection: 'close' }));
    assertOk(res);
    assert.equal(res.get('Connection'), 'close');
    assert.ok(await c.closed());
    const c10 = await RawClient.connect(f.port);
    const get = await c10.request('GET /nothing HTTP/1.0\r\n\r\n');
    assert.equal(get.status, 404);
    assert.ok(await c10.closed());
    const b10 = await RawClient.connect(f.port);
    const bits10 = await b10.request('BITS_POST /x HTTP/1.0\r\nBITS-Packet-Type: Ping\r\nContent-Length: 0\r\n\r\n');
    assertBitsError(bits10, 400, '0x80070057');
    b10.destroy();
  });

  test('Expect: 100-continue gets 100 before the body is read, and none when refused early', async () => {
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/expect.bin');
    const data = payload(5000, 3);
    await c.write(
      bitsPost(
        '/expect.bin',
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': id,
          'Content-Range': 'bytes 0-4999/5000',
          Expect: '100-continue',
        },
        Buffer.alloc(0),
        { contentLength: 5000 },
      ),
    );
    const cont = await c.read({ head: true });
    assert.equal(cont.statusLine, 'HTTP/1.1 100 Continue');
    const res = await c.request(data);
    assertOk(res);
    assert.equal(res.get('BITS-Received-Content-Range'), '5000');

    const early = await c.request(
      bitsPost(
        '/expect.bin',
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': '{00000000-0000-0000-0000-000000000000}',
          'Content-Range': 'bytes 0-9/10',
          Expect: '100-continue',
        },
        Buffer.alloc(0),
        { contentLength: 10 },
      ),
    );
    assertBitsError(early, 500, BG_E_SESSION_NOT_FOUND);
    assert.ok(await c.closed(), 'closed rather than waiting for a body that may never come');
  });

  test('a refused body is read and dropped to keep the connection up to 4 MiB; past that the connection closes', {
    timeout: 30_000,
  }, async () => {
    const unknown = '{00000000-0000-0000-0000-000000000000}';
    const refused = (bytes: number, body: Buffer = Buffer.alloc(0)) =>
      bitsPost(
        '/discard.bin',
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': unknown,
          'Content-Range': `bytes 0-${bytes - 1}/${bytes}`,
        },
        body,
        { contentLength: bytes },
      );
    // 4 MiB left unread: dropped, and the next request is answered on the same connection.
    const kept = await RawClient.connect(f.port);
    const small = 4 * 1024 * 1024;
    assertBitsError(await kept.request(refused(small, payload(small, 5))), 500, BG_E_SESSION_NOT_FOUND);
    assertOk(await kept.request(bitsPost('/discard.bin', { 'BITS-Packet-Type': 'Ping' })));
    kept.destroy();
    // One byte more (far below the 256 MiB fragment limit): the answer, then the server closes
    // instead of waiting for a body it would only throw away.
    const dropped = await RawClient.connect(f.port);
    assertBitsError(await dropped.request(refused(small + 1)), 500, BG_E_SESSION_NOT_FOUND);
    assert.ok(await dropped.closed(), 'closed rather than reading 4 MiB + 1 to drop it');
  });

  test('Node clients: node:http speaks BITS_POST fine; undici drops Content-Length: 0 and gets 400 (as from IIS)', async () => {
    const send = (headers: Record<string, string>, body: Buffer = Buffer.alloc(0)) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: f.port,
            method: 'BITS_POST',
            path: '/node.bin',
            headers: { 'Content-Length': String(body.length), ...headers },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const created = await send({
      'BITS-Packet-Type': 'Create-Session',
      'BITS-Supported-Protocols': BITS_PROTOCOL_GUID,
    });
    const ack = parseAck(created.headers);
    assert.equal(created.statusCode, 200);
    assert.equal(ack.packetType, 'Ack');
    assert.equal(ack.protocol, BITS_PROTOCOL_GUID);
    const data = payload(10_000, 11);
    const range = formatContentRange({ start: 0, end: data.length - 1, total: data.length });
    const frag = await send(
      { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': ack.sessionId ?? '', 'Content-Range': range },
      data,
    );
    assert.equal(parseAck(frag.headers).receivedContentRange, data.length);
    const gone = await send({
      'BITS-Packet-Type': 'Close-Session',
      'BITS-Session-Id': '{00000000-0000-0000-0000-000000000000}',
    });
    assert.equal(gone.statusCode, 500);
    assert.equal(parseAck(gone.headers).errorCode, 0x8020001f);
    assert.equal(parseAck(gone.headers).errorContext, 5);
    // undici 8 never sends `Content-Length: 0` for a body-less custom method, even when given
    // explicitly; IIS (and this server) require it on every packet: the upload client must use
    // node:http (or always send a body) for its BITS_POST packets.
    const viaUndici = await request(`http://127.0.0.1:${f.port}/node.bin`, {
      method: 'BITS_POST',
      headers: { 'BITS-Packet-Type': 'Ping', 'Content-Length': '0' },
    });
    await viaUndici.body.dump();
    assert.equal(viaUndici.statusCode, 400);
    assert.equal(parseAck(viaUndici.headers).errorCode, 0x80070057);
  });

  test('two connections racing on one session are serialised; data stays exact', async () => {
    const data = payload(400_000, 4);
    const a = await RawClient.connect(f.port);
    const b = await RawClient.connect(f.port);
    const { id } = await createSession(a, '/race.bin');
    // A sends a fragment head and half its body, then stalls; B sends the same range whole.
    const fragmentHead = bitsPost(
      '/race.bin',
      { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 0-199999/400000' },
      Buffer.alloc(0),
      { contentLength: 200_000 },
    );
    await a.write(Buffer.concat([fragmentHead, data.subarray(0, 100_000)]));
    const bDone = fragment(b, '/race.bin', id, 0, data.subarray(0, 200_000), data.length);
    await new Promise((r) => setImmediate(r));
    // A dies mid-body: its partial bytes are never recorded; B then writes the range itself.
    a.destroy();
    const bRes = await bDone;
    assertOk(bRes);
    assert.equal(bRes.get('BITS-Received-Content-Range'), '200000');
    assertOk(await fragment(b, '/race.bin', id, 200_000, data.subarray(200_000), data.length));
    assertOk(await packet(b, '/race.bin', 'Close-Session', id));
    assert.deepEqual(await fs.readFile(path.join(f.root, 'race.bin')), data);
    b.destroy();
  });
});
