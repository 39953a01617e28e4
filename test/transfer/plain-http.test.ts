import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { closePlainConnections, idlePlainConnections } from '../../src/transfer/plain-http.ts';
import { HeadError, MAX_HEAD_BYTES, parseResponseHead, UNUSUAL } from '../../src/transfer/response-head.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { rawOrigin } from '../helpers/raw-origin.ts';

// The plain-http reader (src/transfer/plain-http.ts): a strict head parser in front of a socket
// that reads bodies straight into the sink's buffers; undici takes what it declines.

const BODY = randomBytes(3 * 1024 * 1024 + 77);
let dir: string;
let seq = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openbits-plain-'));
});
after(async () => {
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const head = (text: string) => {
  const b = Buffer.from(text, 'latin1');
  return parseResponseHead(b, b.length);
};
const headError = (text: string): string => {
  try {
    head(text);
  } catch (err) {
    assert.ok(err instanceof HeadError);
    return err.code;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
};

describe('response head parser', () => {
  test('a plain head: status, lower-cased headers, length, keep-alive', () => {
    const h = head('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nETag: "x"\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody');
    assert.ok(h !== null && h !== UNUSUAL);
    assert.equal(h.status, 206);
    assert.equal(h.length, 10);
    assert.equal(h.headers.etag, '"x"');
    assert.deepEqual(h.headers['x-a'], ['1', '2']);
    assert.equal(h.keepAlive, true);
    assert.equal(
      h.headBytes,
      Buffer.byteLength('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nETag: "x"\r\nX-A: 1\r\nx-a: 2\r\n\r\n'),
    );
  });

  test('incomplete heads wait for more; an empty reason phrase is fine', () => {
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n'), null);
    const h = head('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n');
    assert.ok(h !== null && h !== UNUSUAL && h.status === 200);
  });

  test('connection handling: HTTP/1.0, Connection: close, Keep-Alive timeout', () => {
    const ten = head('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n');
    assert.ok(ten !== null && ten !== UNUSUAL && !ten.keepAlive);
    const close = head('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n');
    assert.ok(close !== null && close !== UNUSUAL && !close.keepAlive);
    const hint = head('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 1\r\n\r\n');
    assert.ok(hint !== null && hint !== UNUSUAL && hint.keepAliveSeconds === 5);
  });

  test('unusual but valid answers are left to undici', () => {
    assert.equal(head('HTTP/1.1 100 Continue\r\n\r\n'), UNUSUAL);
    assert.equal(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), UNUSUAL);
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'), UNUSUAL);
    assert.equal(head('HTTP/1.1 200 OK\r\n\r\n'), UNUSUAL, 'a body delimited by the close');
    const empty = head('HTTP/1.1 304 Not Modified\r\n\r\n');
    assert.ok(empty !== null && empty !== UNUSUAL && empty.length === 0);
  });

  test('malformed heads are refused', () => {
    assert.equal(
      headError('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 1\r\n\r\n'),
      'HPE_INVALID_HEADER_TOKEN',
    );
    assert.equal(headError('HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nX-B: 2\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n'), 'HPE_CR_EXPECTED');
    assert.equal(headError('HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n'), 'HPE_LF_EXPECTED');
    assert.equal(headError('HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\n: 1\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/1.1 200 OK\r\nno colon\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN');
    assert.equal(headError('HTTP/2 200 OK\r\n\r\n'), 'HPE_INVALID_STATUS');
    assert.equal(headError('HTTP/1.1 20 OK\r\n\r\n'), 'HPE_INVALID_STATUS');
    assert.equal(
      headError('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'),
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    );
    assert.equal(
      headError('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n'),
      'HPE_UNEXPECTED_CONTENT_LENGTH',
      'repeated, even with the same value',
    );
    for (const bad of ['1, 2', '3, 3', '-1', '0x10', '+5', '', '1 2']) {
      assert.equal(headError(`HTTP/1.1 200 OK\r\nContent-Length: ${bad}\r\n\r\n`), 'HPE_INVALID_CONTENT_LENGTH', bad);
    }
  });

  test('a head past 16 KiB is refused, complete or not', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\nContent-Length: 1\r\n\r\n`;
    assert.equal(headError(big), 'UND_ERR_HEADERS_OVERFLOW');
    assert.equal(headError(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`), 'UND_ERR_HEADERS_OVERFLOW');
  });
});

const file = (url: string) => new RecordedFile(url, join(dir, `p${++seq}.bin`));

describe('plain-http reader', () => {
  test('a malformed head fails as an invalid response; nothing is written', async () => {
    for (const bad of [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n folded: x\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\nX: y\r\n\r\nhello',
    ]) {
      const origin = await rawOrigin((s) => s.end(bad));
      try {
        const f = file(origin.url('/bad'));
        const err = await transferFailure(downloadFile(f.request()));
        assert.equal(err.failure.error.name, 'ERROR_HTTP_INVALID_SERVER_RESPONSE', bad);
        assert.equal(f.bytesTransferred, 0);
      } finally {
        origin.server.close();
      }
    }
  });

  test('an oversized head fails fatal (header size overflow)', async () => {
    const origin = await rawOrigin((s) => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`));
    try {
      const err = await transferFailure(downloadFile(file(origin.url('/big')).request()));
      assert.equal(err.failure.kind, 'fatal');
      assert.equal(err.failure.error.name, 'ERROR_HTTP_HEADER_SIZE_OVERFLOW');
    } finally {
      origin.server.close();
    }
  });

  test('files of one origin: one kept connection serves them all, a body split anywhere arrives whole', async () => {
    const origin = await rawOrigin((s) => {
      s.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY.subarray(0, 1000).toString('latin1')}`,
        'latin1',
      );
      s.write(BODY.subarray(1000));
    });
    try {
      for (let i = 0; i < 3; i++) {
        const f = file(origin.url(`/k${i}`));
        await downloadFile(f.request());
        assert.equal(await f.tempSha256(), sha256(BODY));
      }
      assert.equal(origin.requests(), 3);
      assert.equal(origin.connections(), 1);
      assert.equal(idlePlainConnections(), 1);
      closePlainConnections();
      assert.equal(idlePlainConnections(), 0);
    } finally {
      await closeDispatchers();
      origin.server.close();
    }
  });

  test('a chunked answer goes to undici (the request is sent again there), then that origin stays with undici', async () => {
    const origin = await rawOrigin((s) =>
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    );
    try {
      const dynamic = { options: { dynamicContent: true } };
      const f = file(origin.url('/c'));
      await downloadFile(f.request(dynamic));
      assert.equal(f.bytesTransferred, 5);
      assert.equal(origin.requests(), 2);
      const g = file(origin.url('/d'));
      await downloadFile(g.request(dynamic));
      assert.equal(g.bytesTransferred, 5);
      assert.equal(origin.requests(), 3);
    } finally {
      await closeDispatchers();
      origin.server.close();
    }
  });

  test('a short body fails transient with the prefix kept', async () => {
    const origin = await rawOrigin((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`);
      s.end(BODY.subarray(0, 2 * 1024 * 1024));
    });
    try {
      const f = file(origin.url('/short'));
      const err = await transferFailure(downloadFile(f.request()));
      assert.equal(err.failure.kind, 'transient');
      assert.equal(err.failure.error.name, 'BG_E_CONNECTION_CLOSED');
      assert.ok(f.bytesTransferred <= 2 * 1024 * 1024);
    } finally {
      origin.server.close();
    }
  });
});
