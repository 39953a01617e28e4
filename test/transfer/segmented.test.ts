import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// Segmented downloads against a real origin on loopback: the engine alone (downloadFile).

const MiB = 1024 * 1024;
const BODY = randomBytes(8 * MiB + 4321);
const BODY_SHA = sha256(BODY);
/** Where the second of four equal parts starts. */
const QUARTER = Math.floor(BODY.length / 4);
let origin: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-segmented-'));
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

function file(path: string): RecordedFile {
  return new RecordedFile(origin.url(path), join(dir, `f${++seq}.bin`));
}

/** Four connections, parts of at least 1 MiB, a checkpoint per MiB. */
const SEGMENTED = { maxConnections: 4, minSplitBytes: MiB, checkpointBytes: MiB } as const;

/** The byte spans a path's requests asked for: [first, last] inclusive. */
function spans(path: string): Array<[number, number]> {
  return origin.hits(path).map((r) => {
    const m = /^bytes=(\d+)-(\d*)$/u.exec(r.headers.range ?? '');
    assert.ok(m !== null, `every request asks for a range (${r.headers.range})`);
    return [Number(m[1]), m[2] === '' ? BODY.length - 1 : Number(m[2])];
  });
}

describe('segmented downloads (engine)', () => {
  test('four connections fetch disjoint parts into one temp file: the right sha-256, one probe then closed ranges', async () => {
    origin.route('/four', (req, res) => serve(req, res, BODY, { etag: '"v1"' }));
    const f = file('/four');
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(f.bytesTransferred, BODY.length);
    assert.equal(f.bytesTotal, BODY.length);
    const asked = spans('/four');
    assert.deepEqual(asked[0], [0, BODY.length - 1], 'the first request is the probe, bytes=0-');
    assert.equal(asked.length, 4, `${JSON.stringify(asked)}`);
    const parts = asked.slice(1).sort((a, b) => a[0] - b[0]);
    assert.equal(parts[0]?.[0], QUARTER, 'part 1 starts where part 0 (the probe) ends');
    assert.equal(parts.at(-1)?.[1], BODY.length - 1);
    for (const r of origin.hits('/four').slice(1)) assert.equal(r.headers['if-range'], '"v1"');
  });

  test('a server without Range support: the probe answer is dropped and the file comes front to back', async () => {
    origin.route('/norange', (req, res) => serve(req, res, BODY, { ignoreRange: true }));
    const f = file('/norange');
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    const hits = origin.hits('/norange');
    assert.equal(hits.length, 2);
    assert.equal(hits[0]?.headers.range, 'bytes=0-');
    assert.equal(hits[1]?.headers.range, undefined, 'then one plain GET');
    assert.equal(f.segments, null);
  });

  test('stopped mid-way, the next call resumes each part from its durable offset: no durable byte is fetched twice', async () => {
    const stop = new AbortController();
    origin.route('/resume', (req, res, n) =>
      serve(req, res, BODY, { etag: '"r"', dripBytes: 64 * 1024, dripMs: n <= 4 ? 4 : 0 }),
    );
    const f = file('/resume');
    const first = downloadFile(
      f.request({
        options: SEGMENTED,
        signal: stop.signal,
        hooks: {
          ...f.request().hooks,
          onProgress: (bytes) => {
            if (bytes >= 4 * MiB) stop.abort();
          },
        },
      }),
    );
    await assert.rejects(first, { name: 'AbortError' });
    const layout = f.segments;
    assert.ok(layout !== null && layout.length >= 2, `a layout was recorded: ${JSON.stringify(layout)}`);
    const durable = layout.reduce((n, s) => n + (s.done - s.start), 0);
    assert.equal(f.bytesTransferred, durable);
    assert.ok(durable > 0, 'the stop checkpointed what arrived');
    const before = origin.hits('/resume').length;
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    const resumed = spans('/resume').slice(before);
    for (const [first] of resumed) {
      const inDone = layout.some((s) => first >= s.start && first < s.done);
      assert.ok(!inDone, `the resume asked for ${first}, which a checkpoint had covered`);
    }
    for (const s of layout.filter((p) => p.done < p.end)) {
      assert.ok(
        resumed.some(([first]) => first === s.done),
        `part ${s.start}-${s.end} resumed at its durable offset ${s.done}`,
      );
    }
  });

  test('a part answered with another ETag: the file changed, it restarts from 0 and ends as the new file', async () => {
    const v2 = randomBytes(BODY.length);
    origin.route('/changes', (req, res, n) =>
      n <= 2 ? serve(req, res, BODY, { etag: '"a"' }) : serve(req, res, v2, { etag: '"b"', ignoreIfRange: true }),
    );
    const f = file('/changes');
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.equal(await f.tempSha256(), sha256(v2));
    assert.equal(f.restarts, 1);
    assert.deepEqual(f.validators, { size: v2.length, etag: '"b"', lastModified: null });
  });

  test('a connection answered with other bytes than asked stops; the others finish its part', async () => {
    origin.route('/liar', (req, res, n) => {
      if (n === 2) {
        // A Content-Range for bytes the request did not ask for.
        res.writeHead(206, { 'content-range': `bytes 0-99/${BODY.length}`, 'content-length': '100', etag: '"l"' });
        res.end(BODY.subarray(0, 100));
        return;
      }
      return serve(req, res, BODY, { etag: '"l"' });
    });
    const f = file('/liar');
    await downloadFile(f.request({ options: SEGMENTED }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.ok(origin.hits('/liar').length >= 5, 'the lied-about part was asked for again');
  });

  test('a fatal answer on one part (404) stops every connection: the download fails with it, progress kept', async () => {
    origin.route('/gone', (req, res, n) => {
      if (n === 3) {
        res.writeHead(404, { 'content-length': '0' }).end();
        return;
      }
      return serve(req, res, BODY, { etag: '"g"', dripBytes: 64 * 1024, dripMs: 2 });
    });
    const f = file('/gone');
    const err = await transferFailure(downloadFile(f.request({ options: SEGMENTED })));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_HTTP_ERROR_404');
    assert.ok(f.segments !== null || f.bytesTransferred === 0);
  });

  test('a slow part is split: an idle connection takes the back half of the part with the most left', async () => {
    origin.route('/slow', (req, res) => {
      // The part starting at 2 MiB + … drips; the others come at once.
      const slow = (req.headers.range ?? '').startsWith(`bytes=${QUARTER}-`);
      return serve(req, res, BODY, { etag: '"s"', ...(slow ? { dripBytes: 32 * 1024, dripMs: 20 } : {}) });
    });
    const f = file('/slow');
    // Parts of 256 KiB at least: the slow 2 MiB part is worth splitting for a while.
    await downloadFile(f.request({ options: { ...SEGMENTED, minSplitBytes: 256 * 1024 } }));
    assert.equal(await f.tempSha256(), BODY_SHA);
    const asked = spans('/slow');
    assert.ok(asked.length > 4, `a part was split and stolen: ${JSON.stringify(asked)}`);
    const stolen = asked.slice(4).find(([first]) => first > QUARTER && first < 2 * QUARTER);
    assert.ok(stolen !== undefined, `the slow part's back half was asked for: ${JSON.stringify(asked)}`);
  });
});
