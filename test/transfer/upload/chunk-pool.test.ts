// Read buffers of the upload engine go round: a chunk the socket is done with is read into again;
// a chunk still being sent never is.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChunkPool } from '../../../src/transfer/upload/chunk-pool.ts';
import { LocalUploadFile } from '../../../src/transfer/upload/local-file.ts';
import { removeDir, tempUpload } from './upload-request.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => removeDir(d))));

test('chunk pool: a given-back buffer is taken again, once; views into it and other sizes are not kept', () => {
  const pool = new ChunkPool(1024, 2);
  const a = pool.take(1024);
  const b = pool.take(100);
  assert.notEqual(a.buffer, b.buffer);
  pool.give(a);
  pool.give(a); // twice: kept once
  pool.give(Buffer.alloc(2048)); // another size
  pool.give(b.subarray(10)); // a view that does not start the buffer
  assert.equal(pool.take(1024).buffer, a.buffer);
  const c = pool.take(512);
  assert.notEqual(c.buffer, a.buffer, 'given back once, taken once');
  assert.notEqual(c.buffer, b.buffer);
});

test('local file: fragment chunks reuse the buffers the sender gave back, and the bytes stay right', async () => {
  const { dir, file, data } = await tempUpload(20 * MiB, 21);
  dirs.push(dir);
  const local = await LocalUploadFile.open(file, null);
  try {
    const body = local.fragment(0, data.length, null, new AbortController().signal);
    const seen: ArrayBufferLike[] = [];
    let at = 0;
    for await (const chunk of body.chunks()) {
      assert.ok(chunk.equals(data.subarray(at, at + chunk.length)), `bytes at ${at}`);
      at += chunk.length;
      seen.push(chunk.buffer);
      body.done?.(chunk);
    }
    assert.equal(at, data.length);
    // One chunk sent while the next is read ahead: two buffers go round.
    assert.equal(new Set(seen).size, 2, `${seen.length} chunks in ${new Set(seen).size} buffers`);

    // Chunks never given back (still in a socket) are never read into again.
    const held = local.fragment(0, data.length, null, new AbortController().signal);
    const kept: Buffer[] = [];
    for await (const chunk of held.chunks()) kept.push(chunk);
    assert.equal(new Set(kept.map((c) => c.buffer)).size, kept.length);
    assert.ok(Buffer.concat(kept).equals(data));
  } finally {
    await local.close();
  }
});
