import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  JOB_EVENTS,
  JOB_STATES,
  JOB_TYPES,
  type JobEvent,
  type JobState,
  type JobType,
  transition,
} from '../../src/core/index.ts';

/*
 * The expected matrix, written by hand from bits-client.md §2.2 (not read back from core's
 * table). For each event: from-state → to-state ('=' means a legal no-op), optionally per job
 * type. Anything not listed must be rejected. Where §2.2 names fewer source states than core
 * allows, the choice is recorded next to the row:
 *  - slice_end / all_files_done / service_start also from CONNECTING
 *  - owner_logged_off parks like network_lost (system mode: the owner has no session left)
 *    (preemption or shutdown can come before the first byte; a zero-byte file finishes there);
 *  - network_lost also from CONNECTING (§2.2 says QUEUED/TRANSFERRING; CONNECTING is the same
 *    situation one step earlier);
 *  - suspend from ERROR → SUSPENDED, from TRANSFERRED a no-op (the Suspend page: "not
 *    progressing" jobs stay as they are; ERROR jobs become SUSPENDED like any non-final job).
 */
type Row = Partial<Record<JobState, JobState | '='>>;
const NON_FINAL = ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'SUSPENDED', 'ERROR', 'TRANSIENT_ERROR', 'TRANSFERRED'];
const all = (to: JobState): Row => Object.fromEntries(NON_FINAL.map((s) => [s, to]));

const EXPECTED: Record<JobEvent, Row | Record<JobType, Row>> = {
  resume: {
    SUSPENDED: 'QUEUED',
    ERROR: 'QUEUED',
    TRANSIENT_ERROR: 'QUEUED',
    TRANSFERRED: 'QUEUED',
    QUEUED: '=',
    CONNECTING: '=',
    TRANSFERRING: '=',
  },
  suspend: {
    QUEUED: 'SUSPENDED',
    CONNECTING: 'SUSPENDED',
    TRANSFERRING: 'SUSPENDED',
    TRANSIENT_ERROR: 'SUSPENDED',
    ERROR: 'SUSPENDED',
    SUSPENDED: '=',
    TRANSFERRED: '=',
  },
  cancel: all('CANCELLED'),
  complete: {
    DOWNLOAD: all('ACKNOWLEDGED'),
    UPLOAD: { TRANSFERRED: 'ACKNOWLEDGED' },
    UPLOAD_REPLY: { TRANSFERRED: 'ACKNOWLEDGED' },
  },
  pick: { QUEUED: 'CONNECTING' },
  connected: { CONNECTING: 'TRANSFERRING' },
  slice_end: { TRANSFERRING: 'QUEUED', CONNECTING: 'QUEUED' },
  transient_failure: { CONNECTING: 'TRANSIENT_ERROR', TRANSFERRING: 'TRANSIENT_ERROR' },
  fatal_failure: { CONNECTING: 'ERROR', TRANSFERRING: 'ERROR' },
  all_files_done: { TRANSFERRING: 'TRANSFERRED', CONNECTING: 'TRANSFERRED' },
  retry_timer: { TRANSIENT_ERROR: 'QUEUED' },
  no_progress_timeout: { TRANSIENT_ERROR: 'ERROR' },
  max_download_time: { CONNECTING: 'ERROR', TRANSFERRING: 'ERROR' },
  inactivity_timeout: all('CANCELLED'),
  network_lost: { QUEUED: 'TRANSIENT_ERROR', CONNECTING: 'TRANSIENT_ERROR', TRANSFERRING: 'TRANSIENT_ERROR' },
  network_restored: { TRANSIENT_ERROR: 'QUEUED' },
  policy_blocked: { QUEUED: 'TRANSIENT_ERROR', CONNECTING: 'TRANSIENT_ERROR', TRANSFERRING: 'TRANSIENT_ERROR' },
  policy_unblocked: { TRANSIENT_ERROR: 'QUEUED' },
  cost_blocked: { QUEUED: 'TRANSIENT_ERROR', CONNECTING: 'TRANSIENT_ERROR', TRANSFERRING: 'TRANSIENT_ERROR' },
  cost_unblocked: { TRANSIENT_ERROR: 'QUEUED' },
  owner_logged_off: { QUEUED: 'TRANSIENT_ERROR', CONNECTING: 'TRANSIENT_ERROR', TRANSFERRING: 'TRANSIENT_ERROR' },
  owner_logged_on: { TRANSIENT_ERROR: 'QUEUED' },
  service_start: { CONNECTING: 'QUEUED', TRANSFERRING: 'QUEUED' },
};

/** ErrorCount++ only for failures while connecting/transferring (GetErrorCount page; §5.2). */
const COUNTS_ERROR = new Set<JobEvent>(['transient_failure', 'fatal_failure']);
/** Rows that record a new error on the job. */
const SETS_ERROR = new Set<JobEvent>([
  'transient_failure',
  'fatal_failure',
  'max_download_time',
  'network_lost',
  'policy_blocked',
  'cost_blocked',
  'owner_logged_off',
]);

function expected(state: JobState, event: JobEvent, type: JobType): JobState | null {
  const spec = EXPECTED[event];
  const row: Row = 'DOWNLOAD' in spec ? (spec as Record<JobType, Row>)[type] : (spec as Row);
  const to = row[state];
  if (to === undefined) return null;
  return to === '=' ? state : to;
}

describe('core transition table against the §2.2 matrix', () => {
  test('every (state, event, type) combination', () => {
    let legal = 0;
    let illegal = 0;
    for (const state of JOB_STATES) {
      for (const event of JOB_EVENTS) {
        for (const type of JOB_TYPES) {
          const want = expected(state, event, type);
          const got = transition(state, event, type);
          const where = `${event} from ${state} (${type})`;
          if (want === null) {
            assert.equal(got.ok, false, `${where} must be rejected`);
            illegal++;
            continue;
          }
          assert.ok(got.ok, `${where} must be allowed`);
          assert.equal(got.to, want, `${where} goes to ${want}`);
          assert.equal(got.row.countsError === true, COUNTS_ERROR.has(event), `${where}: ErrorCount rule`);
          assert.equal(got.row.error === 'set', SETS_ERROR.has(event), `${where}: records an error?`);
          legal++;
        }
      }
    }
    assert.equal(legal + illegal, JOB_STATES.length * JOB_EVENTS.length * JOB_TYPES.length);
    assert.ok(legal > 0 && illegal > 0);
  });

  test('final states are final: no event leaves ACKNOWLEDGED or CANCELLED', () => {
    for (const state of ['ACKNOWLEDGED', 'CANCELLED'] as const) {
      for (const event of JOB_EVENTS) {
        for (const type of JOB_TYPES) assert.equal(transition(state, event, type).ok, false, `${event} from ${state}`);
      }
    }
  });

  test('no event but cancel, complete and inactivity_timeout reaches a final state', () => {
    for (const state of JOB_STATES) {
      for (const event of JOB_EVENTS) {
        for (const type of JOB_TYPES) {
          const r = transition(state, event, type);
          if (r.ok && (r.to === 'ACKNOWLEDGED' || r.to === 'CANCELLED')) {
            assert.ok(['cancel', 'complete', 'inactivity_timeout'].includes(event), `${event} from ${state}`);
          }
        }
      }
    }
  });

  test('what each row does to the recorded error', () => {
    // §5.8: the error object lives until the job goes back to TRANSFERRING or is restarted by
    // the app; timers and restored conditions retry with the error still on record.
    const effects: Array<[JobState, JobEvent, 'set' | 'keep' | 'clear']> = [
      ['ERROR', 'resume', 'clear'],
      ['TRANSIENT_ERROR', 'suspend', 'clear'],
      ['ERROR', 'cancel', 'clear'],
      ['CONNECTING', 'connected', 'clear'],
      ['TRANSIENT_ERROR', 'retry_timer', 'keep'],
      ['TRANSIENT_ERROR', 'network_restored', 'keep'],
      ['TRANSIENT_ERROR', 'policy_unblocked', 'keep'],
      ['TRANSIENT_ERROR', 'no_progress_timeout', 'keep'],
      ['QUEUED', 'pick', 'keep'],
      ['TRANSFERRING', 'transient_failure', 'set'],
      ['TRANSFERRING', 'all_files_done', 'clear'],
    ];
    for (const [from, event, effect] of effects) {
      const r = transition(from, event, 'DOWNLOAD');
      assert.ok(r.ok, `${event} from ${from}`);
      assert.equal(r.row.error, effect, `${event} from ${from}`);
    }
  });
});
