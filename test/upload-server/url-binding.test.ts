// Issue 12 items 2 and 6: which URLs the server trusts. Notification and reply URLs never come
// from the request's Host header (SSRF); a session is tied to its URL; the Acks a Windows client
// needs on a back-end 403, an oversize fragment and a lower-case verb.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BITS_PROTOCOL_GUID as GUID } from '../../src/core/upload-protocol.ts';
import { assertBitsError, assertOk, BG_E_SESSION_NOT_FOUND, E_INVALIDARG } from './helpers/assertions.ts';
import { startBackEnd } from './helpers/back-end.ts';
import { createSession, fragment, packet, payload, removeFixture, startFixture } from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';

describe('URLs the upload server trusts (issue 12)', () => {
  test('regression: a relative --notify-url resolved against the Host header let a client pick the POST target (SSRF)', async () => {
    const app = await startBackEnd((_n, res) => res.end('app'));
    const evil = await startBackEnd((_n, res) => res.end('evil'));
    const f = await startFixture({
      notificationType: 'by-value',
      notificationUrl: '/app/notify',
      publicOrigin: app.url,
    });
    try {
      const c = await RawClient.connect(f.port);
      const host = `127.0.0.1:${evil.port}`;
      const send = (headers: Record<string, string>, body?: Buffer) =>
        c.request(bitsPost('/in/doc.bin?k=1', headers, body, { host }));
      await fs.mkdir(path.join(f.root, 'in'));
      const created = await send({ 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': GUID });
      assertOk(created);
      const id = created.get('BITS-Session-Id') ?? '';
      const data = payload(500, 2);
      const last = await send(
        { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': `bytes 0-499/500` },
        data,
      );
      assertOk(last);
      assert.equal(evil.received.length, 0, 'nothing was posted to the address in the Host header');
      assert.equal(app.received.length, 1);
      assert.equal(app.received[0]?.url, '/app/notify?k=1');
      assert.equal(app.received[0]?.headers['bits-original-request-url'], `${app.url}/in/doc.bin?k=1`);
      // The reply URL is absolute on the public origin, not on the client's Host either.
      assert.equal(
        last.get('BITS-Reply-URL'),
        `${app.url}/BITS-Sessions/Replies/${encodeURIComponent(id)}/responsefile.bin`,
      );
      c.destroy();
    } finally {
      await removeFixture(f);
      await app.close();
      await evil.close();
    }
  });

  test('a relative notification URL without a public origin is refused at start; reply URLs are then relative', async () => {
    await assert.rejects(
      startFixture({ notificationType: 'by-reference', notificationUrl: 'notify.asp' }),
      /relative notification URL needs publicOrigin/,
    );
    await assert.rejects(startFixture({ publicOrigin: 'http://h.example/path' }), /origin only/);
    const app = await startBackEnd((_n, res) => res.end('r'));
    const f = await startFixture({ notificationType: 'by-value', notificationUrl: app.url });
    try {
      const c = await RawClient.connect(f.port);
      const { id } = await createSession(c, '/r.bin');
      const ack = await c.request(
        bitsPost(
          '/r.bin',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 0-9/10' },
          payload(10),
          { host: 'attacker.example' },
        ),
      );
      assertOk(ack);
      assert.equal(ack.get('BITS-Reply-URL'), `/BITS-Sessions/Replies/${encodeURIComponent(id)}/responsefile.bin`);
      c.destroy();
    } finally {
      await removeFixture(f);
      await app.close();
    }
  });

  test('regression: Fragment and Close-Session sent to another URL were accepted; now BG_E_SESSION_NOT_FOUND', async () => {
    const f = await startFixture();
    try {
      const c = await RawClient.connect(f.port);
      const { id } = await createSession(c, '/mine.txt');
      const data = payload(100, 6);
      assertBitsError(await fragment(c, '/other.txt', id, 0, data, 100), 500, BG_E_SESSION_NOT_FOUND);
      assertBitsError(await fragment(c, '/mine.txt/x', id, 0, data, 100), 500, BG_E_SESSION_NOT_FOUND);
      assertOk(await fragment(c, '/mine.txt', id, 0, data, 100));
      assertBitsError(await packet(c, '/other.txt', 'Close-Session', id), 500, BG_E_SESSION_NOT_FOUND);
      assertBitsError(await packet(c, '/other.txt', 'Cancel-Session', id), 500, BG_E_SESSION_NOT_FOUND);
      // The session is untouched at its own URL, and commits only there.
      assertOk(await packet(c, '/mine.txt', 'Close-Session', id));
      assert.deepEqual(await fs.readFile(path.join(f.root, 'mine.txt')), data);
      await assert.rejects(fs.stat(path.join(f.root, 'other.txt')), { code: 'ENOENT' });
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });

  test('regression: a 403 from the back-end application lacked BITS-Received-Content-Range on the final Ack', async () => {
    const app = await startBackEnd((_n, res) => {
      res.statusCode = 403;
      res.end('no');
    });
    const f = await startFixture({ notificationType: 'by-value', notificationUrl: app.url });
    try {
      const c = await RawClient.connect(f.port);
      const { id } = await createSession(c, '/d.bin');
      const res = await fragment(c, '/d.bin', id, 0, payload(300), 300);
      assertBitsError(res, 403, '0x80190193', '0x7');
      assert.equal(res.get('BITS-Received-Content-Range'), '300');
      c.destroy();
    } finally {
      await removeFixture(f);
      await app.close();
    }
  });

  test('regression: lower-case bits_post got a plain 400; now an Ack 400 + E_INVALIDARG, context 0x5', async () => {
    const f = await startFixture();
    try {
      const c = await RawClient.connect(f.port);
      for (const verb of ['bits_post', 'Bits_Post']) {
        const res = await c.request(
          `${verb} /x.txt HTTP/1.1\r\nHost: h\r\nBITS-Packet-Type: Ping\r\nContent-Length: 0\r\n\r\n`,
        );
        assertBitsError(res, 400, E_INVALIDARG);
      }
      // The connection stays usable, and the real verb still works.
      assertOk(await packet(c, '/x.txt', 'Ping'));
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });
});
