// Hostile and malformed input (reliability-security-performance.md §3.5 item 16): each gets its
// error, nothing is written outside the upload root, and the server keeps serving others.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { BITS_PROTOCOL_GUID } from '../../src/core/upload-protocol.ts';
import {
  assertBitsError,
  assertOk,
  BG_E_SESSION_NOT_FOUND,
  E_ACCESSDENIED,
  E_INVALIDARG,
} from './helpers/assertions.ts';
import {
  createSession,
  type Fixture,
  fragment,
  listTree,
  packet,
  payload,
  removeFixture,
  startFixture,
  uploadWhole,
} from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';

let f: Fixture;
let outside: string;
let before_: string[];

before(async () => {
  f = await startFixture();
  outside = path.join(f.base, 'outside');
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'canary.txt'), 'canary');
  before_ = await listTree(outside);
});
after(async () => {
  await removeFixture(f);
});

/** After every test: the canary folder is untouched and a fresh client can still upload. */
afterEach(async () => {
  assert.deepEqual(await listTree(outside), before_, 'nothing written outside the root');
  assert.equal(await fs.readFile(path.join(outside, 'canary.txt'), 'utf8'), 'canary');
  const c = await RawClient.connect(f.port);
  const data = payload(2000, 99);
  await uploadWhole(c, `/after-${Math.random().toString(16).slice(2)}.bin`, data, 700);
  c.destroy();
});

describe('bad input', () => {
  test('oversize request line → 414, oversize head → 431, too many headers → 431; each closes', async () => {
    let c = await RawClient.connect(f.port);
    let res = await c.request(`BITS_POST /${'a'.repeat(9000)} HTTP/1.1\r\nHost: h\r\n\r\n`);
    assert.equal(res.status, 414);
    assert.ok(await c.closed());
    c = await RawClient.connect(f.port);
    res = await c.request(`BITS_POST /x HTTP/1.1\r\nHost: h\r\n${'X-Pad: '.padEnd(4000, 'p')}\r\n`.repeat(5));
    assert.equal(res.status, 431);
    assert.ok(await c.closed());
    c = await RawClient.connect(f.port);
    let many = 'BITS_POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n';
    for (let i = 0; i < 120; i++) many += `X-H${i}: v\r\n`;
    res = await c.request(`${many}\r\n`);
    assert.equal(res.status, 431);
    assert.ok(await c.closed());
    // A head that never ends is cut off at the limit, not buffered forever.
    c = await RawClient.connect(f.port);
    await c.write('BITS_POST /x HTTP/1.1\r\nHost: h\r\n');
    for (let i = 0; i < 40; i++) await c.write(`X-Drip-${i}: ${'d'.repeat(1000)}\r\n`);
    res = await c.read();
    assert.equal(res.status, 431);
    c.destroy();
  });

  test('request smuggling shapes are refused and the connection closed', async () => {
    const cases: Array<[string, number]> = [
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\nHost: h\r\nContent-Length: 0\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n', 400],
      ['BITS_POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n', 400],
      ['BITS_POST /x HTTP/2.0\r\nHost: h\r\n\r\n', 505],
      ['BITS_POST  /x HTTP/1.1\r\nHost: h\r\n\r\n', 400],
      ['GET /x HTTP/1.1\r\nHost: h\r\nX-Nul: a\0b\r\n\r\n', 400],
    ];
    for (const [req, status] of cases) {
      const c = await RawClient.connect(f.port);
      const res = await c.request(req);
      assert.equal(res.status, status, JSON.stringify(req));
      assert.ok(await c.closed(), `closed after ${JSON.stringify(req)}`);
    }
  });

  test('wrong protocol GUID and unknown session ids get their BITS errors', async () => {
    const c = await RawClient.connect(f.port);
    const res = await c.request(
      bitsPost('/g.txt', {
        'BITS-Packet-Type': 'Create-Session',
        'BITS-Supported-Protocols': '{7df0354d-249b-430f-820d-3d2a9bef4932}',
      }),
    );
    assertBitsError(res, 400, E_INVALIDARG);
    assertBitsError(
      await fragment(c, '/g.txt', '{7DF0354D-249B-430F-820D-3D2A9BEF4931}', 0, payload(3), 3),
      500,
      BG_E_SESSION_NOT_FOUND,
    );
    c.destroy();
  });

  test('path traversal in the URL (../, %2e%2e, encoded slashes, absolute names) → 400, nothing written', async () => {
    const c = await RawClient.connect(f.port);
    const targets = [
      '/../outside/evil.txt',
      '/a/../../outside/evil.txt',
      '/%2e%2e/outside/evil.txt',
      '/%2E%2E/%2e%2e/outside/evil.txt',
      '/..%2foutside%2fevil.txt',
      '/%2Fetc%2Fpasswd',
      '//etc/passwd',
      '/..%5coutside%5cevil.txt',
      '/./evil.txt',
      '/bad%ZZ.txt',
      '/nul%00.txt',
      'http://h/../outside/evil.txt',
      'outside/evil.txt',
      `/${'n'.repeat(256)}`,
    ];
    for (const t of targets) {
      const res = await c.request(
        bitsPost(t, { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': BITS_PROTOCOL_GUID }),
      );
      assertBitsError(res, 400, E_INVALIDARG);
    }
    // The session folder is not an upload destination.
    const reserved = await createSession(c, '/BITS-Sessions/Requests/x.txt');
    assertBitsError(reserved.res, 403, E_ACCESSDENIED);
    assert.deepEqual(
      (await listTree(f.root)).filter((p) => !p.startsWith('BITS-Sessions') && !p.startsWith('after-')),
      [],
    );
    c.destroy();
  });

  test('Content-Name is informational: ../ or absolute names in it never choose the path', async () => {
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/named.txt', { 'Content-Name': '../outside/evil.txt' });
    const res = await c.request(
      bitsPost(
        '/named.txt',
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': id,
          'Content-Name': '/etc/passwd',
          'Content-Range': 'bytes 0-2/3',
        },
        Buffer.from('abc'),
      ),
    );
    assertOk(res);
    assertOk(await packet(c, '/named.txt', 'Close-Session', id));
    assert.equal(await fs.readFile(path.join(f.root, 'named.txt'), 'utf8'), 'abc');
    c.destroy();
  });

  test('fragments past the declared size → 400 + E_INVALIDARG', async () => {
    const c = await RawClient.connect(f.port);
    const { id } = await createSession(c, '/past.bin');
    const send = (range: string, body: Buffer) =>
      c.request(
        bitsPost('/past.bin', { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': range }, body),
      );
    assertBitsError(await send('bytes 0-9/5', payload(10)), 400, E_INVALIDARG);
    assertOk(await send('bytes 0-4/10', payload(5)));
    assertBitsError(await send('bytes 5-14/10', payload(10)), 400, E_INVALIDARG);
    // More body than declared: the extra bytes are the next request, and garbage there is refused.
    const res = await c.request(
      Buffer.concat([
        bitsPost(
          '/past.bin',
          { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': 'bytes 5-9/10' },
          payload(5),
        ),
        Buffer.from('EXTRA-BYTES\r\n\r\n'),
      ]),
    );
    assertOk(res);
    assert.equal(res.get('BITS-Received-Content-Range'), '10');
    assert.equal((await c.read()).status, 400);
    assert.equal((await fs.stat(path.join(f.root, 'BITS-Sessions', 'Requests', id, 'requestfile.bin'))).size, 10);
    c.destroy();
  });

  test('a symlink planted in the upload folder is never followed', async () => {
    const c = await RawClient.connect(f.port);
    // A symlinked folder on the path.
    await fs.symlink(outside, path.join(f.root, 'linkdir'));
    assertBitsError((await createSession(c, '/linkdir/evil.txt')).res, 403, E_ACCESSDENIED);
    // A symlink as the destination name itself (no overwrite): it exists → 403.
    await fs.symlink(path.join(outside, 'canary.txt'), path.join(f.root, 'link.txt'));
    assertBitsError((await createSession(c, '/link.txt')).res, 403, E_ACCESSDENIED);
    // A folder swapped for a symlink between Create-Session and Close-Session.
    await fs.mkdir(path.join(f.root, 'swap'));
    const { id } = await createSession(c, '/swap/evil.txt');
    assertOk(await fragment(c, '/swap/evil.txt', id, 0, Buffer.from('evil'), 4));
    await fs.rm(path.join(f.root, 'swap'), { recursive: true });
    await fs.symlink(outside, path.join(f.root, 'swap'));
    assertBitsError(await packet(c, '/swap/evil.txt', 'Close-Session', id), 403, E_ACCESSDENIED);
    // The session's own data file replaced by a symlink to the canary.
    const s2 = await createSession(c, '/data-swap.txt');
    const dataFile = path.join(f.root, 'BITS-Sessions', 'Requests', s2.id, 'requestfile.bin');
    await fs.rm(dataFile);
    await fs.symlink(path.join(outside, 'canary.txt'), dataFile);
    const res = await fragment(c, '/data-swap.txt', s2.id, 0, Buffer.from('OVERWRITE'), 9);
    assert.equal(res.status, 500);
    assert.ok(res.has('BITS-Error-Code'));
    await fs.rm(path.join(f.root, 'swap'));
    await fs.rm(path.join(f.root, 'linkdir'));
    c.destroy();
  });

  test('with overwrite allowed, a symlink at the destination is replaced, not written through', async () => {
    const g = await startFixture({ allowOverwrite: true }, { base: f.base, clock: f.clock });
    try {
      const c = await RawClient.connect(g.port);
      await fs.rm(path.join(g.root, 'link2.txt'), { force: true });
      await fs.symlink(path.join(outside, 'canary.txt'), path.join(g.root, 'link2.txt'));
      await uploadWhole(c, '/link2.txt', Buffer.from('replaced'));
      const st = await fs.lstat(path.join(g.root, 'link2.txt'));
      assert.ok(st.isFile() && !st.isSymbolicLink());
      assert.equal(await fs.readFile(path.join(g.root, 'link2.txt'), 'utf8'), 'replaced');
      c.destroy();
    } finally {
      await g.close();
    }
  });

  test('slow heads and idle connections are dropped on the (injected) clock', async () => {
    const c = await RawClient.connect(f.port);
    const armed = f.clock.pendingWithDelay(60_000);
    await c.write('BITS_POST /slow HTTP/1.1\r\nHost: h\r\n');
    // Wait (without sleeping) until the server has seen the first byte and armed the head timer.
    while (f.clock.pendingWithDelay(60_000) === armed) await new Promise((r) => setImmediate(r));
    f.clock.advance(60_000);
    assert.ok(await c.closed(), 'head not complete within headersTimeout');
    const idle = await RawClient.connect(f.port);
    assertOk(await packet(idle, '/i.txt', 'Ping'));
    f.clock.advance(120_000);
    assert.ok(await idle.closed(), 'idle keep-alive connection closed');
  });
});
