// Server checklist of bits-upload-protocol.md §14.1, items 25–28 and 30: notification, replies,
// download serving. (Item 29, the replay of the spec's exchanges, is in replay.test.ts.)
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { notificationTarget } from '../../src/upload-server/notify.ts';
import { assertAck, assertBitsError, assertOk } from './helpers/assertions.ts';
import { type BackEndReply, startBackEnd } from './helpers/back-end.ts';
import {
  createSession,
  type Fixture,
  fragment,
  packet,
  payload,
  removeFixture,
  startFixture,
  uploadWhole,
} from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';

type BackEnd = Awaited<ReturnType<typeof startBackEnd>>;

async function withApp(
  reply: BackEndReply,
  options: (app: BackEnd) => Parameters<typeof startFixture>[0],
  fn: (f: Fixture, c: RawClient, app: BackEnd) => Promise<void>,
): Promise<void> {
  const app = await startBackEnd(reply);
  const f = await startFixture(options(app));
  const c = await RawClient.connect(f.port);
  try {
    await fn(f, c, app);
  } finally {
    c.destroy();
    await removeFixture(f);
    await app.close();
  }
}

function get(c: RawClient, url: string, headers: Record<string, string> = {}, method = 'GET') {
  let req = `${method} ${new URL(url, 'http://x').pathname} HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\n`;
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  return c.request(`${req}\r\n`, { head: method === 'HEAD' });
}

describe('server checklist §14.1 (notification and replies)', () => {
  test('#25 notification by reference and by value: headers, query string appended, relative URL resolved', async () => {
    assert.equal(
      notificationTarget('myasp.asp', 'http://myserver/myvdir/file.txt').href,
      'http://myserver/myvdir/myasp.asp',
    );
    assert.equal(
      notificationTarget('http://otherserver/myvdir2/bag.asp', 'http://h/myvdir/file.asp?ACCOUNT=86433').href,
      'http://otherserver/myvdir2/bag.asp?ACCOUNT=86433',
    );
    assert.equal(notificationTarget('/n?a=1', 'http://h/d/f?b=2').href, 'http://h/n?a=1&b=2');

    const data = payload(3000, 25);
    await withApp(
      async (n, res) => {
        // By reference the app reads the upload from the path it is given.
        const uploaded = await fs.readFile(String(n.headers['bits-request-datafile-name']));
        res.end(uploaded.equals(data) ? 'read-ok' : 'mismatch');
      },
      (app) => ({ notificationType: 'by-reference', notificationUrl: `${app.url}/notify` }),
      async (f, c, app) => {
        const url = '/sub/ref.bin?ACCOUNT=86433';
        await fs.mkdir(path.join(f.root, 'sub'));
        const { id } = await createSession(c, url);
        assertOk(await fragment(c, url, id, 0, data.subarray(0, 1000), data.length));
        assert.equal(app.received.length, 0, 'no notification before the last byte');
        assertOk(await fragment(c, url, id, 1000, data.subarray(1000), data.length));
        assert.equal(app.received.length, 1);
        const n = app.received[0];
        assert.ok(n);
        assert.equal(n.method, 'POST');
        assert.equal(n.url, '/notify?ACCOUNT=86433');
        assert.equal(n.headers['bits-original-request-url'], `http://127.0.0.1${url}`);
        assert.equal(
          n.headers['bits-request-datafile-name'],
          path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin'),
        );
        assert.equal(
          n.headers['bits-response-datafile-name'],
          path.join(f.root, 'BITS-Sessions', 'Replies', id, 'responsefile.bin'),
        );
        assert.equal(n.headers['content-length'], '0');
        assert.equal(n.body.length, 0);
        assert.equal(n.headers['bits-packet-type'], undefined, 'no BITS-Packet-Type on notifications');
      },
    );
    await withApp(
      (_n, res) => res.end('by-value-reply'),
      (app) => ({ notificationType: 'by-value', notificationUrl: `${app.url}/notify` }),
      async (_f, c, app) => {
        await uploadWhole(c, '/val.bin', data, 1000);
        const n = app.received[0];
        assert.ok(n);
        assert.equal(n.headers['content-length'], String(data.length));
        assert.deepEqual(n.body, data);
        assert.equal(n.headers['bits-request-datafile-name'], undefined);
      },
    );
  });

  test('#26 app replies: by value, by reference, BITS-Static-Response-URL, BITS-Copy-File-To-Destination', async () => {
    const data = payload(500, 26);
    // By value with Copy-File-To-Destination: reply = body, and the upload is also kept.
    await withApp(
      (_n, res) => {
        res.setHeader('BITS-Copy-File-To-Destination', 'yes');
        res.end('value-reply');
      },
      (app) => ({ notificationType: 'by-value', notificationUrl: app.url }),
      async (f, c) => {
        const { id } = await createSession(c, '/copy.bin');
        const ack = await fragment(c, '/copy.bin', id, 0, data, data.length);
        const reply = await get(c, ack.get('BITS-Reply-URL') ?? '');
        assert.equal(reply.body.toString(), 'value-reply');
        assertOk(await packet(c, '/copy.bin', 'Close-Session', id));
        assert.deepEqual(await fs.readFile(path.join(f.root, 'copy.bin')), data);
      },
    );
    // By reference without Copy-File-To-Destination: reply = what the app wrote; upload not kept.
    await withApp(
      async (n, res) => {
        await fs.writeFile(String(n.headers['bits-response-datafile-name']), 'written-by-app');
        res.end();
      },
      (app) => ({ notificationType: 'by-reference', notificationUrl: app.url }),
      async (f, c) => {
        const { id } = await createSession(c, '/ref.bin');
        const ack = await fragment(c, '/ref.bin', id, 0, data, data.length);
        assert.equal((await get(c, ack.get('BITS-Reply-URL') ?? '')).body.toString(), 'written-by-app');
        assertOk(await packet(c, '/ref.bin', 'Close-Session', id));
        await assert.rejects(fs.stat(path.join(f.root, 'ref.bin')), { code: 'ENOENT' });
      },
    );
    // Static response URL: used verbatim; nothing of ours to delete.
    await withApp(
      (_n, res) => {
        res.setHeader('BITS-Static-Response-URL', 'http://static.example/replies/42.txt');
        res.end();
      },
      (app) => ({ notificationType: 'by-reference', notificationUrl: app.url }),
      async (_f, c) => {
        const { id } = await createSession(c, '/static.bin');
        const ack = await fragment(c, '/static.bin', id, 0, data, data.length);
        assert.equal(ack.get('BITS-Reply-URL'), 'http://static.example/replies/42.txt');
        assertOk(await packet(c, '/static.bin', 'Close-Session', id));
      },
    );
  });

  test('#27 app errors carry the app status and context 0x7; timeout → 408; a retried final fragment re-notifies', async () => {
    let fail = true;
    await withApp(
      (_n, res) => {
        if (fail) {
          res.statusCode = 503;
          res.end('busy');
        } else res.end('second-time');
      },
      (app) => ({ notificationType: 'by-value', notificationUrl: app.url }),
      async (_f, c, app) => {
        const data = payload(100, 27);
        const { id } = await createSession(c, '/err.bin');
        const first = await fragment(c, '/err.bin', id, 0, data, data.length);
        assertBitsError(first, 503, '0x801901F7', '0x7');
        assert.ok(!first.has('BITS-Reply-URL'));
        fail = false;
        const retry = await fragment(c, '/err.bin', id, 0, data, data.length);
        assertOk(retry);
        assert.equal(retry.get('BITS-Received-Content-Range'), '100');
        assert.equal(app.received.length, 2, 're-notified');
        const again = await fragment(c, '/err.bin', id, 0, data, data.length);
        assert.equal(again.get('BITS-Reply-URL'), retry.get('BITS-Reply-URL'), 'cached result reused');
        assert.equal(app.received.length, 2, 'not notified a third time');
        assert.equal((await get(c, retry.get('BITS-Reply-URL') ?? '')).body.toString(), 'second-time');
      },
    );
    await withApp(
      () => {
        // never answers
      },
      (app) => ({ notificationType: 'by-value', notificationUrl: app.url, notificationTimeoutS: 300 }),
      async (f, c, app) => {
        const { id } = await createSession(c, '/slow.bin');
        const pending = fragment(c, '/slow.bin', id, 0, payload(10), 10);
        while (app.received.length === 0) await new Promise((r) => setImmediate(r));
        f.clock.advance(300_000);
        assertBitsError(await pending, 408, '0x80190198', '0x7');
      },
    );
    const gone = await startFixture({ notificationType: 'by-value', notificationUrl: 'http://127.0.0.1:1/none' });
    try {
      const c = await RawClient.connect(gone.port);
      const { id } = await createSession(c, '/x.bin');
      const res = await fragment(c, '/x.bin', id, 0, payload(10), 10);
      assertAck(res, 502);
      assert.equal(res.get('BITS-Error-Context'), '0x7');
      c.destroy();
    } finally {
      await removeFixture(gone);
    }
  });

  test('#28 BITS-Reply-URL only on the final Ack in reply mode; reply served with ranges until Close/Cancel', async () => {
    const reply = payload(10_240, 28);
    await withApp(
      (_n, res) => res.end(reply),
      (app) => ({ notificationType: 'by-value', notificationUrl: app.url }),
      async (f, c) => {
        const data = payload(4892, 280);
        const { id } = await createSession(c, '/r.txt');
        const mid = await fragment(c, '/r.txt', id, 0, data.subarray(0, 2000), data.length);
        assert.ok(!mid.has('BITS-Reply-URL'));
        const last = await fragment(c, '/r.txt', id, 2000, data.subarray(2000), data.length);
        const url = last.get('BITS-Reply-URL') ?? '';
        // Relative without a configured public origin: never built from the request's Host (issue 12).
        assert.match(url, /^\/BITS-Sessions\/Replies\/%7B[0-9A-F-]{36}%7D\/responsefile\.bin$/);
        const head = await get(c, url, {}, 'HEAD');
        assert.equal(head.get('Content-Length'), '10240');
        const lastModified = head.get('Last-Modified') ?? '';
        const part = await get(c, url, { Range: 'bytes=0-9976', 'If-Unmodified-Since': lastModified });
        assert.equal(part.status, 206);
        assert.equal(part.get('Content-Range'), 'bytes 0-9976/10240');
        assert.equal(part.get('Content-Length'), '9977');
        assert.equal(part.get('Last-Modified'), lastModified);
        const rest = await get(c, url, { Range: 'bytes=9977-' });
        assert.deepEqual(Buffer.concat([part.body, rest.body]), reply);
        assertOk(await packet(c, '/r.txt', 'Close-Session', id));
        assert.equal((await get(c, url)).status, 404);
        await assert.rejects(fs.stat(path.join(f.root, 'BITS-Sessions', 'Replies', id)), { code: 'ENOENT' });

        const s2 = await createSession(c, '/r2.txt');
        const url2 = (await fragment(c, '/r2.txt', s2.id, 0, data, data.length)).get('BITS-Reply-URL') ?? '';
        assert.equal((await get(c, url2)).status, 200);
        assertOk(await packet(c, '/r2.txt', 'Cancel-Session', s2.id));
        assert.equal((await get(c, url2)).status, 404);
      },
    );
    // Plain upload mode: never a reply URL.
    const plain = await startFixture();
    try {
      const c = await RawClient.connect(plain.port);
      const { id } = await createSession(c, '/p.txt');
      assert.ok(!(await fragment(c, '/p.txt', id, 0, payload(10), 10)).has('BITS-Reply-URL'));
      c.destroy();
    } finally {
      await removeFixture(plain);
    }
  });

  test('#30 download serving: HEAD length, 206, 200 without Range, multi-range order, 412, identity', async () => {
    const f = await startFixture({ serveUploads: true });
    try {
      const c = await RawClient.connect(f.port);
      const data = payload(1000, 30);
      await fs.writeFile(path.join(f.root, 'dl.bin'), data);
      const head = await get(c, '/dl.bin', {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.get('Content-Length'), '1000');
      assert.equal(head.get('Accept-Ranges'), 'bytes');
      const full = await get(c, '/dl.bin');
      assert.equal(full.status, 200);
      assert.deepEqual(full.body, data);
      assert.ok(!full.has('Content-Encoding'));
      const one = await get(c, '/dl.bin', { Range: 'bytes=100-199' });
      assert.equal(one.status, 206);
      assert.equal(one.get('Content-Range'), 'bytes 100-199/1000');
      assert.deepEqual(one.body, data.subarray(100, 200));
      const multi = await get(c, '/dl.bin', { Range: 'bytes=500-509,0-9' });
      assert.equal(multi.status, 206);
      const boundary = /boundary=(\S+)/.exec(multi.get('Content-Type') ?? '')?.[1] ?? '';
      const text = multi.body.toString('latin1');
      assert.ok(text.startsWith(`--${boundary}\r\n`), 'no preamble before the first boundary');
      const first = text.indexOf('bytes 500-509/1000');
      const second = text.indexOf('bytes 0-9/1000');
      assert.ok(first > 0 && second > first, 'parts in request order, not merged or sorted');
      assert.ok(multi.body.includes(data.subarray(500, 510)) && multi.body.includes(data.subarray(0, 10)));
      const unsat = await get(c, '/dl.bin', { Range: 'bytes=5000-' });
      assert.equal(unsat.status, 416);
      assert.equal(unsat.get('Content-Range'), 'bytes */1000');
      const stale = await get(c, '/dl.bin', { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' });
      assert.equal(stale.status, 412);
      assert.equal((await get(c, '/missing.bin')).status, 404);
      assert.equal(
        (await get(c, '/BITS-Sessions/Requests/x/requestfile.bin')).status,
        404,
        'session data never served',
      );
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });
});
