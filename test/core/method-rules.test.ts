import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertMethodAllowed,
  BitsError,
  type ErrorName,
  JOB_METHODS,
  JOB_STATES,
  JOB_TYPES,
  type JobFacts,
  type JobMethod,
  methodError,
} from '../../src/core/index.ts';

/*
 * The expectation, written by hand from bits-client.md §2.3, §3.1, §5.3–§5.6 and §18 items 3,
 * 4, 11, 14 (not derived from core's METHOD_RULES). Precedence: a method the job's type does not
 * support fails with its type error whatever the state; then a final state; then the rule of
 * the method itself.
 */
const DOWNLOAD_ONLY_NOTIMPL = new Set<JobMethod>([
  'addFileWithRanges',
  'replaceRemotePrefix',
  'setRemoteName',
  'setFileMirrors',
  'setFileDigests',
]);
const DOWNLOAD_ONLY_PROPERTY = new Set<JobMethod>([
  'setDynamicContent',
  'setHighPerformance',
  'setMaxDownloadSize',
  'setMaxConnections',
]);
const REPLY_ONLY = new Set<JobMethod>(['setReplyFileName', 'getReplyData', 'getReplyProgress', 'getReplyFileName']);

function expectedError(method: JobMethod, job: JobFacts): ErrorName | null {
  if (DOWNLOAD_ONLY_NOTIMPL.has(method) && job.type !== 'DOWNLOAD') return 'E_NOTIMPL';
  if (DOWNLOAD_ONLY_PROPERTY.has(method) && job.type !== 'DOWNLOAD') {
    return 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY';
  }
  if (REPLY_ONLY.has(method) && job.type !== 'UPLOAD_REPLY') return 'E_NOTIMPL';

  const final = job.state === 'ACKNOWLEDGED' || job.state === 'CANCELLED';
  const inError = job.state === 'ERROR' || job.state === 'TRANSIENT_ERROR';
  switch (method) {
    case 'getError':
      return inError ? null : 'BG_E_ERROR_INFORMATION_UNAVAILABLE';
    case 'getReplyProgress':
    case 'getReplyFileName':
    case 'getState':
    case 'getProgress':
    case 'getTimes':
    case 'enumFiles':
    case 'getCustomHeaders':
      return null; // getters: any state, ACKNOWLEDGED and CANCELLED included (issue 12 item 7)
    case 'getReplyData':
      // TRANSFERRED, and also after Complete (ACKNOWLEDGED); not after Cancel.
      return job.state === 'TRANSFERRED' || job.state === 'ACKNOWLEDGED' ? null : 'BG_E_INVALID_STATE';
    default:
      break;
  }
  if (final) return 'BG_E_INVALID_STATE';
  switch (method) {
    case 'resume':
      return job.fileCount === 0 ? 'BG_E_EMPTY' : null;
    case 'complete':
      return job.type !== 'DOWNLOAD' && job.state !== 'TRANSFERRED' ? 'BG_E_INVALID_STATE' : null;
    case 'addFile':
      return job.type !== 'DOWNLOAD' && job.fileCount >= 1 ? 'BG_E_TOO_MANY_FILES' : null;
    case 'setDynamicContent':
    case 'setMaxDownloadSize':
      return job.everResumed ? 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME' : null;
    case 'setHighPerformance':
      return job.fileCount > 0 ? 'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE' : null;
    case 'setReplyFileName':
      return job.replyStarted || job.state === 'TRANSFERRED' ? 'BG_E_INVALID_STATE' : null;
    default:
      return null;
  }
}

function* allFacts(): Generator<JobFacts> {
  for (const state of JOB_STATES) {
    for (const type of JOB_TYPES) {
      for (const fileCount of [0, 1, 2]) {
        for (const everResumed of [false, true]) {
          for (const replyStarted of [false, true]) yield { state, type, fileCount, everResumed, replyStarted };
        }
      }
    }
  }
}

describe('method legality (bits-client.md §2.3)', () => {
  test('every method × state × type (× file count, resumed, reply started) returns the expected error', () => {
    let checked = 0;
    for (const method of JOB_METHODS) {
      for (const facts of allFacts()) {
        assert.equal(methodError(method, facts), expectedError(method, facts), `${method} on ${JSON.stringify(facts)}`);
        checked++;
      }
    }
    assert.equal(checked, JOB_METHODS.length * JOB_STATES.length * JOB_TYPES.length * 12);
  });

  const facts = (over: Partial<JobFacts>): JobFacts => ({
    state: 'SUSPENDED',
    type: 'DOWNLOAD',
    fileCount: 1,
    everResumed: false,
    replyStarted: false,
    ...over,
  });

  test('§18 item 3: every state method and setter on a final job is BG_E_INVALID_STATE (0x80200002)', () => {
    const exempt = new Set<JobMethod>([
      'getError',
      'getReplyData',
      'getReplyProgress',
      'getReplyFileName',
      'getState',
      'getProgress',
      'getTimes',
      'enumFiles',
      'getCustomHeaders',
    ]);
    for (const state of ['ACKNOWLEDGED', 'CANCELLED'] as const) {
      for (const method of JOB_METHODS) {
        if (exempt.has(method) || DOWNLOAD_ONLY_NOTIMPL.has(method) || REPLY_ONLY.has(method)) continue;
        assert.throws(
          () => assertMethodAllowed(method, facts({ state })),
          (err: unknown) => err instanceof BitsError && err.name === 'BG_E_INVALID_STATE' && err.hresult === 0x80200002,
          `${method} on ${state}`,
        );
      }
    }
  });

  test('§18 item 4: second AddFile on an upload job is BG_E_TOO_MANY_FILES; early upload Complete is BG_E_INVALID_STATE', () => {
    for (const type of ['UPLOAD', 'UPLOAD_REPLY'] as const) {
      assert.equal(methodError('addFile', facts({ type, fileCount: 0 })), null);
      assert.equal(methodError('addFile', facts({ type, fileCount: 1 })), 'BG_E_TOO_MANY_FILES');
      for (const state of ['SUSPENDED', 'QUEUED', 'TRANSFERRING', 'ERROR', 'TRANSIENT_ERROR'] as const) {
        assert.equal(methodError('complete', facts({ type, state })), 'BG_E_INVALID_STATE');
      }
      assert.equal(methodError('complete', facts({ type, state: 'TRANSFERRED' })), null);
    }
    assert.equal(methodError('addFile', facts({ fileCount: 150 })), null, 'download jobs take many files');
  });

  test('§18 item 11: GetError outside ERROR/TRANSIENT_ERROR is BG_E_ERROR_INFORMATION_UNAVAILABLE', () => {
    for (const state of JOB_STATES) {
      const want = state === 'ERROR' || state === 'TRANSIENT_ERROR' ? null : 'BG_E_ERROR_INFORMATION_UNAVAILABLE';
      assert.equal(methodError('getError', facts({ state })), want, state);
    }
  });

  test('§18 item 14: AddFileWithRanges on an upload job is E_NOTIMPL', () => {
    assert.equal(methodError('addFileWithRanges', facts({ type: 'UPLOAD' })), 'E_NOTIMPL');
    assert.equal(methodError('addFileWithRanges', facts({ type: 'UPLOAD_REPLY', state: 'CANCELLED' })), 'E_NOTIMPL');
    assert.equal(methodError('addFileWithRanges', facts({})), null);
  });

  test('Resume on an empty job is BG_E_EMPTY (§18 item 2); the thrown error carries its context', () => {
    assert.throws(
      () => assertMethodAllowed('resume', facts({ fileCount: 0 })),
      (err: unknown) =>
        err instanceof BitsError &&
        err.name === 'BG_E_EMPTY' &&
        err.hresult === 0x80200003 &&
        err.context === 'GENERAL_QUEUE_MANAGER' &&
        /resume/.test(err.message),
    );
    assert.doesNotThrow(() => assertMethodAllowed('resume', facts({})));
  });
});
