// Unit tests of the pure pieces: request-head parser, URL mapping, Range parsing, error mapping.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorAck, toUploadError, UploadError } from '../../src/upload-server/ack.ts';
import { parseRange } from '../../src/upload-server/byte-ranges.ts';
import {
  DEFAULT_HEAD_LIMITS,
  findHeadEnd,
  HeadError,
  parseRequestHead,
} from '../../src/upload-server/http/request-head.ts';
import { parseTarget } from '../../src/upload-server/url-path.ts';

function head(text: string) {
  return parseRequestHead(Buffer.from(text, 'latin1'));
}

describe('request head parser', () => {
  test('parses method, target, headers (lower-cased, repeated kept) and keep-alive', () => {
    const h = head('BITS_POST /a/b.txt?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a:  2 \r\nContent-Length: 12\r\n\r\n');
    assert.equal(h.method, 'BITS_POST');
    assert.equal(h.target, '/a/b.txt?x=1');
    assert.equal(h.minorVersion, 1);
    assert.deepEqual(h.headers.get('x-a'), ['1', '2']);
    assert.equal(h.contentLength, 12);
    assert.ok(h.hasContentLength);
    assert.ok(h.keepAlive);
    assert.ok(!head('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n').keepAlive);
    assert.ok(!head('GET / HTTP/1.0\r\n\r\n').keepAlive);
    assert.ok(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive);
    assert.ok(!head('GET / HTTP/1.1\r\nHost: h\r\n\r\n').hasContentLength);
    // Method case is kept (methods are case-sensitive); the router answers `bits_post` with an Ack.
    assert.equal(head('bits_post / HTTP/1.1\r\nHost: h\r\n\r\n').method, 'bits_post');
  });

  test('findHeadEnd waits for CRLFCRLF and enforces the size limits', () => {
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n'), DEFAULT_HEAD_LIMITS), -1);
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\n\r\nrest'), DEFAULT_HEAD_LIMITS), 18);
    assert.throws(
      () => findHeadEnd(Buffer.alloc(9000, 'a'), DEFAULT_HEAD_LIMITS),
      (e: HeadError) => e.status === 414,
    );
    const big = Buffer.from(`GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(3000)}`);
    assert.throws(
      () => findHeadEnd(big, DEFAULT_HEAD_LIMITS),
      (e: HeadError) => e.status === 431,
    );
  });

  test('rejects malformed heads with the right status', () => {
    const bad: Array<[string, number]> = [
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['GET / HTTP/3.0\r\nHost: h\r\n\r\n', 505],
      ['GET / HTTPS/1.1\r\nHost: h\r\n\r\n', 400],
      ['GET /a b HTTP/1.1\r\nHost: h\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n', 400],
    ];
    for (const [text, status] of bad) {
      assert.throws(
        () => head(text),
        (e: unknown) => e instanceof HeadError && e.status === status,
        JSON.stringify(text),
      );
    }
  });
});

describe('URL mapping', () => {
  test('maps decoded segments under the prefix; outside, folders, replies and reserved names', () => {
    assert.deepEqual(parseTarget('/up/a%20b/c.txt?q=1', '/up/'), {
      kind: 'file',
      segments: ['a b', 'c.txt'],
      path: 'a b/c.txt',
      query: 'q=1',
    });
    assert.deepEqual(parseTarget('/other/x', '/up/'), { kind: 'outside' });
    assert.deepEqual(parseTarget('/up', '/up/'), { kind: 'directory' });
    assert.deepEqual(parseTarget('/up/d/', '/up/'), { kind: 'directory' });
    assert.deepEqual(parseTarget('http://host:1/up/f', '/up/').kind, 'file');
    assert.deepEqual(parseTarget('/BITS-Sessions/Replies/%7BAB%7D/responsefile.bin', '/'), {
      kind: 'reply',
      sessionId: '{AB}',
    });
    assert.deepEqual(parseTarget('/bits-sessions/requests/x', '/'), { kind: 'reserved' });
    assert.deepEqual(parseTarget('/state/x', '/', ['state']), { kind: 'reserved' });
  });

  test('traversal shapes throw 400 E_INVALIDARG', () => {
    for (const t of ['/..', '/a/%2E%2E/b', '/a%2fb', '/a%5Cb', '//x', '/%00', '/a/./b', '/%E0%A4%A', 'x', '/a#b']) {
      assert.throws(
        () => parseTarget(t, '/'),
        (e: unknown) => e instanceof UploadError && e.status === 400 && e.name === 'E_INVALIDARG',
        t,
      );
    }
  });
});

describe('Range parsing', () => {
  test('single, open-ended, suffix, multiple (order kept), unsatisfiable, malformed', () => {
    assert.deepEqual(parseRange(undefined, 100), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'ranges', ranges: [{ start: 0, end: 9 }] });
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'ranges', ranges: [{ start: 90, end: 99 }] });
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'ranges', ranges: [{ start: 90, end: 99 }] });
    assert.deepEqual(parseRange('bytes=50-200', 100), { kind: 'ranges', ranges: [{ start: 50, end: 99 }] });
    assert.deepEqual(parseRange('bytes=50-59, 0-9', 100), {
      kind: 'ranges',
      ranges: [
        { start: 50, end: 59 },
        { start: 0, end: 9 },
      ],
    });
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=9-1', 100), { kind: 'full' });
    assert.deepEqual(parseRange('items=0-1', 100), { kind: 'full' });
  });
});

describe('error mapping', () => {
  test('file-system errors become the Ack the client should see', () => {
    const full = toUploadError(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    assert.equal(full.status, 500);
    assert.equal(full.hresult, 0x80070070);
    const denied = toUploadError(Object.assign(new Error('denied'), { code: 'EACCES' }));
    assert.equal(denied.status, 403);
    assert.equal(denied.hresult, 0x80070005);
    const other = toUploadError(new Error('boom'));
    assert.equal(other.status, 500);
    assert.equal(other.name, 'E_FAIL');
    const ack = errorAck(full);
    assert.deepEqual(ack.headers.slice(-2), [
      ['BITS-Error-Code', '0x80070070'],
      ['BITS-Error-Context', '0x5'],
    ]);
  });
});
