// Issue 12 item 4: every integer a caller hands in is a whole number within its range, checked
// at the API edge with the BITS code the store's rules give it — the same code in-process, over
// the socket and from the CLI's parsers. 4294967296 was stored as notify flags (`& ~0x3f` wraps
// 2^32 to 0) and 1e300 came back as 1e+300.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import type { BitsManager } from '../../src/api/bits-manager.ts';
import { parseBandwidth, parseCount, parseFlags, parseRangeList } from '../../src/cli/parse-values.ts';
import { BitsError, type ErrorName, INTEGER_RANGES } from '../../src/core/index.ts';
import { rawCall, realManager, serve } from './helpers.ts';

interface Field {
  /** PUT /v1/jobs/:id/<path> with `{ value }`. */
  readonly path: string;
  /** The property in JobInfo. */
  readonly property: string;
  readonly code: ErrorName;
  readonly good: number;
  /** Whole numbers outside the range (besides 1e300, 1.5 and "7", which every field refuses). */
  readonly outside: readonly number[];
  readonly call: (m: BitsManager, id: string, v: number) => Promise<unknown>;
}

const FIELDS: readonly Field[] = [
  {
    path: 'notify-flags',
    property: 'notifyFlags',
    code: 'E_NOTIMPL',
    good: 1,
    outside: [4294967296, 4294967297, 64, -1],
    call: (m, id, v) => m.setNotifyFlags(id, v),
  },
  {
    path: 'security-flags',
    property: 'securityFlags',
    code: 'E_NOTIMPL',
    good: 0x0008,
    outside: [4294967296 + 8, 0x10000, -1],
    call: (m, id, v) => m.setSecurityFlags(id, v),
  },
  {
    path: 'minimum-retry-delay',
    property: 'minimumRetryDelay',
    code: 'E_INVALIDARG',
    good: 60,
    outside: [4294967296, -5],
    call: (m, id, v) => m.setMinimumRetryDelay(id, v),
  },
  {
    path: 'no-progress-timeout',
    property: 'noProgressTimeout',
    code: 'E_INVALIDARG',
    good: 120,
    outside: [4294967296, -1],
    call: (m, id, v) => m.setNoProgressTimeout(id, v),
  },
  {
    path: 'maximum-download-time',
    property: 'maximumDownloadTime',
    code: 'E_INVALIDARG',
    good: 3600,
    outside: [4294967296, -1],
    call: (m, id, v) => m.setMaximumDownloadTime(id, v),
  },
  {
    path: 'max-bandwidth',
    property: 'maxBandwidth',
    code: 'E_INVALIDARG',
    good: 65536,
    outside: [2 ** 53, -1],
    call: (m, id, v) => m.setMaxBandwidth(id, v),
  },
  {
    path: 'max-download-size',
    property: 'maxDownloadSize',
    code: 'BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE',
    good: 1_000_000,
    outside: [2 ** 53, 0, -1],
    call: (m, id, v) => m.setMaxDownloadSize(id, v),
  },
  {
    path: 'file-mode',
    property: 'fileMode',
    code: 'E_INVALIDARG',
    good: 0o640,
    outside: [0o1000, 4294967296 + 0o600, -1],
    call: (m, id, v) => m.setFileMode(id, v),
  },
  {
    path: 'cost-flags',
    property: 'costFlags',
    code: 'E_INVALIDARG',
    good: 0x80000021,
    // 2^32 + UNRESTRICTED would wrap to a valid mask; 0x100 names no cost state.
    outside: [4294967296 + 0x21, 0x100, 0, -1],
    call: (m, id, v) => m.setCostFlags(id, v),
  },
];

/** Raw JSON texts every integer field refuses, whatever its range. */
const NOT_IN_ANY_RANGE = ['1e300', '1.5', '"7"', 'true', '-1e300'];

describe('integer fields at the API edge (issue 12 item 4)', () => {
  let real: Awaited<ReturnType<typeof realManager>>;
  let served: Awaited<ReturnType<typeof serve>>;
  let agent: Agent;

  const call = (method: string, path: string, body?: string) => rawCall(agent, method, path, body);

  before(async () => {
    real = await realManager();
    served = await serve(real.manager);
    agent = new Agent({ connect: { socketPath: served.socketPath } });
  });
  after(async () => {
    await agent.close();
    await served.close();
    await real.close();
  });

  for (const f of FIELDS) {
    it(`${f.path}: ${f.code} for ${[...f.outside, ...NOT_IN_ANY_RANGE].join(', ')} over the socket and in-process; nothing stored`, async () => {
      const job = (await call('POST', '/v1/jobs', '{"displayName":"ints"}')).json;
      const put = (text: string) => call('PUT', `/v1/jobs/${job.id}/${f.path}`, `{"value":${text}}`);
      assert.equal((await put(String(f.good))).status, 204);
      const before = (await call('GET', `/v1/jobs/${job.id}`)).json[f.property];
      for (const text of [...f.outside.map(String), ...NOT_IN_ANY_RANGE]) {
        const res = await put(text);
        assert.equal(res.json?.error?.name, f.code, `PUT ${f.path} ${text}: ${JSON.stringify(res.json)}`);
        assert.ok(res.status >= 400 && res.status < 500, `${f.path} ${text}: HTTP ${res.status}`);
      }
      for (const v of [...f.outside, 1e300, 1.5]) {
        await assert.rejects(
          f.call(real.manager, job.id, v),
          (err: unknown) => err instanceof BitsError && err.name === f.code,
          `in-process ${f.path} ${v}`,
        );
      }
      assert.equal((await call('GET', `/v1/jobs/${job.id}`)).json[f.property], before, 'the stored value is unchanged');
    });
  }

  it('ranges of AddFileWithRanges and a file index in a path: BG_E_INVALID_RANGE / E_INVALIDARG', async () => {
    const job = (await call('POST', '/v1/jobs', '{"displayName":"ranges"}')).json;
    for (const [offset, length] of [
      ['1e300', '10'],
      ['0', '1e300'],
      ['4.5', '10'],
      ['-2', '10'],
      ['0', '-2'],
    ]) {
      const res = await call(
        'POST',
        `/v1/jobs/${job.id}/files`,
        `{"remoteName":"http://127.0.0.1:9/r","localName":"/tmp/openbits-r","ranges":[{"offset":${offset},"length":${length}}]}`,
      );
      assert.equal(res.json?.error?.name, 'BG_E_INVALID_RANGE', `${offset}:${length} ${JSON.stringify(res.json)}`);
    }
    for (const index of ['4294967296', '99999999999999999999', '1e3']) {
      const res = await call(
        'PUT',
        `/v1/jobs/${job.id}/files/${index}/remote-name`,
        '{"value":"http://127.0.0.1:9/x"}',
      );
      assert.equal(res.json?.error?.name, 'E_INVALIDARG', `index ${index}`);
    }
    assert.equal((await call('GET', `/v1/jobs/${job.id}`)).json.files.length, 0);
  });

  it('the CLI parsers: malformed text is a usage error; a number out of range is the BITS code', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        return err instanceof BitsError ? err.name : (err as Error).name;
      }
      return 'accepted';
    };
    const { notifyFlags, securityFlags, seconds } = INTEGER_RANGES;
    assert.equal(
      code(() => parseFlags('setnotifyflags', '4294967296', 'notify flags', notifyFlags)),
      'E_NOTIMPL',
    );
    assert.equal(
      code(() => parseFlags('setnotifyflags', '0x100000001', 'notify flags', notifyFlags)),
      'E_NOTIMPL',
    );
    assert.equal(
      code(() => parseFlags('setnotifyflags', '1e300', 'notify flags', notifyFlags)),
      'UsageError',
    );
    assert.equal(
      code(() => parseFlags('setnotifyflags', '0x3', 'notify flags', notifyFlags)),
      'accepted',
    );
    assert.equal(
      code(() => parseFlags('setsecurityflags', '99999999999999999999', 'f', securityFlags)),
      'E_NOTIMPL',
    );
    assert.equal(
      code(() => parseCount('setminretrydelay', '4294967296', 'delay', seconds)),
      'E_INVALIDARG',
    );
    assert.equal(
      code(() => parseCount('setminretrydelay', '4294967295', 'delay', seconds)),
      'accepted',
    );
    assert.equal(
      code(() => parseBandwidth('setmaxbandwidth', '99999999999G')),
      'E_INVALIDARG',
    );
    assert.equal(
      code(() => parseRangeList('addfilewithranges', '0:99999999999999999999')),
      'BG_E_INVALID_RANGE',
    );
    assert.equal(
      code(() => parseRangeList('addfilewithranges', '0:eof')),
      'accepted',
    );
  });
});
