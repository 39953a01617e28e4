// Server checklist of bits-upload-protocol.md §14.1, items 16–24: the IIS extension's settings.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  assertAck,
  assertBitsError,
  assertOk,
  BG_E_SESSION_NOT_FOUND,
  BG_E_TOO_LARGE,
  E_ACCESSDENIED,
  E_INVALIDARG,
} from './helpers/assertions.ts';
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
import { bitsPost, RawClient } from './helpers/raw-client.ts';

async function withFixture(
  options: Parameters<typeof startFixture>[0],
  fn: (f: Fixture, c: RawClient) => Promise<void>,
): Promise<void> {
  const f = await startFixture(options);
  const c = await RawClient.connect(f.port);
  try {
    await fn(f, c);
  } finally {
    c.destroy();
    await removeFixture(f);
  }
}

async function flushAsync(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

describe('server checklist §14.1 (settings)', () => {
  test('#16 a file over maxUploadSize → BG_E_TOO_LARGE; a fragment over the server limit → 413', async () => {
    await withFixture({ maxUploadSize: 1000, maxFragmentSize: 100 }, async (f, c) => {
      const { id } = await createSession(c, '/big.bin');
      const tooBig = await fragment(c, '/big.bin', id, 0, payload(50), 1001);
      assertBitsError(tooBig, 500, BG_E_TOO_LARGE);
      const ok = await fragment(c, '/big.bin', id, 0, payload(100), 1000);
      assertOk(ok);
      const c2 = await RawClient.connect(f.port);
      const frag = await fragment(c2, '/big.bin', id, 100, payload(101), 1000);
      // Regression (issue 12): the 413 carried the fatal-looking 0x80200020, so a Windows client
      // would fail the job instead of shrinking its fragments. It is sent alone now, with R.
      assertAck(frag, 413);
      assert.ok(!frag.has('BITS-Error-Code'), 'no BITS-Error-Code on the 413');
      assert.ok(!frag.has('BITS-Error-Context'));
      assert.equal(frag.get('BITS-Received-Content-Range'), '100');
      c2.destroy();
    });
  });

  test('#17 destination exists: allowOverwrite false → 403 + E_ACCESSDENIED; true → replaced', async () => {
    await withFixture({}, async (f, c) => {
      await fs.writeFile(path.join(f.root, 'exists.txt'), 'old');
      const res = await c.request(
        bitsPost('/exists.txt', {
          'BITS-Packet-Type': 'Create-Session',
          'BITS-Supported-Protocols': '{7df0354d-249b-430f-820d-3d2a9bef4931}',
        }),
      );
      assertBitsError(res, 403, E_ACCESSDENIED);
      assert.equal(await fs.readFile(path.join(f.root, 'exists.txt'), 'utf8'), 'old');
      // Created meanwhile (between Create-Session and Close): still refused at commit, atomically.
      const { id } = await createSession(c, '/late.txt');
      assertOk(await fragment(c, '/late.txt', id, 0, Buffer.from('new'), 3));
      await fs.writeFile(path.join(f.root, 'late.txt'), 'raced');
      assertBitsError(await packet(c, '/late.txt', 'Close-Session', id), 403, E_ACCESSDENIED);
      assert.equal(await fs.readFile(path.join(f.root, 'late.txt'), 'utf8'), 'raced');
    });
    await withFixture({ allowOverwrite: true }, async (f, c) => {
      await fs.writeFile(path.join(f.root, 'exists.txt'), 'old');
      await uploadWhole(c, '/exists.txt', Buffer.from('brand new'));
      assert.equal(await fs.readFile(path.join(f.root, 'exists.txt'), 'utf8'), 'brand new');
    });
  });

  test('#18 uploads disabled on a path → 501 + E_ACCESSDENIED; the auth hook answers 401/403', async () => {
    const connections = new Set<number>();
    await withFixture({ uploadEnabled: (p) => !p.startsWith('/closed/') }, async (_f, c) => {
      assertBitsError((await createSession(c, '/closed/a.txt')).res, 501, E_ACCESSDENIED);
      assertOk((await createSession(c, '/open.txt')).res);
    });
    await withFixture(
      {
        authorize: (req) => {
          connections.add(req.connectionId);
          const auth = req.headers.get('authorization')?.[0];
          if (auth === undefined)
            return { allow: false, status: 401, headers: [['WWW-Authenticate', 'Basic realm="bits"']] };
          if (auth === 'Basic ZXZlOng=') return { allow: false, status: 403 };
          return { allow: true, user: auth };
        },
      },
      async (_f, c) => {
        const anon = await createSession(c, '/a.txt');
        assertBitsError(anon.res, 401, E_ACCESSDENIED);
        assert.equal(anon.res.get('WWW-Authenticate'), 'Basic realm="bits"');
        assertBitsError(
          (await createSession(c, '/a.txt', { Authorization: 'Basic ZXZlOng=' })).res,
          403,
          E_ACCESSDENIED,
        );
        const alice = await createSession(c, '/a.txt', { Authorization: 'Basic YWxpY2U6eA==' });
        assertOk(alice.res);
        // Another user cannot drive alice's session even knowing its id.
        const bob = await c.request(
          bitsPost('/a.txt', {
            'BITS-Packet-Type': 'Cancel-Session',
            'BITS-Session-Id': alice.id,
            Authorization: 'Basic Ym9iOng=',
          }),
        );
        assertBitsError(bob, 403, E_ACCESSDENIED);
        // Downloads (replies) go through the hook as well, answered as plain HTTP.
        const get = await c.request('GET /a.txt HTTP/1.1\r\nHost: h\r\n\r\n');
        assert.equal(get.status, 401);
        assert.equal(get.get('WWW-Authenticate'), 'Basic realm="bits"');
        assert.ok(!get.has('BITS-Packet-Type'));
        assert.equal(connections.size, 1, 'one connection id for all requests of the connection');
      },
    );
  });

  test('#19 a destination URL that maps to a folder → 400', async () => {
    await withFixture({}, async (f, c) => {
      await fs.mkdir(path.join(f.root, 'adir'));
      assertBitsError((await createSession(c, '/adir')).res, 400, E_INVALIDARG);
      assertBitsError((await createSession(c, '/adir/')).res, 400, E_INVALIDARG);
      assertBitsError((await createSession(c, '/')).res, 400, E_INVALIDARG);
    });
  });

  test('#20 Close-Session before all bytes → partial data deleted, destination untouched', async () => {
    await withFixture({ allowOverwrite: true }, async (f, c) => {
      await fs.writeFile(path.join(f.root, 'keep.txt'), 'original');
      const { id } = await createSession(c, '/keep.txt');
      assertOk(await fragment(c, '/keep.txt', id, 0, payload(10), 100));
      assertOk(await packet(c, '/keep.txt', 'Close-Session', id));
      assert.equal(await fs.readFile(path.join(f.root, 'keep.txt'), 'utf8'), 'original');
      await assert.rejects(fs.stat(path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin')));
      // A repeated Close (its Ack lost) is answered 200 again, not with session-not-found.
      assertOk(await packet(c, '/keep.txt', 'Close-Session', id));
      assertBitsError(await fragment(c, '/keep.txt', id, 10, payload(90), 100), 500, BG_E_SESSION_NOT_FOUND);
    });
  });

  test('#21 Cancel mid-upload deletes the temp data; Cancel after the final fragment leaves the file in place', async () => {
    await withFixture({}, async (f, c) => {
      const { id } = await createSession(c, '/cancel.txt');
      assertOk(await fragment(c, '/cancel.txt', id, 0, payload(10), 100));
      assertOk(await packet(c, '/cancel.txt', 'Cancel-Session', id));
      await assert.rejects(fs.stat(path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin')));
      await assert.rejects(fs.stat(path.join(f.root, 'cancel.txt')));

      const data = payload(64, 21);
      const s2 = await createSession(c, '/done.txt');
      assertOk(await fragment(c, '/done.txt', s2.id, 0, data, data.length));
      assertOk(await packet(c, '/done.txt', 'Cancel-Session', s2.id));
      assert.deepEqual(await fs.readFile(path.join(f.root, 'done.txt')), data);
    });
  });

  test('#22 session timeout: the periodic cleanup deletes idle sessions; later packets get BG_E_SESSION_NOT_FOUND', async () => {
    await withFixture({ sessionTimeoutS: 3600, emptySessionTimeoutS: 3600, cleanupIntervalS: 600 }, async (f, c) => {
      const { id } = await createSession(c, '/idle.txt');
      assertOk(await fragment(c, '/idle.txt', id, 0, payload(10), 100));
      const dir = path.join(f.root, 'BITS-Sessions', 'Requests', id);
      f.clock.advance(1800 * 1000); // half the timeout: nothing happens
      await flushAsync();
      await fs.stat(dir);
      // The clock jump also idled out the connection (120 s idle timeout): use a fresh one.
      const c1 = await RawClient.connect(f.port);
      const active = await createSession(c1, '/active.txt');
      c1.destroy();
      f.clock.advance(1800 * 1000 + 600 * 1000 + 1); // past the timeout and the next sweep
      // The sweep runs asynchronously (real file-system work): poll without sleeping.
      for (let i = 0; i < 5000; i++) {
        if (
          await fs.stat(dir).then(
            () => false,
            () => true,
          )
        )
          break;
        await flushAsync(5);
      }
      await assert.rejects(fs.stat(dir), { code: 'ENOENT' });
      const c2 = await RawClient.connect(f.port);
      assertBitsError(await fragment(c2, '/idle.txt', id, 10, payload(90), 100), 500, BG_E_SESSION_NOT_FOUND);
      // A session created later is not swept with it... until it too is idle long enough.
      assertOk(await fragment(c2, '/active.txt', active.id, 0, payload(5), 10));
      c2.destroy();
    });
  });

  test('#23 the per-user session limit: at the cap the oldest idle session is evicted, busy ones never', async () => {
    await withFixture(
      {
        maxSessionsPerUser: 2,
        authorize: (req) => ({ allow: true, user: req.headers.get('x-user')?.[0] ?? 'anon' }),
      },
      async (f, c) => {
        const as = (user: string) => ({ 'X-User': user });
        const a1 = await createSession(c, '/1.txt', as('a'));
        f.clock.advance(1000);
        const a2 = await createSession(c, '/2.txt', as('a'));
        f.clock.advance(1000);
        // The third evicts a1, the oldest idle one, as IIS does (it used to be refused with 503).
        const a3 = await createSession(c, '/3.txt', as('a'));
        assertOk(a3.res);
        const gone = await c.request(
          bitsPost('/1.txt', { 'BITS-Packet-Type': 'Close-Session', 'BITS-Session-Id': a1.id, ...as('a') }),
        );
        assertBitsError(gone, 500, BG_E_SESSION_NOT_FOUND);
        assertOk((await createSession(c, '/3.txt', as('b'))).res); // another user is not affected
        // A session with a packet in flight is busy: it is never evicted. Hold a2 and a3 busy
        // with fragments whose body is not sent yet: `100 Continue` comes once the server holds
        // the session's lock and wants the body. A fourth session then finds no room.
        const holders: RawClient[] = [];
        for (const [url, id] of [
          ['/2.txt', a2.id],
          ['/3.txt', a3.id],
        ] as const) {
          const h = await RawClient.connect(f.port);
          holders.push(h);
          const headers = { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 0-99/100' };
          await h.write(
            bitsPost(url, { ...headers, Expect: '100-continue', ...as('a') }, undefined, { contentLength: 100 }),
          );
          assert.equal((await h.read()).status, 100);
        }
        assertBitsError((await createSession(c, '/4.txt', as('a'))).res, 503, '0x80200049');
        for (const h of holders) {
          await h.write(payload(100));
          assertOk(await h.read());
          h.destroy();
        }
        assertOk((await createSession(c, '/4.txt', as('a'))).res);
      },
    );
    await withFixture({ maxSessionsPerUser: 0 }, async (_f, c) => {
      for (let i = 0; i < 60; i++) assertOk((await createSession(c, `/n${i}.txt`)).res);
    });
  });

  test('#24 BITS-Host-Id / BITS-Host-Id-Fallback-Timeout only when configured', async () => {
    await withFixture({}, async (_f, c) => {
      const { res } = await createSession(c, '/h.txt');
      assert.ok(!res.has('BITS-Host-Id'));
      assert.ok(!res.has('BITS-Host-Id-Fallback-Timeout'));
    });
    await withFixture({ hostId: 'node7.example', hostIdFallbackTimeoutS: 110 }, async (_f, c) => {
      const { res, id } = await createSession(c, '/h.txt');
      assert.equal(res.get('BITS-Host-Id'), 'node7.example');
      assert.equal(res.get('BITS-Host-Id-Fallback-Timeout'), '110');
      // Later packets addressed to the Host-Id reach the same session.
      const frag = await c.request(
        bitsPost(
          '/h.txt',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 0-3/4' },
          Buffer.from('abcd'),
          { host: 'node7.example' },
        ),
      );
      assertOk(frag);
      assert.ok(!frag.has('BITS-Host-Id'), 'only on the Create-Session Ack');
    });
  });
});
