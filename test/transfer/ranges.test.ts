import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// AddFileWithRanges (bits-client.md §5.4): ranges written back to back in the order given.

const BODY = randomBytes(1000);
let origin: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-ranges-'));
  origin.route('/file', (req, res) =>
    serve(req, res, BODY, { etag: '"r1"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' }),
  );
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const file = (url: string) => new RecordedFile(url, join(dir, `r${++seq}.bin`));

describe('ranges', () => {
  test('100–199, 900–999, 400–499 → a 300-byte file in that order, BytesTotal 300', async () => {
    const f = file(origin.url('/file'));
    const ranges = [
      { offset: 100, length: 100 },
      { offset: 900, length: 100 },
      { offset: 400, length: 100 },
    ];
    const before = origin.hits('/file').length;
    await downloadFile(f.request({ ranges }));
    const expected = Buffer.concat([BODY.subarray(100, 200), BODY.subarray(900, 1000), BODY.subarray(400, 500)]);
    assert.equal(f.bytesTotal, 300);
    assert.equal(f.validators?.size, 1000);
    assert.equal(await f.tempSha256(), sha256(expected));
    const sent = origin
      .hits('/file')
      .slice(before)
      .map((r) => r.headers.range);
    assert.deepEqual(sent, ['bytes=100-199', 'bytes=900-999', 'bytes=400-499']);
  });

  test('BG_LENGTH_TO_EOF is resolved once the size is known', async () => {
    const f = file(origin.url('/file'));
    await downloadFile(
      f.request({
        ranges: [
          { offset: 950, length: -1 },
          { offset: 0, length: 10 },
        ],
      }),
    );
    assert.equal(f.bytesTotal, 60);
    assert.equal(await f.tempSha256(), sha256(Buffer.concat([BODY.subarray(950), BODY.subarray(0, 10)])));
  });

  test('resume inside the second range after an interruption', async () => {
    origin.route('/cut', (req, res, n) =>
      serve(req, res, BODY, { etag: '"c"', ...(n === 2 ? { fault: 'short', faultAfter: 40 } : {}) }),
    );
    const f = file(origin.url('/cut'));
    const ranges = [
      { offset: 0, length: 100 },
      { offset: 500, length: 200 },
    ];
    const err = await transferFailure(downloadFile(f.request({ ranges, options: { checkpointBytes: 1 } })));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(f.bytesTransferred, 140);
    await downloadFile(f.request({ ranges }));
    assert.equal(origin.hits('/cut')[2]?.headers.range, 'bytes=540-699');
    assert.equal(await f.tempSha256(), sha256(Buffer.concat([BODY.subarray(0, 100), BODY.subarray(500, 700)])));
  });

  for (const validator of ['etag', 'lastModified'] as const) {
    test(`remote file changed (${validator}) between attempts: the ranges restart from 0 on the new file`, async () => {
      const v2 = randomBytes(1000);
      const path = `/rflip-${validator}`;
      const lm = ['Wed, 01 Jan 2025 00:00:00 GMT', 'Thu, 02 Jan 2025 00:00:00 GMT'];
      origin.route(path, (req, res, n) =>
        serve(req, res, n <= 2 ? BODY : v2, {
          ...(validator === 'etag' ? { etag: n <= 2 ? '"a"' : '"b"' } : { lastModified: lm[n <= 2 ? 0 : 1] ?? null }),
          ...(n === 2 ? { fault: 'short', faultAfter: 50 } : {}),
        }),
      );
      const f = file(origin.url(path));
      const ranges = [
        { offset: 0, length: 100 },
        { offset: 500, length: 200 },
      ];
      await transferFailure(downloadFile(f.request({ ranges, options: { checkpointBytes: 1 } })));
      assert.equal(f.bytesTransferred, 150);
      await downloadFile(f.request({ ranges }));
      assert.equal(f.restarts, 1);
      if (validator === 'lastModified') assert.equal(origin.hits(path)[2]?.headers['if-unmodified-since'], lm[0]);
      assert.equal(await f.tempSha256(), sha256(Buffer.concat([v2.subarray(0, 100), v2.subarray(500, 700)])));
    });
  }

  test('a range outside the file: fatal BG_E_INVALID_RANGE', async () => {
    const f = file(origin.url('/file'));
    const err = await transferFailure(
      downloadFile(
        f.request({
          ranges: [
            { offset: 0, length: 10 },
            { offset: 990, length: 20 },
          ],
        }),
      ),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_INVALID_RANGE');
    const g = file(origin.url('/file'));
    const err2 = await transferFailure(downloadFile(g.request({ ranges: [{ offset: 5000, length: 10 }] })));
    assert.equal(err2.failure.error.name, 'BG_E_INVALID_RANGE');
  });

  test('a server ignoring ranges (200): fatal BG_E_INSUFFICIENT_RANGE_SUPPORT', async () => {
    origin.route('/ignore', (req, res) => serve(req, res, BODY, { ignoreRange: true }));
    const err = await transferFailure(
      downloadFile(file(origin.url('/ignore')).request({ ranges: [{ offset: 10, length: 10 }] })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_INSUFFICIENT_RANGE_SUPPORT');
  });

  test('a server merging ranges (more than asked): fatal BG_E_INVALID_SERVER_RESPONSE', async () => {
    origin.route('/merge', (req, res) => serve(req, res, BODY, { mergeRanges: true }));
    const err = await transferFailure(
      downloadFile(file(origin.url('/merge')).request({ ranges: [{ offset: 10, length: 10 }] })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
  });

  test('maxDownloadSize below the size: fatal BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED', async () => {
    const err = await transferFailure(
      downloadFile(file(origin.url('/file')).request({ options: { maxDownloadSize: 999 } })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED');
    const f = file(origin.url('/file'));
    await downloadFile(f.request({ options: { maxDownloadSize: 1000 } }));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('file:// source: whole file and ranges, with the same temp/checkpoint rules', async () => {
    const src = join(dir, 'source.bin');
    await writeFile(src, BODY);
    const f = file(pathToFileURL(src).href);
    await downloadFile(f.request({ options: { checkpointBytes: 100 } }));
    assert.equal(await f.tempSha256(), sha256(BODY));
    assert.equal(f.checkpoints.at(-1), 1000);
    const g = file(pathToFileURL(src).href);
    await downloadFile(
      g.request({
        ranges: [
          { offset: 900, length: 100 },
          { offset: 0, length: 1 },
        ],
      }),
    );
    assert.equal(await g.tempSha256(), sha256(Buffer.concat([BODY.subarray(900), BODY.subarray(0, 1)])));
    const missing = await transferFailure(downloadFile(file(pathToFileURL(join(dir, 'nope')).href).request()));
    assert.equal(missing.failure.error.name, 'ERROR_FILE_NOT_FOUND');
  });
});
