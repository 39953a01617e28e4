// Server checklist of bits-upload-protocol.md §14.1, items 1–15: wire format, packets, fragments.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BITS_PROTOCOL_GUID } from '../../src/core/upload-protocol.ts';
import { assertAck, assertBitsError, assertOk, BG_E_SESSION_NOT_FOUND, E_INVALIDARG } from './helpers/assertions.ts';
import { startBackEnd } from './helpers/back-end.ts';
import {
  createSession,
  type Fixture,
  fragment,
  packet,
  payload,
  removeFixture,
  sha256,
  sha256File,
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

async function dataFileSize(id: string): Promise<number> {
  return (await fs.stat(path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin'))).size;
}

describe('server checklist §14.1 (wire, packets, fragments)', () => {
  test('#1 BITS_POST is accepted on a raw socket; other methods get a non-BITS answer; GET/HEAD of replies work', async () => {
    const c = await RawClient.connect(f.port);
    assertOk(await packet(c, '/x.txt', 'Ping'));
    for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const res = await c.request(`${method} /x.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`);
      assert.equal(res.status, 405, method);
      assert.ok(!res.has('BITS-Packet-Type'), 'not an Ack');
      assert.equal(res.get('Allow'), 'BITS_POST, GET, HEAD');
    }
    c.destroy();

    const app = await startBackEnd((_n, res) => res.end('reply-bytes'));
    const g = await startFixture({ notificationType: 'by-value', notificationUrl: `${app.url}/app` });
    try {
      const c2 = await RawClient.connect(g.port);
      const { id } = await createSession(c2, '/r.bin');
      const ack = await fragment(c2, '/r.bin', id, 0, payload(100), 100);
      assertOk(ack);
      const replyPath = new URL(ack.get('BITS-Reply-URL') ?? '', 'http://x').pathname;
      const head = await c2.request(`HEAD ${replyPath} HTTP/1.1\r\nHost: h\r\n\r\n`, { head: true });
      assert.equal(head.status, 200);
      assert.equal(head.get('Content-Length'), '11');
      const get = await c2.request(`GET ${replyPath} HTTP/1.1\r\nHost: h\r\n\r\n`);
      assert.equal(get.status, 200);
      assert.equal(get.body.toString(), 'reply-bytes');
      c2.destroy();
    } finally {
      await removeFixture(g);
      await app.close();
    }
  });

  test('#2 packet-type matching is case-insensitive', async () => {
    const c = await RawClient.connect(f.port);
    for (const type of ['Create-Session', 'CREATE-SESSION', 'create-session']) {
      const res = await c.request(
        bitsPost('/case.txt', { 'BITS-Packet-Type': type, 'BITS-Supported-Protocols': BITS_PROTOCOL_GUID }),
      );
      assertOk(res);
      assert.ok(res.has('BITS-Session-Id'), type);
    }
    c.destroy();
  });

  test('#3 Ping without a session → 200, empty Ack; Ping with an unknown session id → still 200', async () => {
    const c = await RawClient.connect(f.port);
    const res = await packet(c, '/p.txt', 'Ping');
    assertOk(res);
    const res2 = await packet(c, '/p.txt', 'Ping', '{00000000-0000-0000-0000-000000000000}');
    assertOk(res2);
    c.destroy();
  });

  test('#4 Create-Session negotiates the GUID in every spelling; no common GUID → 400 + E_INVALIDARG', async () => {
    const c = await RawClient.connect(f.port);
    const other = '{11111111-2222-3333-4444-555555555555}';
    const offers: Array<[string, string]> = [
      [BITS_PROTOCOL_GUID, BITS_PROTOCOL_GUID],
      [BITS_PROTOCOL_GUID.toUpperCase(), BITS_PROTOCOL_GUID.toUpperCase()],
      [`${other} ${BITS_PROTOCOL_GUID}`, BITS_PROTOCOL_GUID],
      [`${other},${BITS_PROTOCOL_GUID}`, BITS_PROTOCOL_GUID],
    ];
    const ids = new Set<string>();
    for (const [offer, echoed] of offers) {
      const res = await c.request(
        bitsPost('/neg.txt', { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': offer }),
      );
      assertOk(res);
      assert.equal(res.get('BITS-Protocol'), echoed);
      assert.equal(res.get('Accept-Encoding'), 'identity');
      const id = res.get('BITS-Session-Id') ?? '';
      assert.match(id, /^\{[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\}$/);
      assert.ok(id.length <= 100);
      ids.add(id);
    }
    assert.equal(ids.size, offers.length, 'session ids are unique');
    const bad = await c.request(
      bitsPost('/neg.txt', { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': other }),
    );
    assertBitsError(bad, 400, E_INVALIDARG);
    assert.ok(!bad.has('BITS-Protocol'));
    assert.ok(!bad.has('BITS-Session-Id'));
    const none = await c.request(bitsPost('/neg.txt', { 'BITS-Packet-Type': 'Create-Session' }));
    assertBitsError(none, 400, E_INVALIDARG);
    c.destroy();
  });

  test('#5 every Ack carries BITS-Packet-Type: Ack and Content-Length: 0 with an empty body', async () => {
    const c = await RawClient.connect(f.port);
    const responses = [await packet(c, '/e.txt', 'Ping')];
    const { res, id } = await createSession(c, '/e.txt');
    responses.push(res);
    responses.push(await fragment(c, '/e.txt', id, 0, payload(10), 20));
    responses.push(await fragment(c, '/e.txt', id, 15, payload(5), 20)); // 416
    responses.push(await fragment(c, '/e.txt', '{00000000-0000-0000-0000-000000000000}', 0, payload(5), 20)); // 500
    responses.push(await packet(c, '/e.txt', 'Bogus-Packet')); // 400
    responses.push(await packet(c, '/e.txt', 'Cancel-Session', id));
    for (const r of responses) assertAck(r, r.status);
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 200, 200, 416, 500, 400, 200],
    );
    c.destroy();
  });

  test('#6 single-fragment upload → R = T; the file is committed only on Close-Session, byte-exact', async () => {
    const c = await RawClient.connect(f.port);
    const data = payload(4892, 6);
    const { id } = await createSession(c, '/single.txt');
    const res = await fragment(c, '/single.txt', id, 0, data, data.length);
    assertOk(res);
    assert.equal(res.get('BITS-Received-Content-Range'), '4892');
    assert.ok(!res.has('BITS-Reply-URL'), 'no reply URL for a plain upload');
    await assert.rejects(fs.stat(path.join(f.root, 'single.txt')), { code: 'ENOENT' });
    assertOk(await packet(c, '/single.txt', 'Close-Session', id));
    assert.deepEqual(await fs.readFile(path.join(f.root, 'single.txt')), data);
    c.destroy();
  });

  test('#7 multi-fragment upload with sizes from 5 KB to 13 MB → the right offset after each Ack', async () => {
    const sizes = [5 * 1024, 13 * 1024 * 1024, 70_001, 1, 2 * 1024 * 1024, 5 * 1024];
    const total = sizes.reduce((a, b) => a + b, 0);
    const data = payload(total, 7);
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/multi.bin');
    let off = 0;
    for (const size of sizes) {
      const res = await fragment(c, '/multi.bin', id, off, data.subarray(off, off + size), total);
      off += size;
      assertOk(res);
      assert.equal(res.get('BITS-Received-Content-Range'), String(off));
    }
    assertOk(await packet(c, '/multi.bin', 'Close-Session', id));
    assert.equal(await sha256File(path.join(f.root, 'multi.bin')), sha256(data));
    c.destroy();
  });

  test('#8 a gap (start > R) → 416 with BITS-Received-Content-Range: R, and nothing is written', async () => {
    const c = await RawClient.connect(f.port);
    const data = payload(1000, 8);
    const { id } = await createSession(c, '/gap.bin');
    assertOk(await fragment(c, '/gap.bin', id, 0, data.subarray(0, 300), 1000));
    const res = await fragment(c, '/gap.bin', id, 500, data.subarray(500), 1000);
    assertAck(res, 416);
    assert.equal(res.get('BITS-Received-Content-Range'), '300');
    assert.equal(await dataFileSize(id), 300);
    // The connection is still usable and the client resumes from R.
    const resumed = await fragment(c, '/gap.bin', id, 300, data.subarray(300), 1000);
    assertOk(resumed);
    assert.equal(resumed.get('BITS-Received-Content-Range'), '1000');
    c.destroy();
  });

  test('#9 partial overlap → only the new bytes are written; a pure duplicate leaves R and the data alone', async () => {
    const c = await RawClient.connect(f.port);
    const data = payload(300, 9);
    const { id } = await createSession(c, '/overlap.bin');
    assertOk(await fragment(c, '/overlap.bin', id, 0, data.subarray(0, 101), 300));
    // [W32] example: 0–100 then 50–150 ⇒ only 101–150 written. Send different bytes for 50–100
    // to prove held bytes are never overwritten.
    const resend = Buffer.concat([Buffer.alloc(51, 0xee), data.subarray(101, 151)]);
    const res = await fragment(c, '/overlap.bin', id, 50, resend, 300);
    assertOk(res);
    assert.equal(res.get('BITS-Received-Content-Range'), '151');
    const dup = await fragment(c, '/overlap.bin', id, 10, Buffer.alloc(40, 0xaa), 300);
    assert.equal(dup.status, 200);
    assert.equal(dup.get('BITS-Received-Content-Range'), '151');
    assertOk(await fragment(c, '/overlap.bin', id, 151, data.subarray(151), 300));
    assertOk(await packet(c, '/overlap.bin', 'Close-Session', id));
    assert.deepEqual(await fs.readFile(path.join(f.root, 'overlap.bin')), data);
    c.destroy();
  });

  test('#10 Content-Length ≠ range length, malformed Content-Range, changed total, end ≥ total → 400 + E_INVALIDARG', async () => {
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/bad-range.bin');
    assertOk(await fragment(c, '/bad-range.bin', id, 0, payload(10), 100));
    const send = (range: string, body: Buffer) =>
      c.request(
        bitsPost(
          '/bad-range.bin',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': range },
          body,
        ),
      );
    assertBitsError(await send('bytes 10-29/100', payload(10)), 400, E_INVALIDARG);
    assertBitsError(await send('bytes=10-19/100', payload(10)), 400, E_INVALIDARG);
    assertBitsError(await send('bytes 10-19', payload(10)), 400, E_INVALIDARG);
    assertBitsError(await send('bytes 10-19/200', payload(10)), 400, E_INVALIDARG);
    assertBitsError(await send('bytes 10-100/100', payload(91)), 400, E_INVALIDARG);
    assertBitsError(
      await c.request(
        bitsPost('/bad-range.bin', { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id }, payload(5)),
      ),
      400,
      E_INVALIDARG,
    );
    const ok = await send('bytes 10-99/100', payload(90));
    assertOk(ok);
    assert.equal(ok.get('BITS-Received-Content-Range'), '100');
    c.destroy();
  });

  test('#11 missing Content-Length → 400 + E_INVALIDARG, and the connection closes', async () => {
    const c = await RawClient.connect(f.port);
    const res = await c.request(
      bitsPost('/nocl.txt', { 'BITS-Packet-Type': 'Ping' }, Buffer.alloc(0), { contentLength: null }),
    );
    assertBitsError(res, 400, E_INVALIDARG);
    assert.equal(res.get('Connection'), 'close');
    assert.ok(await c.closed());
  });

  test('#12 a header value over 4 KB → 400 + E_INVALIDARG', async () => {
    const c = await RawClient.connect(f.port);
    const res = await c.request(bitsPost('/big.txt', { 'BITS-Packet-Type': 'Ping', 'X-Big': 'a'.repeat(4097) }));
    assertBitsError(res, 400, E_INVALIDARG);
    assertOk(await c.request(bitsPost('/big.txt', { 'BITS-Packet-Type': 'Ping', 'X-Big': 'a'.repeat(4096) })));
    c.destroy();
  });

  test('#13 an unknown session id on Fragment/Close/Cancel → 500 + BG_E_SESSION_NOT_FOUND + 0x5', async () => {
    const c = await RawClient.connect(f.port);
    for (const id of ['{A0FF5911-4144-45B3-BF27-27AFC8EC8A67}', 'not-a-guid', '../../etc/passwd']) {
      assertBitsError(await fragment(c, '/u.txt', id, 0, payload(10), 10), 500, BG_E_SESSION_NOT_FOUND);
      assertBitsError(await packet(c, '/u.txt', 'Close-Session', id), 500, BG_E_SESSION_NOT_FOUND);
      assertBitsError(await packet(c, '/u.txt', 'Cancel-Session', id), 500, BG_E_SESSION_NOT_FOUND);
    }
    assertBitsError(await packet(c, '/u.txt', 'Fragment'), 500, BG_E_SESSION_NOT_FOUND);
    c.destroy();
  });

  test('#14 a session survives its TCP connection: resume on a new connection with Ping + Fragment', async () => {
    const data = payload(20_000, 14);
    const c1 = await RawClient.connect(f.port);
    const { id } = await createSession(c1, '/resume.bin');
    assertOk(await fragment(c1, '/resume.bin', id, 0, data.subarray(0, 8000), data.length));
    c1.destroy();
    const c2 = await RawClient.connect(f.port);
    assertOk(await packet(c2, '/resume.bin', 'Ping'));
    // The client lost the last Ack and resends from 0: the server answers with its R.
    const res = await fragment(c2, '/resume.bin', id, 0, data.subarray(0, 12_000), data.length);
    assert.equal(res.get('BITS-Received-Content-Range'), '12000');
    assertOk(await fragment(c2, '/resume.bin', id, 12_000, data.subarray(12_000), data.length));
    assertOk(await packet(c2, '/resume.bin', 'Close-Session', id));
    assert.deepEqual(await fs.readFile(path.join(f.root, 'resume.bin')), data);
    c2.destroy();
  });

  test('#15 server restart mid-upload: the persisted session resumes', async () => {
    const g = await startFixture();
    const data = payload(50_000, 15);
    let c = await RawClient.connect(g.port);
    const { id } = await createSession(c, '/restart.bin');
    assertOk(await fragment(c, '/restart.bin', id, 0, data.subarray(0, 30_000), data.length));
    c.destroy();
    await g.close();
    const h = await startFixture({}, { base: g.base, clock: g.clock });
    try {
      c = await RawClient.connect(h.port);
      assertOk(await packet(c, '/restart.bin', 'Ping'));
      const res = await fragment(c, '/restart.bin', id, 30_000, data.subarray(30_000), data.length);
      assertOk(res);
      assert.equal(res.get('BITS-Received-Content-Range'), '50000');
      assertOk(await packet(c, '/restart.bin', 'Close-Session', id));
      assert.equal(await sha256File(path.join(h.root, 'restart.bin')), sha256(data));
      c.destroy();
    } finally {
      await removeFixture(h);
    }
  });
});
