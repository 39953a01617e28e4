import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BitsError,
  isFinalState,
  JOB_EVENTS,
  JOB_STATES,
  JOB_TYPES,
  type JobEvent,
  type JobMethod,
  type JobState,
  methodError,
  transition,
} from '../../src/core/index.ts';
import { type JobPatch, type JobStore, MemoryJobStore, openSqliteJobStore } from '../../src/store/index.ts';
import { caller, file, jobId, T0 } from '../store/store-fixtures.ts';
import { type JobScript, jobScript, runScript } from './job-script.ts';

/** Setters whose legality depends on the job (type, files, Resume), with a valid value each. */
const SETTERS: ReadonlyArray<readonly [JobMethod, JobPatch]> = [
  ['setDescription', { description: 'd' }],
  ['setHighPerformance', { highPerformance: true }],
  ['setDynamicContent', { dynamicContent: true }],
  ['setMaxDownloadSize', { maxDownloadSize: 1024 }],
  ['setReplyFileName', { replyFileName: '/srv/reply' }],
  ['setPriority', { priority: 'HIGH' }],
];

/** An action on one job: an event (sometimes with a stale expected state), AddFile or a setter. */
type Action =
  | { kind: 'event'; event: JobEvent; stale: JobState | null }
  | { kind: 'addFile' }
  | { kind: 'set'; setter: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      event: fc.constantFrom(...JOB_EVENTS),
      stale: fc.option(fc.constantFrom(...JOB_STATES), { freq: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'addFile' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), setter: fc.nat(SETTERS.length - 1) }) },
);

function withSqlite<T>(fn: (open: () => JobStore) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-prop-'));
  try {
    return fn(() => openSqliteJobStore(join(dir, 'jobs.db')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Drive one job through random calls; after each, the stored state must be the table's answer
 * for the call (when it succeeded) or unchanged (when it threw a BitsError).
 */
function checkSequence(store: JobStore, type: (typeof JOB_TYPES)[number], actions: readonly Action[]): void {
  const id = jobId(1);
  let job = store.createJob({ ...caller(), id, type, displayName: 'prop' });
  let now = T0;
  for (const a of actions) {
    now += 1;
    const before = job;
    try {
      if (a.kind === 'addFile') {
        job = store.addFiles(id, [file(job.files.length)], caller('alice', now));
      } else if (a.kind === 'set') {
        const [method, patch] = SETTERS[a.setter] as (typeof SETTERS)[number];
        const facts = { ...before, fileCount: before.files.length, replyStarted: false };
        const want = methodError(method, facts);
        try {
          job = store.updateJob(id, method, patch, now);
        } catch (err) {
          assert.equal((err as BitsError).name, want, `${method} on ${before.type} ${before.state}`);
          throw err;
        }
        assert.equal(want, null, `${method} succeeded on ${before.type} ${before.state}, the table says ${want}`);
      } else {
        const error = { ...new BitsError('BG_E_HTTP_ERROR_503').toJSON(), fileIndex: null };
        job = store.applyTransition(id, { expected: a.stale ?? job.state, event: a.event, error, now });
        const row = transition(before.state, a.event, type);
        assert.ok(row.ok, `${a.event} from ${before.state} (${type}) was applied but the table forbids it`);
        assert.equal(a.stale ?? before.state, before.state, 'a stale expected state was accepted');
        assert.equal(job.state, row.to);
        assert.equal(job.errorCount, before.errorCount + (row.row.countsError === true ? 1 : 0));
      }
    } catch (err) {
      assert.ok(err instanceof BitsError, `not a BitsError: ${String(err)}`);
      assert.deepEqual(store.getJob(id), before, `${JSON.stringify(a)} failed (${err.name}) but changed the job`);
      continue;
    }
    assert.deepEqual(store.getJob(id), job);
    if (isFinalState(before.state)) assert.fail(`a final job changed: ${JSON.stringify(a)}`);
  }
}

describe('properties', () => {
  test('random calls never take a job where the table forbids (memory store)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_TYPES), fc.array(action, { maxLength: 60 }), (type, actions) => {
        const store = new MemoryJobStore();
        checkSequence(store, type, actions);
      }),
      { numRuns: 300 },
    );
  });

  test('random calls never take a job where the table forbids (SQLite store)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_TYPES), fc.array(action, { maxLength: 40 }), (type, actions) =>
        withSqlite((open) => {
          const store = open();
          try {
            checkSequence(store, type, actions);
          } finally {
            store.close();
          }
        }),
      ),
      { numRuns: 25 },
    );
  });

  test('a job written, reopened from disk and read back is deep-equal (and equals the memory store’s)', () => {
    fc.assert(
      fc.property(jobScript, (script: JobScript) =>
        withSqlite((open) => {
          const store = open();
          const written = runScript(store, script);
          store.close();
          const reopened = open();
          try {
            assert.deepEqual(reopened.getJob(written.job.id), written.job);
            assert.deepEqual(reopened.getTimers(written.job.id), written.timers);
          } finally {
            reopened.close();
          }
          const memory = runScript(new MemoryJobStore(), script);
          assert.deepEqual(memory, written);
        }),
      ),
      { numRuns: 40 },
    );
  });
});
