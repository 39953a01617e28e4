import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PieceDigests } from '../../src/core/index.ts';
import { repairLayout } from '../../src/transfer/digest-repair.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// Digests against real origins: whole-file and piece digests, a corrupted piece repaired.

const MiB = 1024 * 1024;
const PIECE = 256 * 1024;
const BODY = randomBytes(6 * MiB + 1000);
const BODY_SHA = sha256(BODY);
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
let primary: OriginServer;
let mirror: OriginServer;
let dir: string;
let seq = 0;

function pieceDigests(body: Buffer): PieceDigests {
  const hashes: string[] = [];
  for (let at = 0; at < body.length; at += PIECE) {
    hashes.push(
      createHash('sha256')
        .update(body.subarray(at, at + PIECE))
        .digest('hex'),
    );
  }
  return { algorithm: 'sha-256', length: PIECE, hashes };
}

/** The body with one byte flipped in piece `index`. */
function corrupt(body: Buffer, index: number): Buffer {
  const bad = Buffer.from(body);
  const at = index * PIECE + 1234;
  bad[at] = (bad[at] ?? 0) ^ 0xff;
  return bad;
}

before(async () => {
  [primary, mirror] = await Promise.all([startOrigin(), startOrigin()]);
  dir = await mkdtemp(join(tmpdir(), 'openbits-digests-'));
});
after(async () => {
  await Promise.all([primary.close(), mirror.close()]);
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const OPTIONS = { maxConnections: 4, minSplitBytes: MiB, checkpointBytes: MiB } as const;

function file(path: string): RecordedFile {
  return new RecordedFile(primary.url(path), join(dir, `d${++seq}.bin`));
}

describe('digests (engine)', () => {
  test('repairLayout keeps every good byte durable and asks again for the bad pieces only', () => {
    assert.deepEqual(repairLayout(1000, 100, [3, 1, 9]), [
      { start: 0, end: 100, done: 100 },
      { start: 100, end: 200, done: 100 },
      { start: 200, end: 300, done: 300 },
      { start: 300, end: 400, done: 300 },
      { start: 400, end: 900, done: 900 },
      { start: 900, end: 1000, done: 900 },
    ]);
    assert.deepEqual(repairLayout(950, 100, [9]), [
      { start: 0, end: 900, done: 900 },
      { start: 900, end: 950, done: 900 },
    ]);
  });

  test('a file matching its sha-256 and md5 (front to back, one connection) is accepted', async () => {
    primary.route('/ok', (req, res) => serve(req, res, BODY, { etag: '"ok"' }));
    const f = file('/ok');
    const md5 = createHash('md5').update(BODY).digest('hex');
    await downloadFile(
      f.request({
        digests: [
          { algorithm: 'sha-256', value: BODY_SHA.toUpperCase() },
          { algorithm: 'md5', value: md5 },
        ].map((d) => ({ ...d, value: d.value.toLowerCase() })) as never,
      }),
    );
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(primary.hits('/ok').length, 1, 'checked without fetching anything again');
    assert.deepEqual(
      f.verified.map((v) => v.readBackBytes),
      [0],
      'hashed as it was written: nothing read back',
    );
  });

  test('in parts, piece digests are computed by the connections that write them: nothing is read back', async () => {
    primary.route('/parts-pieces', (req, res) => serve(req, res, BODY, { etag: '"pp"' }));
    const f = file('/parts-pieces');
    await downloadFile(f.request({ options: OPTIONS, pieces: pieceDigests(BODY) }));
    assert.ok(primary.hits('/parts-pieces').length >= 4, 'fetched in parts');
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(f.verified, [
      { digests: [], pieces: pieceDigests(BODY).hashes.length, readBackBytes: 0, readAtCheckBytes: 0 },
    ]);
  });

  test('in parts, the whole-file digest hashes part 0 as written and reads back only the later parts', async () => {
    primary.route('/parts-whole', (req, res) => serve(req, res, BODY, { etag: '"pw"' }));
    const f = file('/parts-whole');
    await downloadFile(f.request({ options: OPTIONS, digests: [{ algorithm: 'sha-256', value: BODY_SHA }] }));
    const hits = primary.hits('/parts-whole').map((r) => r.headers.range);
    assert.ok(hits.length >= 4, `fetched in parts: ${hits}`);
    const [v] = f.verified;
    assert.ok(v !== undefined && f.verified.length === 1, 'verified once');
    assert.ok(
      v.readBackBytes > 0 && v.readBackBytes <= BODY.length - MiB,
      `part 0 (≥ 1 MiB) was hashed from memory: ${v.readBackBytes} of ${BODY.length} read back`,
    );
  });

  test('resumed with one connection, the durable prefix is read back once and the rest hashed as written', async () => {
    primary.route('/resumed', (req, res, n) =>
      serve(req, res, BODY, { etag: '"rs"', dripBytes: 64 * 1024, dripMs: n === 1 ? 5 : 0 }),
    );
    const f = file('/resumed');
    const stop = new AbortController();
    const first = downloadFile(
      f.request({
        options: { checkpointBytes: 256 * 1024 },
        signal: stop.signal,
        hooks: {
          ...f.request().hooks,
          onCheckpoint: (n) => {
            f.bytesTransferred = n;
            if (n >= 2 * MiB) stop.abort();
          },
        },
      }),
    );
    await assert.rejects(first, { name: 'AbortError' });
    const durable = f.bytesTransferred;
    assert.ok(durable >= 2 * MiB && durable < BODY.length, `stopped mid-way at ${durable}`);
    await downloadFile(f.request({ digests: [{ algorithm: 'sha-512', value: sha512(BODY) }] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(primary.hits('/resumed').at(-1)?.headers.range, `bytes=${durable}-`);
    const [v] = f.verified;
    assert.ok(
      v !== undefined && v.readBackBytes >= durable && v.readBackBytes < BODY.length,
      `the ${durable}-byte prefix read back, not the whole file: ${v?.readBackBytes}`,
    );
  });

  test('a whole-file mismatch fetches the file again, then fails fatal with BG_E_DIGEST_MISMATCH', async () => {
    primary.route('/wrong', (req, res) => serve(req, res, BODY, { etag: '"w"' }));
    const f = file('/wrong');
    const err = await transferFailure(
      downloadFile(f.request({ digests: [{ algorithm: 'sha-256', value: 'ab'.repeat(32) }] })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_DIGEST_MISMATCH');
    assert.equal(err.failure.error.hresult, 0xa0200001);
    assert.match(err.failure.error.message, /failed its sha-256 digest \(after 3 re-fetches\)/u);
    assert.equal(primary.hits('/wrong').length, 4, 'fetched once and again three times');
  });

  test('a mirror corrupting one piece: that piece alone is fetched again from another source, and the mirror is named', async () => {
    primary.route('/piece', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
    // The mirror corrupts the first piece of whatever it is asked for (parts start on pieces).
    const firstPiece = (range: string | undefined) =>
      Math.floor(Number(/^bytes=(\d+)-/u.exec(range ?? '')?.[1] ?? 0) / PIECE);
    mirror.route('/piece', (req, res) =>
      serve(req, res, corrupt(BODY, firstPiece(req.headers.range)), { etag: '"m"' }),
    );
    const f = file('/piece');
    await downloadFile(
      f.request({
        options: OPTIONS,
        mirrors: [mirror.url('/piece')],
        digests: [{ algorithm: 'sha-256', value: BODY_SHA }],
        pieces: pieceDigests(BODY),
      }),
    );
    assert.equal(await f.tempSha256(), BODY_SHA);
    const named = f.dropped.filter(([, reason]) => /piece \d+, which failed the sha-256 check/u.test(reason));
    assert.deepEqual(
      named.map(([url]) => url),
      [mirror.url('/piece')],
      'the liar is named, and only it',
    );
    const bad = new Set(mirror.hits('/piece').map((r) => firstPiece(r.headers.range)));
    const blamed = Number(/piece (\d+),/u.exec(named[0]?.[1] ?? '')?.[1]);
    assert.ok(bad.has(blamed), `piece ${blamed} is one the mirror corrupted (${[...bad]})`);
    const repair = primary.hits('/piece').map((r) => r.headers.range);
    for (const i of bad) {
      assert.ok(
        repair.includes(`bytes=${i * PIECE}-${(i + 1) * PIECE - 1}`),
        `piece ${i} asked again alone: ${repair}`,
      );
    }
  });

  test('one source only: a piece corrupted once is fetched again from it and the file ends right', async () => {
    primary.route('/once', (req, res, n) => serve(req, res, n === 1 ? corrupt(BODY, 2) : BODY, { etag: '"o"' }));
    const f = file('/once');
    await downloadFile(f.request({ options: OPTIONS, pieces: pieceDigests(BODY) }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(primary.hits('/once').at(-1)?.headers.range, `bytes=${2 * PIECE}-${3 * PIECE - 1}`);
  });

  test('piece digests that do not fit the size fail fatal at once', async () => {
    primary.route('/misfit', (req, res) => serve(req, res, BODY, { etag: '"x"' }));
    const f = file('/misfit');
    const pieces = pieceDigests(BODY);
    const err = await transferFailure(
      downloadFile(f.request({ pieces: { ...pieces, hashes: pieces.hashes.slice(1) } })),
    );
    assert.equal(err.failure.error.name, 'BG_E_DIGEST_MISMATCH');
    assert.match(err.failure.error.message, /do not fit/u);
  });
});
