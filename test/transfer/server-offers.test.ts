import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock as realClock } from '../../src/core/clock.ts';
import { offeredDigest } from '../../src/transfer/digest-header.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type Nginx, startNginx } from '../helpers/nginx.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// What a server offers about a file beyond the bytes: its digest (RFC 3230 Digest, RFC 9530
// Repr-Digest / Content-Digest), against the in-process origin and nginx (add_header).

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
let nginx: Nginx;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  nginx = await startNginx({
    locations: `location / { }
    location = /digest.bin { add_header Digest "SHA-256=${B64.sha256}, MD5=${B64.md5}"; }
    location = /wrong.bin { add_header Repr-Digest "sha-256=:${WRONG_SHA256}:"; }`,
  });
  await Promise.all(['digest.bin', 'wrong.bin'].map((n) => writeFile(join(nginx.root, n), BODY, { mode: 0o644 })));
  dir = await mkdtemp(join(tmpdir(), 'openbits-offers-'));
});
after(async () => {
  await origin.close();
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
