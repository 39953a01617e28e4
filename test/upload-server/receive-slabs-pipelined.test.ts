// Slab ownership under stress: every fragment of several uploads pipelined in one byte stream per
// connection, of random sizes (1 B – 6 MiB), cut into random writes. A chunk released before its
// write finished garbles the files; a split chunk not retained corrupts the next request's head.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';

const GUID = '{7df0354d-249b-430f-820d-3d2a9bef4931}';

function head(url: string, headers: Record<string, string>, length = 0): Buffer {
  let text = `BITS_POST ${url} HTTP/1.1\r\nHost: x\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  return Buffer.from(`${text}Content-Length: ${length}\r\n\r\n`, 'latin1');
}

/** A small deterministic generator: the same cuts on every run. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
}

async function upload(port: number, root: string, i: number, size: number): Promise<void> {
  const rnd = lcg(i + 1);
  const data = randomBytes(size);
  const url = `/p${i}.bin`;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let input = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    input += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const nextAnswer = async (): Promise<string> => {
    for (;;) {
      const end = input.indexOf('\r\n\r\n');
      if (end >= 0) {
        const h = input.slice(0, end);
        const length = Number(/content-length: (\d+)/iu.exec(h)?.[1] ?? 0);
        if (input.length >= end + 4 + length) {
          input = input.slice(end + 4 + length);
          return h;
        }
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  try {
    socket.write(head(url, { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': GUID }));
    const id = /BITS-Session-Id: (\S+)/iu.exec(await nextAnswer())?.[1] ?? '';
    const parts: Buffer[] = [];
    let requests = 0;
    for (let off = 0; off < size; requests++) {
      const len = Math.min(size - off, 1 + rnd(6 * 1024 * 1024));
      const range = `bytes ${off}-${off + len - 1}/${size}`;
      parts.push(head(url, { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': id, 'Content-Range': range }, len));
      parts.push(data.subarray(off, off + len));
      off += len;
    }
    parts.push(head(url, { 'BITS-Packet-Type': 'Close-Session', 'BITS-Session-Id': id }));
    requests++;
    const stream = Buffer.concat(parts);
    const writing = (async () => {
      for (let o = 0; o < stream.length; ) {
        const l = Math.min(stream.length - o, 1 + rnd(300_000));
        if (!socket.write(stream.subarray(o, o + l))) await new Promise((resolve) => socket.once('drain', resolve));
        o += l;
      }
    })();
    for (let k = 0; k < requests; k++) {
      const answer = await nextAnswer();
      assert.match(answer, /^HTTP\/1\.1 200/u, `connection ${i}, answer ${k}: ${answer.split('\r\n')[0]}`);
    }
    await writing;
    assert.ok((await readFile(join(root, `p${i}.bin`))).equals(data), `upload ${i} landed byte for byte`);
  } finally {
    socket.destroy();
  }
}

test('four uploads, every fragment pipelined and cut at random: every byte lands, every answer is 200', async () => {
  const root = await mkdtemp(join(tmpdir(), 'openbits-slabs-pipe-'));
  const server = await startBitsUploadServer({ root, maxFragmentSize: 64 * 1024 * 1024 });
  try {
    await Promise.all([0, 1, 2, 3].map((i) => upload(server.port, root, i, 24 * 1024 * 1024)));
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
