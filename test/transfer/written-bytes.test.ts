import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256 } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// `bytesWritten` (docs/durability.md, "Written, not synced"): bytes an earlier run of this boot
// wrote past the checkpoint are kept — fdatasynced and recorded before any new byte — when the
// temp file holds them; otherwise the run resumes from the checkpoint and truncates past it.

const MiB = 1024 * 1024;
const BODY = randomBytes(4 * MiB);
let origin: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-written-'));
  origin.route('/w.bin', (req, res) => serve(req, res, BODY, { etag: '"w1"' }));
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A file whose whole body is in its temp file but whose record says only `checkpoint`, with
 * random bytes over everything from `garbageFrom` on (what a run must never keep).
 */
async function fileAt(checkpoint: number, garbageFrom: number): Promise<RecordedFile> {
  const f = new RecordedFile(origin.url('/w.bin'), join(dir, `w${++seq}.bin`));
  await downloadFile(f.request());
  assert.equal(f.bytesTransferred, BODY.length);
  f.bytesTransferred = checkpoint;
  f.checkpoints.length = 0;
  const fh = await open(f.temporaryName as string, 'r+');
  try {
    await fh.write(randomBytes(BODY.length - garbageFrom), 0, BODY.length - garbageFrom, garbageFrom);
  } finally {
    await fh.close();
  }
  return f;
}

/** The Range of the last request for the file, as the offset it starts at. */
const lastRangeStart = (): number =>
  Number(/^bytes=(\d+)-$/u.exec(String(origin.hits('/w.bin').at(-1)?.headers.range ?? ''))?.[1] ?? Number.NaN);

describe('bytes written past the checkpoint (bytesWritten)', () => {
  test('kept when the temp file holds them: recorded first, then only what follows is asked for', async () => {
    const f = await fileAt(MiB, 3 * MiB);
    await downloadFile(f.request({ bytesWritten: 3 * MiB }));
    assert.equal(f.checkpoints[0], 3 * MiB, 'the kept bytes are recorded before any other');
    assert.equal(lastRangeStart(), 3 * MiB);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('not kept when the temp file is shorter: resumed from the checkpoint', async () => {
    const f = await fileAt(MiB, MiB);
    await truncate(f.temporaryName as string, 2 * MiB);
    await downloadFile(f.request({ bytesWritten: 3 * MiB }));
    assert.notEqual(f.checkpoints[0], 3 * MiB);
    assert.equal(lastRangeStart(), MiB);
    assert.equal(await f.tempSha256(), sha256(BODY), 'the bytes past the checkpoint were fetched again');
  });

  test('never the whole file: the resume is asked for (its answer may carry a digest)', async () => {
    const f = await fileAt(MiB, MiB);
    const before = origin.hits('/w.bin').length;
    await downloadFile(f.request({ bytesWritten: BODY.length }));
    assert.equal(origin.hits('/w.bin').length, before + 1, 'one request');
    assert.equal(lastRangeStart(), MiB);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('ignored for a file that restarts in a new temp file', async () => {
    const f = await fileAt(MiB, MiB);
    // Another identity than recorded: the temp file is not trusted, the file starts afresh.
    f.temporaryFileId = '1:1';
    await downloadFile(f.request({ bytesWritten: 3 * MiB }));
    assert.notEqual(f.checkpoints[0], 3 * MiB);
    assert.equal(origin.hits('/w.bin').at(-1)?.headers.range, undefined, 'fetched whole');
    assert.equal(await f.tempSha256(), sha256(BODY));
  });
});
