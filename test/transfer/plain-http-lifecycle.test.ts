import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { closePlainConnections, idlePlainConnections, plainRequest } from '../../src/transfer/plain-http.ts';
import { RecordedFile } from '../helpers/download-request.ts';
import { type RawOrigin, rawOrigin } from '../helpers/raw-origin.ts';
import { until } from '../helpers/until.ts';

// The plain-http reader's exchange lifecycle over a raw server: when a connection may serve the
// next request, and that every pump settles.

const servers: Server[] = [];
after(async () => {
  closePlainConnections();
  await closeDispatchers();
  for (const s of servers) s.close();
});

/** A raw origin, closed after the file's tests; `answer(n, socket)` answers request n (from 1). */
async function rawServer(answer: (n: number, socket: Socket) => void): Promise<RawOrigin & { port: number }> {
  const origin = await rawOrigin((socket, n) => answer(n, socket));
  servers.push(origin.server);
  return { ...origin, port: Number(new URL(origin.url('/')).port) };
}

test('a request aborted between its head and its pump: the pump rejects (it does not hang)', async () => {
  const s = await rawServer((_n, socket) =>
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(100)}`),
  );
  const url = new URL(`http://127.0.0.1:${s.port}/f`);
  const ac = new AbortController();
  const res = await plainRequest({ url, path: '/f', headers: {}, connectTimeoutMs: 5000, fairShare: true }, ac.signal);
  assert.ok(res !== null);
  ac.abort(new Error('cancelled'));
  await assert.rejects(
    res.pump(() => null),
    /cancelled/u,
  );
});

test('a chunk the reader still holds when the body ends: the connection serves no one else until it lets go', async () => {
  const s = await rawServer((n, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
    // The body in a read of its own (into the scratch buffer: the reader offers no target).
    setImmediate(() => socket.write((n === 1 ? 'A' : 'B').repeat(5)));
  });
  const url = new URL(`http://127.0.0.1:${s.port}/f`);
  const req = { url, path: '/f', headers: {}, connectTimeoutMs: 5000, fairShare: false };
  const first = await plainRequest(req, new AbortController().signal);
  assert.ok(first !== null);
  let held: Buffer | null = null;
  const gate = Promise.withResolvers<void>();
  // As SegmentedSink.accept under a limiter: the chunk is copied only once the grant comes.
  const pumped = first.pump((chunk) => {
    held = chunk;
    return gate.promise;
  });
  await until(() => held !== null, 'the last chunk handed over');
  const second = await plainRequest(req, new AbortController().signal);
  assert.ok(second !== null);
  assert.equal(String(held), 'AAAAA', 'the held chunk was not overwritten by the next answer');
  gate.resolve();
  await pumped;
  second.destroy(new Error('done'));
  assert.equal(s.connections(), 2, 'the second request went out on another connection');
});

test('a body that comes whole with its head: each request is sent once (no stale-connection retry)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'openbits-plain-reuse-'));
  try {
    const s = await rawServer((_n, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'));
    for (let i = 0; i < 3; i++) {
      const f = new RecordedFile(`http://127.0.0.1:${s.port}/x${i}`, join(dir, `f${i}`));
      await downloadFile(f.request());
      assert.equal(f.bytesTransferred, 5);
    }
    // A kept connection armed with an empty read buffer failed its next read (ENOBUFS) and the
    // request went out twice.
    assert.equal(s.requests(), 3, 'each request sent once');
    assert.equal(s.connections(), 1, 'one connection kept for all three');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** GET `url` through the plain reader and read its body whole. */
async function getText(url: URL): Promise<string> {
  const req = { url, path: url.pathname, headers: {}, connectTimeoutMs: 5000, fairShare: false };
  const res = await plainRequest(req, new AbortController().signal);
  assert.ok(res !== null);
  let text = '';
  await res.pump((chunk) => {
    text += chunk.toString('latin1');
    return null;
  });
  return text;
}

test('a kept connection serves the next GET: one connect for two requests', async () => {
  const s = await rawServer((n, socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr${n}`));
  const url = new URL(`http://127.0.0.1:${s.port}/k`);
  assert.equal(await getText(url), 'r1');
  await until(() => idlePlainConnections() > 0, 'the connection kept');
  assert.equal(await getText(url), 'r2');
  assert.equal(s.requests(), 2);
  assert.equal(s.connections(), 1, 'the second GET went out on the kept connection');
});

test('a kept connection the server closes as the next request comes: sent once more, on a new connection', async () => {
  const s = await rawServer((n, socket) => {
    // The second request finds the server closing its kept connection without an answer.
    if (n === 2) socket.end();
    else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr${n}`);
  });
  const url = new URL(`http://127.0.0.1:${s.port}/c`);
  assert.equal(await getText(url), 'r1');
  await until(() => idlePlainConnections() > 0, 'the connection kept');
  assert.equal(await getText(url), 'r3', 'answered on the new connection');
  assert.equal(s.requests(), 3);
  assert.equal(s.connections(), 2);
});

test('a kept connection that fails otherwise (a local read error) after sending: not sent again', async () => {
  const s = await rawServer((n, socket) => {
    // Request 2 is read (an origin counts its hit) and left unanswered; a resend would get 200.
    if (n !== 2) socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr${n}`);
  });
  const url = new URL(`http://127.0.0.1:${s.port}/e`);
  assert.equal(await getText(url), 'r1');
  await until(() => idlePlainConnections() > 0, 'the connection kept');
  // Catch the client socket the second request is written on.
  const proto = Socket.prototype as unknown as { write: (this: Socket, ...args: unknown[]) => boolean };
  const write = proto.write;
  let client: Socket | null = null;
  proto.write = function (this: Socket, ...args: unknown[]): boolean {
    proto.write = write;
    client = this;
    return write.apply(this, args);
  };
  let second: Promise<string>;
  try {
    second = getText(url);
    await until(() => s.requests() === 2, 'the second request read by the origin');
  } finally {
    proto.write = write; // also when no write happened
  }
  assert.ok(client !== null);
  (client as Socket).destroy(Object.assign(new Error('read ENOBUFS'), { code: 'ENOBUFS' }));
  await assert.rejects(second, (err: NodeJS.ErrnoException) => err.code === 'ENOBUFS');
  assert.equal(s.requests(), 2, 'the request was not sent again');
  assert.equal(s.connections(), 1);
});
