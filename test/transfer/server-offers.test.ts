import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock as realClock } from '../../src/core/clock.ts';
import { offeredDigest } from '../../src/transfer/digest-header.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { MAX_OFFERED_MIRRORS, offeredMirrors } from '../../src/transfer/link-duplicates.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type Nginx, startNginx } from '../helpers/nginx.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// What a server offers about a file beyond the bytes: its digest (RFC 3230 Digest, RFC 9530
// Repr-Digest / Content-Digest) and its mirrors (RFC 6249 Link rel=duplicate), against the
// in-process origin and nginx (add_header).

const MiB = 1024 * 1024;
const BODY = randomBytes(5 * MiB + 123);
const BODY_SHA = sha256(BODY);
const hash = (alg: string, b: Buffer, enc: 'hex' | 'base64') => createHash(alg).update(b).digest(enc);
const B64 = {
  sha256: hash('sha256', BODY, 'base64'),
  sha512: hash('sha512', BODY, 'base64'),
  md5: hash('md5', BODY, 'base64'),
  sha1: hash('sha1', BODY, 'base64'),
};
const WRONG_SHA256 = hash('sha256', Buffer.from('another file'), 'base64');
const SEGMENTED = { maxConnections: 4, minSplitBytes: MiB, checkpointBytes: MiB } as const;

let origin: OriginServer;
let mirror: OriginServer;
let nginx: Nginx;
let dir: string;
let seq = 0;

before(async () => {
  [origin, mirror] = await Promise.all([startOrigin(), startOrigin()]);
  mirror.route('/m', (req, res) => serve(req, res, BODY, { etag: '"mm"' }));
  nginx = await startNginx({
    locations: `location / { }
    location = /digest.bin { add_header Digest "SHA-256=${B64.sha256}, MD5=${B64.md5}"; }
    location = /wrong.bin { add_header Repr-Digest "sha-256=:${WRONG_SHA256}:"; }
    location = /linked.bin { add_header Link '<${mirror.url('/m')}>; rel="duplicate"; pri=1'; limit_rate 2m; }`,
  });
  await Promise.all(
    ['digest.bin', 'wrong.bin', 'linked.bin'].map((n) => writeFile(join(nginx.root, n), BODY, { mode: 0o644 })),
  );
  dir = await mkdtemp(join(tmpdir(), 'openbits-offers-'));
});
after(async () => {
  await Promise.all([origin.close(), mirror.close()]);
  await nginx.stop();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const file = (url: string) => new RecordedFile(url, join(dir, `o${++seq}.bin`));

describe('digest headers (parsing)', () => {
  test('the strongest known digest wins; Repr-Digest before Digest; base64 or hex; bad lengths ignored', () => {
    const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
    assert.deepEqual(offeredDigest({ digest: `MD5=${B64.md5},SHA=${B64.sha1}` }, false), {
      algorithm: 'sha-1',
      value: hex(B64.sha1),
    });
    assert.deepEqual(
      offeredDigest({ 'repr-digest': `sha-256=:${B64.sha256}:`, digest: `SHA-256=${WRONG_SHA256}` }, false),
      { algorithm: 'sha-256', value: hex(B64.sha256) },
    );
    assert.deepEqual(offeredDigest({ digest: [`md5=${B64.md5}`, `sha-512=${B64.sha512}`] }, false), {
      algorithm: 'sha-512',
      value: hex(B64.sha512),
    });
    assert.deepEqual(offeredDigest({ digest: `sha-256=${BODY_SHA.toUpperCase()}` }, false), {
      algorithm: 'sha-256',
      value: BODY_SHA,
    });
    assert.equal(offeredDigest({ digest: `sha-256=${B64.md5}, unixsum=30637` }, false), null, 'md5-sized sha-256');
    assert.equal(offeredDigest({ 'repr-digest': `sha-256=${B64.sha256}` }, false), null, 'not a byte sequence');
    assert.equal(offeredDigest({}, true), null);
  });

  test('Content-Digest counts only for a whole-body 200 (on a 206 it is the digest of the part)', () => {
    const headers = { 'content-digest': `sha-256=:${B64.sha256}:` };
    assert.equal(offeredDigest(headers, false), null);
    assert.equal(offeredDigest(headers, true)?.value, BODY_SHA);
  });
});

describe('digests a server offers', () => {
  test('one connection, RFC 3230 Digest: the file is checked against it as written, nothing read back', async () => {
    origin.route('/d', (req, res) =>
      serve(req, res, BODY, { etag: '"d"', extraHeaders: { digest: `SHA-256=${B64.sha256}` } }),
    );
    const f = file(origin.url('/d'));
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(f.verified, [
      { digests: [{ algorithm: 'sha-256', value: BODY_SHA }], pieces: 0, readBackBytes: 0, readAtCheckBytes: 0 },
    ]);
  });

  test('with the last sync handed off (bitsd), a file with an offered digest is synced before it is verified', async () => {
    origin.route('/sync', (req, res) =>
      serve(req, res, BODY, { etag: '"s"', extraHeaders: { digest: `sha-256=${B64.sha256}` } }),
    );
    const f = file(origin.url('/sync'));
    const order: string[] = [];
    const req = f.request();
    let handed = 0;
    await downloadFile({
      ...req,
      finalSync: async (sync) => {
        handed++;
        await sync();
      },
      hooks: {
        ...req.hooks,
        onCheckpoint: (n) => order.push(`checkpoint ${n}`),
        onDigestsVerified: () => order.push('verified'),
      },
    });
    assert.equal(handed, 1);
    assert.deepEqual(order.slice(-3, -1), [`checkpoint ${BODY.length}`, 'verified']);
  });

  test('in parts, Repr-Digest on the 206s: the strongest (sha-512) is checked', async () => {
    origin.route('/r', (req, res) =>
      serve(req, res, BODY, {
        etag: '"r"',
        extraHeaders: { 'repr-digest': `sha-256=:${B64.sha256}:, sha-512=:${B64.sha512}:` },
      }),
    );
    const f = file(origin.url('/r'));
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.ok(origin.hits('/r').length >= 4, 'fetched in parts');
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(
      f.verified.map((v) => v.digests),
      [[{ algorithm: 'sha-512', value: hash('sha512', BODY, 'hex') }]],
    );
  });

  test('a server whose digest does not match: fetched again 3 times, then BG_E_DIGEST_MISMATCH', async () => {
    origin.route('/bad', (req, res) =>
      serve(req, res, BODY, { etag: '"b"', extraHeaders: { digest: `sha-256=${WRONG_SHA256}` } }),
    );
    const f = file(origin.url('/bad'));
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_DIGEST_MISMATCH');
    assert.match(err.failure.error.message, /failed its sha-256 digest \(after 3 re-fetches\)/u);
    assert.equal(origin.hits('/bad').length, 4);
  });

  test("the caller's digest wins over the server's", async () => {
    origin.route('/mine', (req, res) =>
      serve(req, res, BODY, { etag: '"m"', extraHeaders: { digest: `sha-256=${WRONG_SHA256}` } }),
    );
    const f = file(origin.url('/mine'));
    await downloadFile(f.request({ digests: [{ algorithm: 'sha-256', value: BODY_SHA }] }));
    assert.equal(origin.hits('/mine').length, 1);
    assert.deepEqual(
      f.verified.map((v) => v.digests),
      [[{ algorithm: 'sha-256', value: BODY_SHA }]],
    );
  });

  test('nginx with add_header Digest, in parts and front to back: checked; a wrong Repr-Digest fails', async () => {
    for (const options of [SEGMENTED, {}]) {
      const f = file(nginx.url('/digest.bin'));
      await downloadFile(f.request({ clock: realClock, options }));
      assert.equal(await f.tempSha256(), BODY_SHA);
      assert.deepEqual(
        f.verified.map((v) => v.digests),
        [[{ algorithm: 'sha-256', value: BODY_SHA }]],
      );
    }
    const f = file(nginx.url('/wrong.bin'));
    const err = await transferFailure(downloadFile(f.request({ clock: realClock })));
    assert.equal(err.failure.error.name, 'BG_E_DIGEST_MISMATCH');
  });
});

describe('Link: rel=duplicate (parsing)', () => {
  const base = new URL('http://files.example/pub/a.iso');
  const links = (value: string | string[], known: string[] = [], room = 16, from = base) =>
    offeredMirrors({ link: value }, from, new Set(known), room);

  test('duplicates by pri, relative targets resolved, other relations and schemes ignored', () => {
    assert.deepEqual(
      links([
        '<https://m2.example/a.iso>; rel=duplicate; pri=2, <http://m1.example/a.iso>; rel="duplicate"; pri=1',
        '</mirror/a.iso>; rel="describedby duplicate", <https://x.example/a.meta4>; rel=describedby',
        '<ftp://m3.example/a.iso>; rel=duplicate, <http://u:p@m4.example/a.iso>; rel=duplicate',
      ]),
      ['http://m1.example/a.iso', 'https://m2.example/a.iso', 'http://files.example/mirror/a.iso'],
    );
  });

  test('never from https to http; known URLs and repeats skipped; bounded', () => {
    const secure = new URL('https://files.example/a.iso');
    assert.deepEqual(
      links('<http://m1.example/a.iso>; rel=duplicate, <https://m2.example/a.iso>; rel=duplicate', [], 16, secure),
      ['https://m2.example/a.iso'],
    );
    assert.deepEqual(
      links(
        '<http://m1.example/a>; rel=duplicate, <http://m1.example/a>; rel=duplicate, <http://m2.example/a>; rel=duplicate',
        ['http://m2.example/a'],
      ),
      ['http://m1.example/a'],
    );
    const many = Array.from({ length: 20 }, (_, i) => `<http://m${i}.example/a>; rel=duplicate`).join(', ');
    assert.equal(links(many).length, MAX_OFFERED_MIRRORS);
    assert.equal(links(many, [], 3).length, 3, 'no more than the file has room for');
    assert.deepEqual(links('<http://m1.example/a; rel=duplicate, garbage, <http://m2.example/a>; rel=duplicate'), []);
  });
});

describe('mirrors a server announces', () => {
  test('in parts: an announced mirror joins the sources and serves parts; the hook reports it', async () => {
    const offered: string[] = [];
    origin.route('/linked', (req, res) =>
      serve(req, res, BODY, {
        etag: '"l"',
        dripBytes: 64 * 1024,
        dripMs: 20,
        extraHeaders: { link: `<${mirror.url('/m')}>; rel=duplicate` },
      }),
    );
    const before = mirror.hits('/m').length;
    const f = file(origin.url('/linked'));
    const req = f.request({ options: SEGMENTED });
    await downloadFile({ ...req, hooks: { ...req.hooks, onMirrorsOffered: (urls) => offered.push(...urls) } });
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(offered, [mirror.url('/m')]);
    assert.ok(mirror.hits('/m').length > before, 'the mirror served parts');
    assert.deepEqual(f.dropped, []);
  });

  test('the remote name fails after its first answer: the mirror it announced finishes the file', async () => {
    origin.route('/dies', (req, res, n) =>
      n === 1
        ? serve(req, res, BODY, {
            etag: '"x"',
            faultAfter: 256 * 1024,
            fault: 'reset',
            extraHeaders: { link: `<${mirror.url('/m')}>; rel=duplicate` },
          })
        : serve(req, res, BODY, { etag: '"x"', faultAfter: 0, fault: 'reset' }),
    );
    const f = file(origin.url('/dies'));
    await downloadFile(f.request({ options: { ...SEGMENTED, maxConnections: 2 } }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(
      f.dropped.map(([url]) => url),
      [origin.url('/dies')],
      'the remote name was dropped, the mirror was not',
    );
  });

  test('one connection, front to back: the mirrors are reported (for the next run), not used', async () => {
    const offered: string[] = [];
    origin.route('/plain', (req, res) =>
      serve(req, res, BODY, { etag: '"p"', extraHeaders: { link: `<${mirror.url('/m')}>; rel=duplicate` } }),
    );
    const before = mirror.hits('/m').length;
    const f = file(origin.url('/plain'));
    const req = f.request();
    await downloadFile({ ...req, hooks: { ...req.hooks, onMirrorsOffered: (urls) => offered.push(...urls) } });
    assert.deepEqual(offered, [mirror.url('/m')]);
    assert.equal(mirror.hits('/m').length, before);
  });

  test('nginx announcing a mirror with add_header Link: parts come from both', async () => {
    const before = mirror.hits('/m').length;
    const f = file(nginx.url('/linked.bin'));
    await downloadFile(f.request({ clock: realClock, options: SEGMENTED }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.ok(mirror.hits('/m').length > before, 'the announced mirror served parts');
  });
});
