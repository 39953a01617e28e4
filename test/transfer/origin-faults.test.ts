import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import {
  failFirst,
  hugeHeaders,
  type OriginServer,
  redirectTo,
  serve,
  serving,
  startOrigin,
} from '../helpers/origin-server.ts';
import { TestClock } from '../helpers/test-clock.ts';

// One test per fault of reliability-security-performance.md §1.6 against a scripted origin.

const BODY = randomBytes(3 * 1024 * 1024 + 123);
const BODY_SHA = sha256(BODY);
let origin: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-faults-'));
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

function file(path: string): RecordedFile {
  return new RecordedFile(origin.url(path), join(dir, `f${++seq}.bin`));
}

describe('origin faults', () => {
  test('plain download: the temp file holds the body, checkpointed at the end', async () => {
    origin.route('/plain', (req, res) => serve(req, res, BODY, { etag: '"v1"' }));
    const f = file('/plain');
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), BODY_SHA);
    assert.equal(f.bytesTransferred, BODY.length);
    assert.equal(f.bytesTotal, BODY.length);
    assert.deepEqual(f.validators, { size: BODY.length, etag: '"v1"', lastModified: null });
    assert.equal(origin.hits('/plain')[0]?.headers['accept-encoding'], 'identity');
  });

  test('reset mid-body: transient, prefix kept, resume with Range gives the right sha256', async () => {
    origin.route('/reset', (req, res, n) =>
      serve(req, res, BODY, { etag: '"r"', ...(n === 1 ? { fault: 'reset', faultAfter: 1_500_000 } : {}) }),
    );
    const f = file('/reset');
    const err = await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 256 * 1024 } })));
    assert.equal(err.failure.kind, 'transient');
    assert.match(err.failure.error.name, /CONNECTION_RESET|CONNECTION_CLOSED/u);
    // A RST may drop bytes the client had not read yet, so the kept prefix can be anything.
    assert.ok(f.bytesTransferred < BODY.length, `kept ${f.bytesTransferred}`);
    const kept = f.bytesTransferred;
    await downloadFile(f.request());
    const second = origin.hits('/reset')[1];
    assert.equal(second?.headers.range, kept > 0 ? `bytes=${kept}-` : undefined);
    assert.equal(second?.headers['if-range'], kept > 0 ? '"r"' : undefined);
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('stall: the body-idle timeout (on the injected clock) fails transient; resume completes', async () => {
    let stalled!: () => void;
    const stall = new Promise<void>((r) => {
      stalled = r;
    });
    origin.route('/stall', (req, res, n) =>
      serve(req, res, BODY, {
        etag: '"s"',
        ...(n === 1 ? { fault: 'stall', faultAfter: 700_000, onFault: () => stalled() } : {}),
      }),
    );
    const f = file('/stall');
    const clock = new TestClock();
    const req = f.request({ clock, options: { checkpointBytes: 64 * 1024 } });
    let checkpointed!: () => void;
    const firstCheckpoint = new Promise<void>((r) => {
      checkpointed = r;
    });
    const p = downloadFile({
      ...req,
      hooks: {
        ...req.hooks,
        onCheckpoint: (n) => {
          req.hooks.onCheckpoint(n);
          checkpointed();
        },
      },
    });
    await stall;
    await firstCheckpoint;
    clock.advance(59_000);
    clock.advance(1_000);
    const err = await transferFailure(p);
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_TIMEOUT');
    assert.ok(f.bytesTransferred > 0, 'the bytes before the stall are kept');
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('slow drip: small pieces with pauses still complete (idle timer reset by each piece)', async () => {
    const small = BODY.subarray(0, 40_000);
    origin.route('/drip', (req, res) => serve(req, res, small, { dripBytes: 2_000, dripMs: 10 }));
    const f = file('/drip');
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), sha256(small));
  });

  test('short body: the connection closes early → transient, prefix kept, resume completes', async () => {
    origin.route('/short', (req, res, n) =>
      serve(req, res, BODY, {
        lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT',
        ...(n === 1 ? { fault: 'short', faultAfter: 1_000_000 } : {}),
      }),
    );
    const f = file('/short');
    const err = await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 100_000 } })));
    assert.equal(err.failure.kind, 'transient');
    assert.ok(f.bytesTransferred > 0 && f.bytesTransferred <= 1_000_000);
    await downloadFile(f.request());
    assert.equal(origin.hits('/short')[1]?.headers['if-range'], 'Wed, 01 Jan 2025 00:00:00 GMT');
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('200 to a Range request: fatal BG_E_INSUFFICIENT_RANGE_SUPPORT, partial data untouched', async () => {
    origin.route('/norange', (req, res, n) =>
      serve(req, res, BODY, {
        etag: '"n"',
        ...(n === 1 ? { fault: 'short', faultAfter: 500_000 } : { ignoreRange: true }),
      }),
    );
    const f = file('/norange');
    await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 100_000 } })));
    const kept = f.bytesTransferred;
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_INSUFFICIENT_RANGE_SUPPORT');
    assert.equal(f.bytesTransferred, kept);
    const temp = await readFile(f.temporaryName ?? '');
    assert.equal(sha256(temp), sha256(BODY.subarray(0, kept)));
  });

  test('200 to a Range request with dynamic content: restarts at 0 and completes', async () => {
    origin.route('/dyn', (req, res, n) =>
      serve(req, res, BODY, { ...(n === 1 ? { fault: 'short', faultAfter: 500_000 } : { ignoreRange: true }) }),
    );
    const f = file('/dyn');
    await transferFailure(downloadFile(f.request({ options: { dynamicContent: true, checkpointBytes: 100_000 } })));
    await downloadFile(f.request({ options: { dynamicContent: true } }));
    assert.equal(f.restarts, 1);
    assert.equal(origin.hits('/dyn')[1]?.headers.range, undefined);
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  for (const validator of ['etag', 'lastModified'] as const) {
    test(`${validator} change between attempts: If-Range answered 200 → restart from 0 with the new file`, async () => {
      const v2 = randomBytes(BODY.length);
      const path = `/flip-${validator}`;
      const lm = ['Wed, 01 Jan 2025 00:00:00 GMT', 'Thu, 02 Jan 2025 00:00:00 GMT'];
      origin.route(path, (req, res, n) =>
        serve(req, res, n === 1 ? BODY : v2, {
          ...(validator === 'etag'
            ? { etag: n === 1 ? '"one"' : '"two"' }
            : { lastModified: lm[n === 1 ? 0 : 1] ?? null }),
          ...(n === 1 ? { fault: 'short', faultAfter: 1_000_000 } : {}),
        }),
      );
      const f = file(path);
      await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 100_000 } })));
      assert.ok(f.bytesTransferred > 0);
      await downloadFile(f.request());
      assert.equal(f.restarts, 1);
      assert.equal(await f.tempSha256(), sha256(v2));
    });
  }

  test('ETag change answered 206 (server ignores If-Range): detected on the 206, restart from 0', async () => {
    const v2 = randomBytes(BODY.length);
    origin.route('/flip206', (req, res, n) =>
      serve(req, res, n === 1 ? BODY : v2, {
        etag: n === 1 ? '"one"' : '"two"',
        ignoreIfRange: true,
        ...(n === 1 ? { fault: 'short', faultAfter: 1_000_000 } : {}),
      }),
    );
    const f = file('/flip206');
    await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 100_000 } })));
    await downloadFile(f.request());
    assert.equal(f.restarts, 1);
    assert.equal(origin.hits('/flip206')[2]?.headers.range, undefined, 'the restart asks for the whole file');
    assert.equal(await f.tempSha256(), sha256(v2));
  });

  test('missing Content-Length: fatal BG_E_MISSING_FILE_SIZE; dynamic content accepts it', async () => {
    origin.route('/chunked', (req, res) => serve(req, res, BODY, { noLength: true }));
    const f = file('/chunked');
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'BG_E_MISSING_FILE_SIZE');
    assert.equal(err.failure.error.context, 'REMOTE_FILE');
    const g = file('/chunked');
    await downloadFile(g.request({ options: { dynamicContent: true } }));
    assert.equal(g.bytesTotal, BODY.length);
    assert.equal(await g.tempSha256(), BODY_SHA);
  });

  test('416 with bytes */N equal to the size: the file is complete', async () => {
    origin.route('/done', (req, res) => serve(req, res, BODY, {}));
    const f = file('/done');
    await downloadFile(f.request());
    f.validators = null;
    await downloadFile(f.request());
    assert.equal(origin.hits('/done')[1]?.headers.range, `bytes=${BODY.length}-`);
    assert.equal(f.restarts, 0);
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('416 without Content-Range: restart from 0, never write the 416 body', async () => {
    origin.route('/416', (req, res, n) => {
      if (n === 2) {
        res.writeHead(416, { 'content-length': '11' }).end('not allowed');
        return;
      }
      return serve(req, res, BODY, n === 1 ? { fault: 'short', faultAfter: 300_000 } : {});
    });
    const f = file('/416');
    await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 100_000 } })));
    await downloadFile(f.request());
    assert.equal(f.restarts, 1);
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('redirect loop: fatal ERROR_HTTP_REDIRECT_FAILED', async () => {
    origin.route('/loop-a', redirectTo('/loop-b'));
    origin.route('/loop-b', redirectTo('/loop-a'));
    const f = file('/loop-a');
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'ERROR_HTTP_REDIRECT_FAILED');
    assert.equal(origin.hits('/loop-a').length, 1);
  });

  test('too many redirects (cap 10): fatal', async () => {
    for (let i = 0; i < 12; i++) {
      origin.route(`/hop${i}`, redirectTo(`/hop${i + 1}`, 301));
    }
    const err = await transferFailure(downloadFile(file('/hop0').request()));
    assert.equal(err.failure.error.name, 'ERROR_HTTP_REDIRECT_FAILED');
    assert.equal(origin.hits('/hop10').length, 1);
    assert.equal(origin.hits('/hop11').length, 0);
  });

  test('1 MiB of response headers: fatal ERROR_HTTP_HEADER_SIZE_OVERFLOW', async () => {
    origin.route('/bighead', hugeHeaders());
    const err = await transferFailure(downloadFile(file('/bighead').request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'ERROR_HTTP_HEADER_SIZE_OVERFLOW');
  });

  test('Content-Encoding: gzip answered to Accept-Encoding: identity is stored exactly as sent', async () => {
    const gz = gzipSync(Buffer.alloc(2_000_000, 'a'));
    origin.route('/gzip', (req, res) => serve(req, res, gz, { extraHeaders: { 'content-encoding': 'gzip' } }));
    const f = file('/gzip');
    await downloadFile(f.request());
    assert.equal(origin.hits('/gzip')[0]?.headers['accept-encoding'], 'identity');
    assert.equal(f.bytesTotal, gz.length);
    assert.equal(await f.tempSha256(), sha256(gz));
  });

  test('CR/LF in a custom header: rejected before the wire (the origin sees no request)', async () => {
    origin.route('/crlf', (req, res) => serve(req, res, BODY));
    const f = file('/crlf');
    const err = await transferFailure(
      downloadFile(f.request({ options: { customHeaders: [['X-Foo', 'a\r\nHost: evil']] } })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'E_INVALIDARG');
    assert.equal(origin.hits('/crlf').length, 0);
  });

  test('503 with Retry-After, then OK: transient with retryAfterMs, then the right sha256', async () => {
    origin.route('/busy', failFirst(1, 503, { 'retry-after': '7' }, serving(BODY)));
    const f = file('/busy');
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'BG_E_HTTP_ERROR_503');
    assert.equal(err.failure.retryAfterMs, 7000);
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('404 and 501 are fatal; 429 and 500 transient (failure table)', async () => {
    for (const [status, kind] of [
      [404, 'fatal'],
      [410, 'fatal'],
      [501, 'fatal'],
      [429, 'transient'],
      [500, 'transient'],
    ] as const) {
      origin.route(`/status${status}`, (_req, res) => res.writeHead(status, { 'content-length': '0' }).end());
      const err = await transferFailure(downloadFile(file(`/status${status}`).request()));
      assert.equal(err.failure.kind, kind, `HTTP ${status}`);
      assert.equal(err.failure.error.name, `BG_E_HTTP_ERROR_${status}`);
      assert.equal(err.failure.error.context, 'REMOTE_FILE');
    }
  });

  test('connection refused: transient ERROR_INTERNET_CANNOT_CONNECT', async () => {
    const f = new RecordedFile('http://127.0.0.1:1/x', join(dir, 'refused.bin'));
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_CANNOT_CONNECT');
  });

  test('body longer than the range: writing stops at the size, protocol error, nothing past it', async () => {
    const small = BODY.subarray(0, 1000);
    origin.route('/long', (req, res, n) => {
      if (n === 1) return serve(req, res, small, { etag: '"L"', fault: 'short', faultAfter: 500 });
      // Chunked 206 for bytes 500-999 that keeps going past byte 999.
      res.writeHead(206, { etag: '"L"', 'content-range': 'bytes 500-999/1000' });
      res.end(Buffer.concat([small.subarray(500), Buffer.alloc(5000, 0xab)]));
    });
    const f = file('/long');
    await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 1 } })));
    assert.equal(f.bytesTransferred, 500);
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
    assert.equal(f.bytesTransferred, 1000);
    assert.equal(await f.tempSha256(), sha256(small), 'exactly the declared bytes, nothing past the size');
    await downloadFile(f.request());
    assert.equal(origin.hits('/long').length, 2, 'complete: no further request');
  });

  test('206 whose start is not the offset asked for: protocol error, body never written', async () => {
    const small = BODY.subarray(0, 1000);
    origin.route('/wrongstart', (req, res, n) => {
      if (n === 1) return serve(req, res, small, { etag: '"W"', fault: 'short', faultAfter: 400 });
      res.writeHead(206, { etag: '"W"', 'content-range': 'bytes 0-999/1000', 'content-length': '1000' }).end(small);
    });
    const f = file('/wrongstart');
    await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 1 } })));
    const err = await transferFailure(downloadFile(f.request()));
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
    assert.equal(f.bytesTransferred, 400);
    assert.equal(await f.tempSha256(), sha256(small.subarray(0, 400)));
  });

  test('the rate limiter is consumed for every byte before it is accepted', async () => {
    origin.route('/limited', (req, res) => serve(req, res, BODY));
    let taken = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let firstTake!: () => void;
    const firstTaken = new Promise<void>((r) => {
      firstTake = r;
    });
    const limiter = {
      take: async (n: number) => {
        if (taken === 0) {
          firstTake();
          await gate;
        }
        taken += n;
      },
    };
    const f = file('/limited');
    let settled = false;
    const p = downloadFile(f.request({ limiter })).finally(() => {
      settled = true;
    });
    await firstTaken;
    assert.equal(settled, false);
    assert.equal(f.checkpoints.length, 0, 'nothing written while the bucket is empty');
    release();
    await p;
    assert.equal(taken, BODY.length);
    assert.equal(await f.tempSha256(), BODY_SHA);
  });

  test('Content-Length together with Transfer-Encoding (raw server): rejected as a protocol error', async () => {
    const raw = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n');
        // The body follows the head in a later packet, as from a real server streaming it.
        setTimeout(() => socket.end('5\r\nhello\r\n0\r\n\r\n'), 50);
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    try {
      const f = new RecordedFile(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/x`, join(dir, 'smuggle.bin'));
      const err = await transferFailure(downloadFile(f.request()));
      // llhttp refuses the head; undici reports it as a Content-Length mismatch. Either way the
      // body is never read (the engine also refuses such a head itself if a parser lets it by).
      assert.equal(err.failure.kind, 'transient');
      assert.ok(['ERROR_HTTP_INVALID_SERVER_RESPONSE', 'BG_E_CONNECTION_CLOSED'].includes(err.failure.error.name));
      assert.equal(f.bytesTransferred, 0);
      assert.equal(f.connected, 0);
    } finally {
      raw.close();
    }
  });

  test('a server that never answers: the headers timeout (injected clock, 60 s) fails transient', async () => {
    let asked!: () => void;
    const reached = new Promise<void>((r) => {
      asked = r;
    });
    origin.route('/silent', () => {
      asked();
      return new Promise(() => undefined);
    });
    const clock = new TestClock();
    const p = downloadFile(file('/silent').request({ clock }));
    await reached;
    clock.advance(59_999);
    let settled = false;
    p.then(
      () => undefined,
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting before 60 s');
    clock.advance(1);
    const err = await transferFailure(p);
    assert.equal(err.failure.kind, 'transient');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_TIMEOUT');
  });
});
