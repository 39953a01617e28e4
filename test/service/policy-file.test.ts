import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_YIELD_POLICY } from '../../src/scheduler/ledbat.ts';
import {
  DEFAULT_POLICY,
  loadPolicyFile,
  parsePolicy,
  policyDocument,
  setPolicyKey,
} from '../../src/service/policy-file.ts';

const dir = (): string => mkdtempSync(join(tmpdir(), 'openbits-policy-'));

describe('policy file (config.json)', () => {
  it('defaults to BITS’s values when the file is missing', () => {
    const { policy } = loadPolicyFile(join(dir(), 'config.json'));
    assert.deepEqual(policy, DEFAULT_POLICY);
    assert.equal(policy.quotas.maxJobsPerUser, 60);
    assert.equal(policy.maxBackgroundJobs, 1);
  });

  it('names the bad key in its error', () => {
    assert.throws(() => parsePolicy({ maxBackgroundJobs: 0 }), /"maxBackgroundJobs" must be a whole number ≥ 1/);
    assert.throws(() => parsePolicy({ quotas: { maxFilesPerJob: 'many' } }), /"quotas.maxFilesPerJob"/);
    assert.throws(() => parsePolicy({ colour: 'blue' }), /"colour" is not a known setting/);
    assert.throws(
      () => parsePolicy({ bandwidth: { timetable: 'Mon-08:00,fast' } }),
      /"bandwidth.timetable" not a rate/,
    );
    assert.throws(
      () => parsePolicy({ bandwidth: { maxInternetBandwidth: { startHour: 30, endHour: 17 } } }),
      /"bandwidth.maxInternetBandwidth.startHour" must be an hour/,
    );
  });

  it('reads rates and windows', () => {
    const p = parsePolicy({
      bandwidth: { maxInternetBandwidth: { startHour: 8, endHour: 17, inWindow: '1M', outsideWindow: 'off' } },
    });
    assert.equal(p.bandwidth.maxInternetBandwidth?.inWindow, 1024 * 1024);
    assert.equal(p.bandwidth.maxInternetBandwidth?.outsideWindow, Number.POSITIVE_INFINITY);
  });

  it('reads logoff.keepBackgroundJobs: user names, uids and @groups, as text', () => {
    const p = parsePolicy({ logoff: { keepBackgroundJobs: ['backup', 1001, '@builders'] } });
    assert.deepEqual(p.keepBackgroundJobs, ['backup', '1001', '@builders']);
    assert.throws(
      () => parsePolicy({ logoff: { keepBackgroundJobs: 'backup' } }),
      /"logoff.keepBackgroundJobs" must be a list/,
    );
    assert.throws(() => parsePolicy({ logoff: { keepBackgroundJobs: ['a b'] } }), /"logoff.keepBackgroundJobs\[0\]"/);
    assert.throws(() => parsePolicy({ logoff: { forever: true } }), /"logoff.forever" is not a known setting/);
  });

  it('reads bandwidth.yield, with defaults for what it leaves out, and names a bad key', () => {
    assert.deepEqual(parsePolicy({}).bandwidth.yield, DEFAULT_YIELD_POLICY);
    assert.equal(DEFAULT_YIELD_POLICY.enabled, true, 'background jobs yield by default, as in BITS');
    const p = parsePolicy({ bandwidth: { yield: { enabled: false, floorRate: '64k', reactionSeconds: 2 } } });
    assert.deepEqual(p.bandwidth.yield, { enabled: false, floorRate: 65_536, reactionMs: 2000, targetDelayMs: 15 });
    assert.deepEqual((policyDocument(p).bandwidth as { yield: unknown }).yield, {
      enabled: false,
      floorRate: 65_536,
      reactionSeconds: 2,
      targetDelayMs: 15,
    });
    const y = (v: object) => () => parsePolicy({ bandwidth: { yield: v } });
    assert.throws(y({ enabled: 'yes' }), /"bandwidth.yield.enabled" must be true or false/);
    assert.throws(y({ floorRate: '100' }), /"bandwidth.yield.floorRate" must be a rate of at least 1k/);
    assert.throws(y({ floorRate: 'off' }), /"bandwidth.yield.floorRate"/);
    assert.throws(
      y({ reactionSeconds: 0 }),
      /"bandwidth.yield.reactionSeconds" must be a number of seconds from 0.2 to 60/,
    );
    assert.throws(
      y({ targetDelayMs: 150 }),
      /"bandwidth.yield.targetDelayMs" must be a number of milliseconds from 1 to 100/,
    );
    assert.throws(y({ gain: 2 }), /"bandwidth.yield.gain" is not a known setting/);
  });

  it('reports invalid JSON with the file name', () => {
    const path = join(dir(), 'config.json');
    writeFileSync(path, '{ nope');
    assert.throws(() => loadPolicyFile(path), /config\.json is not valid JSON/);
  });

  it('sets one dotted key, validates the whole result before writing, and writes 0600', () => {
    const path = join(dir(), 'config.json');
    const p = setPolicyKey(path, 'quotas.maxJobsPerUser', 5);
    assert.equal(p.quotas.maxJobsPerUser, 5);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.throws(() => setPolicyKey(path, 'maxBackgroundJobs', -1), /maxBackgroundJobs/);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { quotas: { maxJobsPerUser: 5 } });
  });
});
