// Large bodies are read straight into shared 4 MiB slabs (receive-slabs.ts). A slab may be read
// into again only once every chunk cut from it was released: reusing it earlier would overwrite
// bytes still waiting for their write. The server tests upload several sessions at once, over
// many slabs, and compare every byte that landed.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { releaseChunk, retainChunk, SlabReader, type SlabSink } from '../../src/upload-server/http/receive-slabs.ts';
import * as fx from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';

/** A reader whose sink keeps what arrives, expecting `expect()` more body bytes. */
function reading(expect: () => number): { reader: SlabReader; chunks: Buffer[] } {
  const reader = new SlabReader();
  const chunks: Buffer[] = [];
  const sink: SlabSink = {
    expecting: expect,
    receive: (chunk) => {
      chunks.push(chunk);
      return true;
    },
  };
  reader.attach(sink);
  return { reader, chunks };
}

test('a slab is read into again only after every chunk from it was released', () => {
  let expected = 8 * 1024 * 1024;
  const { reader, chunks } = reading(() => expected);
  const first = reader.nextBuffer();
  reader.onRead(1000, first);
  const second = reader.nextBuffer();
  assert.equal(second.buffer, first.buffer, 'the next read goes on in the same slab');
  assert.equal(second.byteOffset, first.byteOffset + 1000);
  reader.onRead(500, second);
  expected = 0;
  const small = reader.nextBuffer();
  assert.notEqual(small.buffer, first.buffer, 'outside a large body reads go to fresh buffers');
  const [a, b] = chunks as [Buffer, Buffer];
  assert.equal(a.length, 1000);
  assert.equal(b.length, 500);

  // A split chunk counts twice: releasing one half and `a` still leaves `b` holding the slab.
  retainChunk(b);
  releaseChunk(b);
  releaseChunk(a);
  const other = reading(() => 8 * 1024 * 1024);
  const busy = other.reader.nextBuffer();
  assert.notEqual(busy.buffer, a.buffer, 'a slab with an unreleased chunk is not handed out');
  other.reader.onRead(10, busy);
  other.reader.close();
  releaseChunk(other.chunks[0] as Buffer);

  releaseChunk(b);
  const again = reading(() => 8 * 1024 * 1024).reader.nextBuffer();
  assert.equal(again.buffer, a.buffer, 'once all chunks are released the slab is reused');
  assert.equal(again.byteOffset, 0);
});

test('bytes that are not from a slab are ignored by release and retain', () => {
  const plain = Buffer.alloc(10);
  retainChunk(plain);
  releaseChunk(plain);
  releaseChunk(plain);
});

test('three sessions at once, large fragments over many slabs: every byte lands where it belongs', async () => {
  const f = await fx.startFixture({ maxFragmentSize: 64 * 1024 * 1024 });
  try {
    const size = 13 * 1024 * 1024 + 12_345;
    const fragmentBytes = 5 * 1024 * 1024 + 7;
    const upload = async (n: number) => {
      const data = fx.payload(size, 900 + n);
      const c = await RawClient.connect(f.port);
      try {
        const url = `/up-${n}.bin`;
        const { id } = await fx.createSession(c, url);
        for (let off = 0; off < size; off += fragmentBytes) {
          const res = await fx.fragment(c, url, id, off, data.subarray(off, off + fragmentBytes), size);
          assert.equal(res.status, 200, res.statusLine);
        }
        // A small request on the same connection after the large bodies (heads outside slabs).
        assert.equal((await fx.packet(c, url, 'Ping')).status, 200);
        assert.equal((await fx.packet(c, url, 'Close-Session', id)).status, 200);
      } finally {
        c.socket.destroy();
      }
      return fx.sha256(data);
    };
    const digests = await Promise.all([0, 1, 2].map(upload));
    for (const [n, digest] of digests.entries()) {
      const file = path.join(f.root, `up-${n}.bin`);
      assert.equal((await fs.stat(file)).size, size);
      assert.equal(await fx.sha256File(file), digest, `up-${n}.bin`);
    }
  } finally {
    await fx.removeFixture(f);
  }
});
