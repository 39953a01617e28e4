import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatJobId,
  LENGTH_TO_EOF,
  normalizeJobId,
  splitUrlCredentials,
  validateCredentials,
  validateCustomHeaders,
  validateDescription,
  validateDisplayName,
  validateLocalPath,
  validateMinimumRetryDelay,
  validateNotifyCmdLine,
  validateNotifyFlags,
  validatePriority,
  validateProxySettings,
  validateRanges,
  validateRemoteUrl,
  validateSecurityFlags,
} from '../../src/core/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';

/** Input validation with BITS's limits and codes (bits-client.md §4, §5, §9.2, §18 item 20). */
describe('strings at their limits', () => {
  test('display name: 256 ok, 257 → E_INVALIDARG', () => {
    assert.equal(validateDisplayName('n'.repeat(256)).length, 256);
    assertBitsError(() => validateDisplayName('n'.repeat(257)), 'E_INVALIDARG');
    assertBitsError(() => validateDisplayName(null), 'E_INVALIDARG');
    assertBitsError(() => validateDisplayName('a\0b'), 'E_INVALIDARG');
  });

  test('description: 1,024 ok, 1,025 → BG_E_STRING_TOO_LONG; NULL → E_INVALIDARG', () => {
    assert.equal(validateDescription('d'.repeat(1024)).length, 1024);
    assertBitsError(() => validateDescription('d'.repeat(1025)), 'BG_E_STRING_TOO_LONG');
    assertBitsError(() => validateDescription(null), 'E_INVALIDARG');
  });

  test('URL: 2,200 ok, 2,201 → E_INVALIDARG', () => {
    const base = 'https://example.org/';
    assert.equal(validateRemoteUrl(base + 'a'.repeat(2200 - base.length)).length, 2200);
    assertBitsError(() => validateRemoteUrl(base + 'a'.repeat(2201 - base.length)), 'E_INVALIDARG', /2200/);
  });

  test('custom headers: 16,384 including the terminator; longer → BG_E_STRING_TOO_LONG', () => {
    // "X-A: " + value + CRLF, plus the NUL BITS counts: 16,384 in all is the most allowed.
    const header = (n: number) => `X-A: ${'v'.repeat(n)}\r\n`;
    const fits = header(16384 - 1 - 7);
    assert.equal(fits.length + 1, 16384);
    assert.equal(validateCustomHeaders(fits), fits);
    assertBitsError(() => validateCustomHeaders(header(16384 - 7)), 'BG_E_STRING_TOO_LONG');
  });

  test('custom headers: CR or LF inside a header, bad names and reserved names → E_INVALIDARG', () => {
    assertBitsError(() => validateCustomHeaders('X-A: 1\nX-B: 2'), 'E_INVALIDARG', /CR, LF/);
    assertBitsError(() => validateCustomHeaders('X-A: 1\rX-B: 2'), 'E_INVALIDARG');
    assertBitsError(() => validateCustomHeaders(['X-A: 1\r\nHost: evil']), 'E_INVALIDARG');
    assertBitsError(() => validateCustomHeaders('Bad Name: 1'), 'E_INVALIDARG');
    assertBitsError(() => validateCustomHeaders('no colon here'), 'E_INVALIDARG');
    assertBitsError(() => validateCustomHeaders('Host: elsewhere'), 'E_INVALIDARG', /set by openbits/);
    assertBitsError(() => validateCustomHeaders('Range: bytes=0-'), 'E_INVALIDARG');
    assert.equal(validateCustomHeaders(['X-A:1', 'X-B:  two ']), 'X-A: 1\r\nX-B: two\r\n');
    assert.equal(validateCustomHeaders(null), null);
  });

  test('notify command line: absolute program, parameters ≤ 4,000, program needed with parameters', () => {
    assert.deepEqual(validateNotifyCmdLine('/usr/bin/notify', 'notify %1'), {
      program: '/usr/bin/notify',
      parameters: 'notify %1',
    });
    assert.equal(validateNotifyCmdLine(null, null), null);
    assertBitsError(() => validateNotifyCmdLine('notify', null), 'E_INVALIDARG');
    assertBitsError(() => validateNotifyCmdLine(null, 'x'), 'E_INVALIDARG');
    assertBitsError(() => validateNotifyCmdLine('/bin/x', 'p'.repeat(4001)), 'BG_E_STRING_TOO_LONG');
  });
});

describe('paths and URLs', () => {
  test('local names must be absolute and normalised', () => {
    assert.equal(validateLocalPath('/srv/data/file.bin'), '/srv/data/file.bin');
    // Dots that are part of a name, not a `.` or `..` segment.
    for (const good of ['/srv/.hidden', '/srv/..x/f', '/srv/a..', '/srv/.../f', '/.f']) {
      assert.equal(validateLocalPath(good), good);
    }
    for (const bad of [
      'relative/file',
      './file',
      'file',
      '/srv/../etc/passwd',
      '/srv/./f',
      '/srv/..',
      '/srv/.',
      '/../f',
      '/srv/dir/',
      '/a\nb',
      '/a*',
    ]) {
      assertBitsError(() => validateLocalPath(bad), 'E_INVALIDARG', undefined);
    }
    assertBitsError(() => validateLocalPath(`/${'p'.repeat(4096)}`), 'E_INVALIDARG');
  });

  test('URL userinfo is split off (decoded), the rest of the URL kept as given', () => {
    assert.deepEqual(splitUrlCredentials('https://u:p%40ss@h:8443/a?b=c@d'), {
      url: 'https://h:8443/a?b=c@d',
      credentials: { userName: 'u', password: 'p@ss' },
    });
    assert.deepEqual(splitUrlCredentials('http://a%40b@h/x'), {
      url: 'http://h/x',
      credentials: { userName: 'a@b', password: '' },
    });
    assert.deepEqual(splitUrlCredentials('http://@h/x'), { url: 'http://h/x', credentials: null });
    for (const plain of ['http://h/x?to=a@b', 'http://h/a@b', 'file:///srv/x']) {
      assert.deepEqual(splitUrlCredentials(plain), { url: plain, credentials: null });
    }
  });

  test('remote names: http, https and file only; a host; legal characters', () => {
    for (const ok of ['http://h/x', 'https://u:p@h:8443/a?b=c', 'file:///srv/x'])
      assert.equal(validateRemoteUrl(ok), ok);
    for (const bad of [
      'ftp://h/x',
      'gopher://h/',
      'javascript:alert(1)',
      'http:///x',
      'file://host/x',
      'http://h/a b',
      '',
    ]) {
      assertBitsError(() => validateRemoteUrl(bad), 'E_INVALIDARG');
    }
    assertBitsError(() => validateRemoteUrl('file:///srv/x', { uploadOnly: true }), 'E_INVALIDARG');
  });
});

describe('ranges (AddFileWithRanges, §5.4, §18 item 14)', () => {
  test('valid ranges keep the order given', () => {
    const ranges = [
      { offset: 900, length: 100 },
      { offset: 100, length: 100 },
      { offset: 2000, length: LENGTH_TO_EOF },
    ];
    assert.deepEqual(validateRanges(ranges), ranges);
  });

  test('overlap and duplicate offsets → BG_E_OVERLAPPING_RANGES', () => {
    assertBitsError(
      () =>
        validateRanges([
          { offset: 0, length: 100 },
          { offset: 50, length: 10 },
        ]),
      'BG_E_OVERLAPPING_RANGES',
    );
    assertBitsError(
      () =>
        validateRanges([
          { offset: 10, length: 5 },
          { offset: 10, length: 5 },
        ]),
      'BG_E_OVERLAPPING_RANGES',
    );
    assertBitsError(
      () =>
        validateRanges([
          { offset: 10, length: LENGTH_TO_EOF },
          { offset: 500, length: 5 },
        ]),
      'BG_E_OVERLAPPING_RANGES',
    );
  });

  test('offset BG_LENGTH_TO_EOF and zero or negative lengths → BG_E_INVALID_RANGE; no ranges → E_INVALIDARG', () => {
    assertBitsError(() => validateRanges([{ offset: LENGTH_TO_EOF, length: 10 }]), 'BG_E_INVALID_RANGE');
    assertBitsError(() => validateRanges([{ offset: 0, length: 0 }]), 'BG_E_INVALID_RANGE');
    assertBitsError(() => validateRanges([{ offset: 0, length: -5 }]), 'BG_E_INVALID_RANGE');
    assertBitsError(() => validateRanges([{ offset: 1.5, length: 5 }]), 'BG_E_INVALID_RANGE');
    assertBitsError(() => validateRanges([]), 'E_INVALIDARG');
  });
});

describe('settings', () => {
  test('proxy settings (§5.9)', () => {
    assert.deepEqual(validateProxySettings({ usage: 'NO_PROXY' }), {
      usage: 'NO_PROXY',
      proxyList: null,
      bypassList: null,
    });
    assert.deepEqual(
      validateProxySettings({ usage: 'OVERRIDE', proxyList: 'http=p1:80 https://p2:443', bypassList: '<local>' }),
      {
        usage: 'OVERRIDE',
        proxyList: 'http=p1:80 https://p2:443',
        bypassList: '<local>',
      },
    );
    assertBitsError(() => validateProxySettings({ usage: 'OVERRIDE', proxyList: null }), 'E_INVALIDARG');
    assertBitsError(() => validateProxySettings({ usage: 'PRECONFIG', proxyList: 'p:80' }), 'E_INVALIDARG');
    assertBitsError(() => validateProxySettings({ usage: 'AUTODETECT', bypassList: 'x' }), 'E_INVALIDARG');
    assertBitsError(() => validateProxySettings({ usage: 'SOMETIMES' }), 'E_NOTIMPL');
    assertBitsError(
      () => validateProxySettings({ usage: 'OVERRIDE', proxyList: `p${'x'.repeat(4000)}` }),
      'BG_E_PROXY_LIST_TOO_LARGE',
    );
    assertBitsError(
      () => validateProxySettings({ usage: 'OVERRIDE', proxyList: 'p:80', bypassList: 'b'.repeat(4001) }),
      'BG_E_PROXY_BYPASS_LIST_TOO_LARGE',
    );
    assertBitsError(() => validateProxySettings({ usage: 'OVERRIDE', proxyList: 'ftp=p:80/path' }), 'E_INVALIDARG');
  });

  test('credentials (§5.3)', () => {
    const basic = { target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p' };
    assert.deepEqual(validateCredentials(basic), basic);
    // Schemes no engine answers are refused (issue 12 item 10), with or without a user name.
    for (const scheme of ['NTLM', 'NEGOTIATE', 'PASSPORT']) {
      assertBitsError(() => validateCredentials({ target: 'PROXY', scheme }), 'E_NOTIMPL');
      assertBitsError(() => validateCredentials({ ...basic, scheme }), 'E_NOTIMPL');
    }
    assertBitsError(() => validateCredentials({ ...basic, target: 'CLIENT' }), 'BG_E_INVALID_AUTH_TARGET');
    assertBitsError(() => validateCredentials({ ...basic, scheme: 'KERBEROS' }), 'BG_E_INVALID_AUTH_SCHEME');
    assertBitsError(() => validateCredentials({ ...basic, userName: null }), 'E_INVALIDARG');
    assertBitsError(() => validateCredentials({ ...basic, scheme: 'DIGEST', password: null }), 'E_INVALIDARG');
    assert.equal(validateCredentials({ ...basic, userName: 'u'.repeat(300) }).userName?.length, 300);
    assertBitsError(() => validateCredentials({ ...basic, userName: 'u'.repeat(301) }), 'BG_E_USERNAME_TOO_LARGE');
    assertBitsError(() => validateCredentials({ ...basic, password: 'p'.repeat(65536) }), 'BG_E_PASSWORD_TOO_LARGE');
  });

  test('notify flags and priority: unknown values → E_NOTIMPL', () => {
    assert.equal(validateNotifyFlags(0x3f), 0x3f);
    assert.equal(validateNotifyFlags(0), 0);
    for (const bad of [0x40, -1, 1.5, '3', null]) assertBitsError(() => validateNotifyFlags(bad), 'E_NOTIMPL');
    for (const p of ['FOREGROUND', 'HIGH', 'NORMAL', 'LOW']) assert.equal(validatePriority(p), p);
    for (const bad of ['URGENT', 'normal', 2, null]) assertBitsError(() => validatePriority(bad), 'E_NOTIMPL');
  });

  test('security flags: unsupported bits → E_NOTIMPL', () => {
    assert.equal(validateSecurityFlags(0x0800 | 0x0100 | 0x001f), 0x091f);
    for (const bad of [0x0300, 0x1000, 0x0020, -1]) assertBitsError(() => validateSecurityFlags(bad), 'E_NOTIMPL');
  });

  test('MinimumRetryDelay under 5 s is clamped to 5 s; out-of-range values → E_INVALIDARG', () => {
    assert.equal(validateMinimumRetryDelay(0), 5);
    assert.equal(validateMinimumRetryDelay(4), 5);
    assert.equal(validateMinimumRetryDelay(5), 5);
    assert.equal(validateMinimumRetryDelay(600), 600);
    for (const bad of [-1, 2 ** 32, 1.5, '60']) assertBitsError(() => validateMinimumRetryDelay(bad), 'E_INVALIDARG');
  });

  test('job ids: a GUID with or without braces, normalised to lower case', () => {
    const id = '6b1f3c2e-0a4d-4e8f-9c7b-1d2e3f405162';
    assert.equal(normalizeJobId(`{${id.toUpperCase()}}`), id);
    assert.equal(normalizeJobId(id), id);
    assert.equal(normalizeJobId('not-a-guid'), null);
    assert.equal(normalizeJobId(42), null);
    assert.equal(formatJobId(id), `{${id.toUpperCase()}}`);
  });
});
