import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// Mirrors against real origins on loopback (three servers: the remote name and two mirrors).

const MiB = 1024 * 1024;
const BODY = randomBytes(8 * MiB + 99);
const BODY_SHA = sha256(BODY);
let primary: OriginServer;
let mirrorA: OriginServer;
let mirrorB: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  [primary, mirrorA, mirrorB] = await Promise.all([startOrigin(), startOrigin(), startOrigin()]);
  dir = await mkdtemp(join(tmpdir(), 'openbits-mirrors-'));
});
after(async () => {
  await Promise.all([primary.close(), mirrorA.close(), mirrorB.close()]);
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const OPTIONS = { maxConnections: 4, minSplitBytes: MiB, checkpointBytes: MiB } as const;

function file(path: string): RecordedFile {
  return new RecordedFile(primary.url(path), join(dir, `m${++seq}.bin`));
}

describe('mirrors (engine)', () => {
  test('parts spread over the remote name and its mirrors; one file, the right sha-256', async () => {
    primary.route('/spread', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
    mirrorA.route('/spread', (req, res) => serve(req, res, BODY, { etag: '"a"' }));
    mirrorB.route('/spread', (req, res) => serve(req, res, BODY, { etag: '"b"' }));
    const f = file('/spread');
    await downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/spread'), mirrorB.url('/spread')] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(f.dropped, []);
    assert.ok(mirrorA.hits('/spread').length >= 1 && mirrorB.hits('/spread').length >= 1, 'every mirror served a part');
    assert.deepEqual(
      f.validators,
      { size: BODY.length, etag: '"p"', lastModified: null },
      "the remote name's validators",
    );
    for (const r of mirrorA.hits('/spread'))
      assert.equal(r.headers['if-range'], undefined, 'never the ETag of another server');
  });

  test('a mirror serving another size is taken out as a liar; the others finish its part', async () => {
    primary.route('/liar', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
    mirrorA.route('/liar', (req, res) => serve(req, res, BODY.subarray(0, BODY.length - 1), { etag: '"x"' }));
    const f = file('/liar');
    await downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/liar')] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(f.dropped.length, 1);
    assert.equal(f.dropped[0]?.[0], mirrorA.url('/liar'));
    assert.match(f.dropped[0]?.[1] ?? '', /serves another file/u);
    assert.equal(f.restarts, 0, 'a lying mirror never restarts the file');
  });

  test('the remote name failing with 503 after the probe: its parts fail over to the mirror', async () => {
    primary.route('/failover', (req, res, n) =>
      n === 1 ? serve(req, res, BODY, { etag: '"p"', dripBytes: 64 * 1024, dripMs: 5 }) : res.writeHead(503).end(),
    );
    mirrorA.route('/failover', (req, res) => serve(req, res, BODY, { etag: '"a"' }));
    const f = file('/failover');
    await downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/failover')] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(
      f.dropped.map(([url]) => url),
      [primary.url('/failover')],
    );
    assert.match(f.dropped[0]?.[1] ?? '', /503/u);
  });

  test('a mirror resetting connections mid-body is taken out; its part is finished elsewhere', async () => {
    primary.route('/reset', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
    mirrorA.route('/reset', (req, res) =>
      serve(req, res, BODY, { etag: '"a"', fault: 'reset', faultAfter: 300_000, dripBytes: 64 * 1024, dripMs: 2 }),
    );
    const f = file('/reset');
    await downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/reset')] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(
      f.dropped.map(([url]) => url),
      [mirrorA.url('/reset')],
    );
  });

  test('the remote name refusing connections at the probe: the mirror answers it and serves the file', async () => {
    const gone = await startOrigin();
    const url = gone.url('/down');
    await gone.close();
    mirrorA.route('/down', (req, res) => serve(req, res, BODY, { etag: '"a"' }));
    const f = new RecordedFile(url, join(dir, `m${++seq}.bin`));
    await downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/down')] }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.deepEqual(
      f.dropped.map(([u]) => u),
      [url],
    );
    assert.deepEqual(f.validators, { size: BODY.length, etag: null, lastModified: null }, 'only the size is known');
  });

  test('every source failing fails the call with a transient error; the progress is kept', async () => {
    primary.route('/allbad', (req, res, n) =>
      n === 1 ? serve(req, res, BODY, { etag: '"p"', fault: 'reset', faultAfter: 200_000 }) : res.writeHead(503).end(),
    );
    mirrorA.route('/allbad', (_req, res) => res.writeHead(500).end());
    const f = file('/allbad');
    const err = await transferFailure(downloadFile(f.request({ options: OPTIONS, mirrors: [mirrorA.url('/allbad')] })));
    assert.equal(err.failure.kind, 'transient');
    assert.ok(f.dropped.length >= 1);
  });

  test('credentials and custom headers go to the remote name, never to a mirror on another origin', async () => {
    primary.route('/secret', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
    mirrorA.route('/secret', (req, res) => serve(req, res, BODY, { etag: '"a"' }));
    const f = file('/secret');
    await downloadFile(
      f.request({
        remoteName: primary.url('/secret').replace('http://', 'http://ann:pw@'),
        mirrors: [mirrorA.url('/secret')],
        options: { ...OPTIONS, customHeaders: [['X-Token', 'abc']] },
      }),
    );
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.ok(mirrorA.hits('/secret').length >= 1);
    for (const r of mirrorA.hits('/secret')) {
      assert.equal(r.headers['x-token'], undefined);
      assert.equal(r.headers.authorization, undefined);
    }
    assert.ok(primary.hits('/secret').every((r) => r.headers['x-token'] === 'abc'));
  });
});
