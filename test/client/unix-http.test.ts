import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReplyParser, UnixHttpClient } from '../../src/client/unix-http.ts';
import { TestClock } from '../helpers/test-clock.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unix-http-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let serial = 0;
/** A server on a fresh socket path in `dir`; closed after the test. */
async function listen(server: Server | ReturnType<typeof createNetServer>): Promise<string> {
  const path = join(dir, `s${serial++}.sock`);
  server.listen(path);
  await once(server, 'listening');
  after(() => {
    (server as Server).closeAllConnections?.();
    server.close();
  });
  return path;
}

/** A raw server that answers every connection's first bytes with `reply` (then maybe closes). */
async function rawServer(reply: string, close: boolean): Promise<string> {
  return listen(
    createNetServer((socket: Socket) => {
      socket.once('data', () => {
        if (close) socket.end(reply);
        else socket.write(reply);
      });
    }),
  );
}

/** Feed `wire` to `parser` one byte at a time: the heads returned, the body, whether it ended. */
function feedBytewise(parser: ReplyParser, wire: Buffer): { heads: number[]; body: string; done: boolean } {
  const heads: number[] = [];
  const body: Buffer[] = [];
  let done = false;
  for (let i = 0; i < wire.length; i++) {
    const out = parser.push(wire.subarray(i, i + 1));
    if (out.head !== undefined) heads.push(out.head.statusCode);
    body.push(...out.chunks);
    done ||= out.done;
  }
  return { heads, body: Buffer.concat(body).toString(), done };
}

describe('ReplyParser', () => {
  it('decodes a chunked body fed one byte at a time, with extensions and trailers', () => {
    const wire = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=7\r\n\r\n' +
        '5;ext=1\r\nhello\r\n1\r\n \r\na\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n',
    );
    const parser = new ReplyParser();
    const { heads, body, done } = feedBytewise(parser, wire);
    assert.deepEqual(heads, [200]);
    assert.equal(body, 'hello 0123456789');
    assert.ok(done);
    assert.equal(parser.reusable, true);
    assert.equal(parser.keepAliveMs, 7000);
  });

  it('ends a content-length body at its length, and a 204 at its head', () => {
    const p = new ReplyParser();
    const out = p.push(Buffer.from('HTTP/1.1 201 Created\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc'));
    assert.equal(out.head?.statusCode, 201);
    assert.equal(Buffer.concat(out.chunks).toString(), 'abc');
    assert.ok(out.done);
    assert.equal(p.reusable, false);
    const empty = new ReplyParser().push(Buffer.from('HTTP/1.1 204 No Content\r\nx-a: 1\r\nx-a: 2\r\n\r\n'));
    assert.ok(empty.done);
    assert.equal(empty.head?.headers['x-a'], '1, 2');
  });

  it('rejects what is not an HTTP/1.x reply, a bad chunk size and a bad content-length', () => {
    assert.throws(() => new ReplyParser().push(Buffer.from('SSH-2.0-x\r\n\r\n')), { code: 'HPE_INVALID_CONSTANT' });
    const chunked = new ReplyParser();
    chunked.push(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n'));
    assert.throws(() => chunked.push(Buffer.from('zz\r\n')), { code: 'HPE_INVALID_CHUNK_SIZE' });
    assert.throws(() => new ReplyParser().push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n')), {
      code: 'HPE_INVALID_CONTENT_LENGTH',
    });
  });
});

describe('ReplyParser: interim replies, connection tokens, chunk extensions', () => {
  it('skips 1xx heads (not 101) and returns the final one, fed one byte at a time', () => {
    const wire = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n' +
        'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    );
    const { heads, body, done } = feedBytewise(new ReplyParser(), wire);
    assert.deepEqual(heads, [200]);
    assert.equal(body, 'ok');
    assert.ok(done);
    const switching = new ReplyParser().push(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n'));
    assert.equal(switching.head?.statusCode, 101, '101 is final');
  });

  it('reads the connection header as case-insensitive comma tokens', () => {
    const reusable = (version: string, connection: string): boolean => {
      const p = new ReplyParser();
      p.push(Buffer.from(`HTTP/${version} 200 OK\r\nconnection: ${connection}\r\ncontent-length: 0\r\n\r\n`));
      return p.reusable;
    };
    assert.equal(reusable('1.1', 'close, foo'), false);
    assert.equal(reusable('1.1', 'foo,Close'), false);
    assert.equal(reusable('1.1', 'CLOSE'), false);
    assert.equal(reusable('1.1', 'foo, keep-alive'), true);
    assert.equal(reusable('1.0', 'foo, Keep-Alive'), true);
    assert.equal(reusable('1.0', 'keep-alive, close'), false);
    assert.equal(reusable('1.0', 'foo'), false);
  });

  it('accepts whitespace before a chunk extension', () => {
    const p = new ReplyParser();
    const out = p.push(
      Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5 ;a\r\nhello\r\n1\t; b=1\r\n!\r\n0\r\n\r\n'),
    );
    assert.equal(Buffer.concat(out.chunks).toString(), 'hello!');
    assert.ok(out.done);
  });
});

describe('UnixHttpClient', () => {
  it('sends method, path, headers and body, and reuses one connection for calls in a row', async () => {
    const seen: string[] = [];
    let connections = 0;
    const server = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ n: seen.length }));
      });
    });
    server.on('connection', () => connections++);
    const client = new UnixHttpClient(await listen(server));
    const first = await client.request({
      method: 'POST',
      path: '/v1/jobs?x=1',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
      timeoutMs: 10_000,
      keepAlive: true,
    });
    assert.equal(first.statusCode, 200);
    assert.equal(await first.text(), '{"n":1}');
    const second = await client.request({ method: 'GET', path: '/two', timeoutMs: 10_000, keepAlive: true });
    assert.equal(await second.text(), '{"n":2}');
    assert.deepEqual(seen, ['POST /v1/jobs?x=1 application/json {"a":"é"}', 'GET /two - ']);
    assert.equal(connections, 1);
    client.close();
  });

  it('keeps a connection for less than the keep-alive timeout the server said, and none the server closes', async () => {
    let connections = 0;
    const server = createNetServer((socket) => {
      connections++;
      socket.on('data', (d) => {
        const close = d.toString().includes('GET /close ');
        socket.write(
          `HTTP/1.1 200 OK\r\nkeep-alive: timeout=5\r\n${close ? 'connection: close\r\n' : ''}content-length: 2\r\n\r\nok`,
        );
      });
    });
    const clock = new TestClock();
    const client = new UnixHttpClient(await listen(server), clock);
    const get = async (path: string): Promise<void> => {
      const r = await client.request({ method: 'GET', path, timeoutMs: 10_000, keepAlive: true });
      assert.equal(await r.text(), 'ok');
    };
    await get('/a');
    clock.advance(3_900);
    await get('/b');
    assert.equal(connections, 1, 'reused within 5 s less the 1 s margin');
    clock.advance(4_001);
    await get('/c');
    assert.equal(connections, 2, 'not reused past it');
    await get('/close');
    await get('/d');
    assert.equal(connections, 3, 'not reused after connection: close');
    client.close();
  });

  it('streams a chunked body as it comes, and reads a body that ends with the connection', async () => {
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('one\n');
      setImmediate(() => res.end('two\n'));
    });
    const client = new UnixHttpClient(await listen(server));
    const r = await client.request({ method: 'GET', path: '/events', timeoutMs: 10_000, keepAlive: false });
    const parts: string[] = [];
    for await (const chunk of r.body) parts.push(chunk.toString());
    assert.equal(parts.join(''), 'one\ntwo\n');
    const closing = new UnixHttpClient(await rawServer('HTTP/1.0 200 OK\r\n\r\nuntil the end', true));
    const c = await closing.request({ method: 'GET', path: '/', timeoutMs: 10_000, keepAlive: true });
    assert.equal(await c.text(), 'until the end');
  });

  it('refuses a request line or header that would split the request; fails with the Node codes connectionError maps', async () => {
    const nowhere = new UnixHttpClient(join(dir, 'nobody.sock'));
    for (const bad of [
      { method: 'GET', path: '/a b' },
      { method: 'GET', path: '/a\r\nx: 1' },
      { method: 'GET', path: '/', headers: { 'x-a': '1\r\nx-b: 2' } },
    ]) {
      await assert.rejects(nowhere.request({ ...bad, timeoutMs: 10_000, keepAlive: true }), {
        code: 'ERR_INVALID_CHAR',
      });
    }
    await assert.rejects(nowhere.request({ method: 'GET', path: '/', timeoutMs: 10_000, keepAlive: true }), {
      code: 'ENOENT',
    });
    const cut = new UnixHttpClient(await rawServer('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc', true));
    const r = await cut.request({ method: 'GET', path: '/', timeoutMs: 10_000, keepAlive: true });
    await assert.rejects(r.text(), { code: 'ECONNRESET' });
    const silent = new UnixHttpClient(await listen(createNetServer(() => {})));
    await assert.rejects(silent.request({ method: 'GET', path: '/', timeoutMs: 50, keepAlive: true }), {
      code: 'ETIMEDOUT',
    });
    const abort = new AbortController();
    const pending = silent.request({
      method: 'GET',
      path: '/',
      timeoutMs: 10_000,
      keepAlive: false,
      signal: abort.signal,
    });
    abort.abort();
    await assert.rejects(pending, { code: 'ABORT_ERR' });
  });

  it('waits past a 100 Continue for the final reply; does not reuse a connection answered `Connection: close, foo`', async () => {
    let connections = 0;
    const server = createNetServer((socket) => {
      connections++;
      socket.on('data', () => {
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        setImmediate(() =>
          socket.write(
            'HTTP/1.1 200 OK\r\nConnection: close, foo\r\ntransfer-encoding: chunked\r\n\r\n2 ;x\r\nok\r\n0\r\n\r\n',
          ),
        );
      });
    });
    const client = new UnixHttpClient(await listen(server));
    for (const path of ['/a', '/b']) {
      const r = await client.request({ method: 'GET', path, timeoutMs: 10_000, keepAlive: true });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.text(), 'ok');
    }
    assert.equal(connections, 2, 'a new connection after `close, foo`');
    client.close();
  });

  it('sends a GET or HEAD again on a fresh connection when the server closed the kept one just before; never a POST', async () => {
    const connections: Socket[] = [];
    const requests: string[] = [];
    const server = createNetServer((socket) => {
      connections.push(socket);
      socket.on('data', (d) => {
        const line = d.toString('latin1').split(' ', 2).join(' ');
        requests.push(line);
        const body = line.startsWith('HEAD ') ? '' : 'ok';
        socket.write(`HTTP/1.1 200 OK\r\nkeep-alive: timeout=60\r\ncontent-length: 2\r\n\r\n${body}`);
      });
    });
    const client = new UnixHttpClient(await listen(server));
    const call = (method: string, path: string) => client.request({ method, path, timeoutMs: 10_000, keepAlive: true });
    /** A call (on the kept connection, if any), then the server closes that idle connection right before the next call. */
    const closeIdle = async (): Promise<void> => {
      const r = await call('GET', '/warm');
      await r.text();
      connections.at(-1)?.destroy();
    };
    await closeIdle();
    const get = await call('GET', '/again');
    assert.equal(await get.text(), 'ok');
    assert.equal(connections.length, 2, 'the GET went out once more, on a fresh connection');
    await closeIdle();
    const head = await call('HEAD', '/again');
    assert.equal(head.statusCode, 200);
    assert.equal(connections.length, 3, 'so did the HEAD');
    await closeIdle();
    await assert.rejects(call('POST', '/jobs'), (err: NodeJS.ErrnoException) => {
      assert.ok(err.code === 'EPIPE' || err.code === 'ECONNRESET', String(err.code));
      return true;
    });
    assert.equal(connections.length, 3, 'no new connection for the POST');
    assert.deepEqual(requests, ['GET /warm', 'GET /again', 'GET /warm', 'HEAD /again', 'GET /warm']);
    client.close();
  });
});
