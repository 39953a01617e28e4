import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type ErrorName, errorInfo } from '../../src/core/index.ts';
import { parseChallenges } from '../../src/transfer/auth.ts';
import { ifRangeValue, parseContentRange, validatorsChanged } from '../../src/transfer/content-range.ts';
import { DownloadSink } from '../../src/transfer/download-sink.ts';
import {
  ackRowKey,
  classifyHttpStatus,
  classifyLocalError,
  classifyNetworkError,
  FAILURE_TABLE,
  parseRetryAfter,
} from '../../src/transfer/failure-table.ts';
import { selectProxy } from '../../src/transfer/proxy.ts';
import { planSegments } from '../../src/transfer/range-plan.ts';
import { TestClock } from '../helpers/test-clock.ts';

describe('failure table', () => {
  test('every row names a registered error (or the HTTP pattern) and a context', () => {
    for (const row of FAILURE_TABLE) {
      if (!row.name.includes('<')) assert.ok(errorInfo(row.name as ErrorName), `${row.key} → ${row.name}`);
    }
    assert.equal(new Set(FAILURE_TABLE.map((r) => r.key)).size, FAILURE_TABLE.length, 'keys are unique');
  });

  test('docs/transfer.md shows exactly this table', async () => {
    const doc = await readFile(new URL('../../docs/transfer.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| `[a-z]+:[^`]+` \| (transient|fatal) \|/u.test(l));
    assert.equal(rows.length, FAILURE_TABLE.length);
    for (const r of FAILURE_TABLE) {
      assert.ok(rows.includes(`| \`${r.key}\` | ${r.kind} | \`${r.name}\` | ${r.context} | ${r.note} |`), r.key);
    }
  });

  test('error Acks classify as in handling-server-application-errors, and §6.2 always-fatal answers', () => {
    const expect: Array<[number, number | undefined, string]> = [
      [300, undefined, 'fatal'],
      [305, undefined, 'fatal'],
      [306, undefined, 'transient'],
      [307, undefined, 'fatal'],
      [308, undefined, 'transient'],
      [400, undefined, 'fatal'],
      [403, undefined, 'fatal'],
      [408, undefined, 'transient'],
      [409, undefined, 'transient'],
      [500, undefined, 'transient'],
      [500, 0x80070057, 'fatal'],
      [501, undefined, 'fatal'],
      [503, undefined, 'transient'],
      [503, 0x80200020, 'fatal'],
      [505, undefined, 'fatal'],
      [600, undefined, 'transient'],
    ];
    const kindOf = (key: string) => FAILURE_TABLE.find((r) => r.key === key)?.kind;
    for (const [status, code, kind] of expect) {
      assert.equal(kindOf(ackRowKey(status, code)), kind, `${status} ${code?.toString(16) ?? ''}`);
    }
  });

  test('HTTP statuses: 5xx transient except 501/505; 408/409/429 transient; other 4xx fatal', () => {
    const kinds = Object.fromEntries(
      [400, 401, 403, 404, 407, 408, 409, 410, 429, 500, 501, 502, 503, 504, 505].map((s) => [
        s,
        classifyHttpStatus(s).kind,
      ]),
    );
    assert.deepEqual(kinds, {
      400: 'fatal',
      401: 'fatal',
      403: 'fatal',
      404: 'fatal',
      407: 'fatal',
      408: 'transient',
      409: 'transient',
      410: 'fatal',
      429: 'transient',
      500: 'transient',
      501: 'fatal',
      502: 'transient',
      503: 'transient',
      504: 'transient',
      505: 'fatal',
    });
    const f = classifyHttpStatus(404);
    assert.equal(f.error.name, 'BG_E_HTTP_ERROR_404');
    assert.equal(f.error.hresult, 0x80190194);
    assert.equal(f.error.context, 'REMOTE_FILE');
  });

  test('network, TLS and local errors', () => {
    const net = (code: string) => classifyNetworkError(Object.assign(new Error(code), { code }));
    assert.equal(net('ECONNRESET').error.name, 'ERROR_INTERNET_CONNECTION_RESET');
    assert.equal(net('EAI_AGAIN').kind, 'transient');
    assert.equal(net('ENOTFOUND').error.name, 'ERROR_INTERNET_NAME_NOT_RESOLVED');
    assert.equal(net('UND_ERR_HEADERS_OVERFLOW').kind, 'fatal');
    assert.equal(net('DEPTH_ZERO_SELF_SIGNED_CERT').error.name, 'ERROR_INTERNET_INVALID_CA');
    assert.equal(net('CERT_HAS_EXPIRED').error.name, 'ERROR_INTERNET_SEC_CERT_DATE_INVALID');
    const wrapped = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error('x'), { code: 'EPIPE' }),
    });
    assert.equal(classifyNetworkError(wrapped).error.name, 'ERROR_INTERNET_CONNECTION_RESET');
    const local = (code: string) => classifyLocalError(Object.assign(new Error(code), { code }));
    for (const code of ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']) {
      assert.equal(local(code).kind, 'fatal', code);
      assert.equal(local(code).error.context, 'LOCAL_FILE', code);
    }
    assert.equal(local('EIO').kind, 'transient');
  });

  test('Retry-After: seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('120', 0), 120_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:01:00 GMT', 30_000), 30_000);
    assert.equal(parseRetryAfter('soon', 0), null);
    assert.equal(parseRetryAfter(null, 0), null);
  });
});

describe('parsers', () => {
  test('Content-Range', () => {
    assert.deepEqual(parseContentRange('bytes 0-99/1000'), { first: 0, last: 99, complete: 1000 });
    assert.deepEqual(parseContentRange('bytes */1000'), { first: null, last: null, complete: 1000 });
    assert.deepEqual(parseContentRange('bytes 5-9/*'), { first: 5, last: 9, complete: null });
    for (const bad of ['bytes 9-5/10', 'bytes 0-10/10', 'items 0-1/2', 'bytes -5/10', null]) {
      assert.equal(parseContentRange(bad), null, String(bad));
    }
  });

  test('validators and If-Range', () => {
    const v = { size: 10, etag: '"a"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' };
    assert.equal(validatorsChanged(v, { ...v }), false);
    assert.equal(validatorsChanged(v, { ...v, size: 11 }), true);
    assert.equal(validatorsChanged(v, { ...v, etag: null }), true);
    assert.equal(ifRangeValue(v), '"a"');
    assert.equal(ifRangeValue({ ...v, etag: 'W/"a"' }), v.lastModified, 'a weak ETag cannot be used in If-Range');
  });

  test('WWW-Authenticate with several challenges', () => {
    const c = parseChallenges([
      'Negotiate abc==, Digest realm="r, x", qop="auth,auth-int", nonce="n1", algorithm=SHA-256, Basic realm="b"',
    ]);
    assert.deepEqual(
      c.map((x) => x.scheme),
      ['negotiate', 'digest', 'basic'],
    );
    assert.deepEqual(c[1]?.params, { realm: 'r, x', qop: 'auth,auth-int', nonce: 'n1', algorithm: 'SHA-256' });
  });

  test('proxy selection: OVERRIDE per scheme, bypass <local> and *.suffix, env no_proxy', () => {
    const s = (proxyList: string, bypassList: string | null = null) =>
      ({ usage: 'OVERRIDE', proxyList, bypassList }) as const;
    assert.equal(selectProxy(s('http=p1:8080 https=p2:8443'), new URL('https://x.org/'))?.host, 'p2:8443');
    assert.equal(selectProxy(s('p0:3128 https=p2:8443'), new URL('http://x.org/'))?.host, 'p0:3128');
    assert.equal(selectProxy(s('p0:3128', '<local>'), new URL('http://intranet/')), null);
    assert.equal(selectProxy(s('p0:3128', '*.example.org'), new URL('http://a.example.org/')), null);
    assert.notEqual(selectProxy(s('p0:3128', '*.example.org'), new URL('http://example.com/')), null);
    const pre = { usage: 'PRECONFIG', proxyList: null, bypassList: null } as const;
    const env = { HTTPS_PROXY: 'http://envp:1', no_proxy: '.corp,localhost:8080' };
    assert.equal(selectProxy(pre, new URL('https://a.b/'), env)?.host, 'envp:1');
    assert.equal(selectProxy(pre, new URL('https://x.corp/'), env), null);
    assert.equal(selectProxy(pre, new URL('http://a.b/'), env), null, 'no http proxy set');
    assert.equal(selectProxy({ ...pre, usage: 'AUTODETECT' }, new URL('https://a.b/'), env)?.host, 'envp:1');
  });

  test('range plan: BG_LENGTH_TO_EOF resolved, past-the-end fatal', () => {
    const segs = planSegments(
      [
        { offset: 10, length: 5 },
        { offset: 90, length: -1 },
      ],
      100,
    );
    assert.deepEqual(segs, [
      { remoteStart: 10, length: 5, localStart: 0 },
      { remoteStart: 90, length: 10, localStart: 5 },
    ]);
    assert.throws(() => planSegments([{ offset: 95, length: 10 }], 100), /BG_E_INVALID_RANGE/u);
  });
});

describe('DownloadSink', () => {
  test('checkpoints by bytes and by the injected clock: fdatasync, then onCheckpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openbits-sink-'));
    const fh = await open(join(dir, 't'), 'w+');
    try {
      const clock = new TestClock();
      const seen: number[] = [];
      const sink = new DownloadSink(fh, 0, {
        clock,
        checkpointBytes: 3 * 1024 * 1024,
        checkpointMs: 2000,
        limiter: null,
        signal: new AbortController().signal,
        onCheckpoint: (n) => seen.push(n),
        onProgress: () => undefined,
      });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      // A due checkpoint runs beside the writes: writeOut waits for it (and for every write).
      for (let i = 0; i < 4; i++) await sink.write(chunk);
      await sink.writeOut();
      assert.deepEqual(seen, [3 * 1024 * 1024], 'by bytes');
      await sink.write(Buffer.alloc(10, 1));
      await sink.writeOut();
      assert.equal(seen.length, 1);
      clock.advance(2000);
      await sink.write(Buffer.alloc(10, 2));
      await sink.writeOut();
      assert.deepEqual(seen, [3 * 1024 * 1024, 4 * 1024 * 1024 + 20], 'by time');
      const onDisk = await readFile(join(dir, 't'));
      assert.equal(onDisk.length, 4 * 1024 * 1024 + 20, 'everything reported is on disk');
    } finally {
      await fh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
