import { JOB_STATES, type JobState, type JobType } from './job-state.ts';

/**
 * THE transition table (bits-client.md §2.2), as data. Nothing else changes a job's state: the
 * store applies a row only if the job is still in the state the caller saw.
 */

/** Everything that can move a job: the four state methods and the service's own events. */
export const JOB_EVENTS = [
  'resume',
  'suspend',
  'cancel',
  'complete',
  /** The scheduler picked a QUEUED job. */
  'pick',
  /** The connection to the server is up. */
  'connected',
  /** The time slice ended or a higher-priority job preempted this one. */
  'slice_end',
  'transient_failure',
  'fatal_failure',
  'all_files_done',
  'retry_timer',
  'no_progress_timeout',
  'max_download_time',
  'inactivity_timeout',
  'network_lost',
  'network_restored',
  /** Bandwidth policy is 0 now (BG_E_BLOCKED_BY_POLICY) / the window ended. */
  'policy_blocked',
  'policy_unblocked',
  /** The network's cost is not in the job's cost flags (BG_E_BLOCKED_BY_COST_TRANSFER_POLICY) / now it is. */
  'cost_blocked',
  'cost_unblocked',
  /** System mode: the owner's last session ended (ERROR_NOT_LOGGED_ON) / a session began. */
  'owner_logged_off',
  'owner_logged_on',
  /** The service restarted: whatever it was transferring goes back to the queue. */
  'service_start',
] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

/** What a transition does to the job's recorded error. */
export type ErrorEffect = 'set' | 'keep' | 'clear';

export interface TransitionRow {
  readonly event: JobEvent;
  readonly from: readonly JobState[];
  /** 'same' leaves the state unchanged (a legal no-op). */
  readonly to: JobState | 'same';
  /** Restrict the row to these job types. */
  readonly types?: readonly JobType[];
  /** ErrorCount++ (GetErrorCount: not for network loss or policy blocks). */
  readonly countsError?: true;
  readonly error: ErrorEffect;
  readonly note: string;
}

const ACTION: readonly JobState[] = ['QUEUED', 'CONNECTING', 'TRANSFERRING'];
const RUNNING: readonly JobState[] = ['CONNECTING', 'TRANSFERRING'];
const NON_FINAL: readonly JobState[] = JOB_STATES.filter((s) => s !== 'ACKNOWLEDGED' && s !== 'CANCELLED');

export const TRANSITIONS: readonly TransitionRow[] = [
  {
    event: 'resume',
    from: ['SUSPENDED', 'ERROR', 'TRANSIENT_ERROR', 'TRANSFERRED'],
    to: 'QUEUED',
    error: 'clear',
    note: 'Resume (needs ≥ 1 file; from TRANSFERRED only after AddFile)',
  },
  { event: 'resume', from: ACTION, to: 'same', error: 'keep', note: 'already in an action state' },
  {
    event: 'suspend',
    from: ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSIENT_ERROR', 'ERROR'],
    to: 'SUSPENDED',
    error: 'clear',
    note: 'all transfers stop',
  },
  { event: 'suspend', from: ['SUSPENDED', 'TRANSFERRED'], to: 'same', error: 'keep', note: 'nothing to pause' },
  { event: 'cancel', from: NON_FINAL, to: 'CANCELLED', error: 'clear', note: 'temp files deleted' },
  {
    event: 'complete',
    from: NON_FINAL,
    to: 'ACKNOWLEDGED',
    types: ['DOWNLOAD'],
    error: 'clear',
    note: 'transferred files renamed, others deleted (partial complete)',
  },
  {
    event: 'complete',
    from: ['TRANSFERRED'],
    to: 'ACKNOWLEDGED',
    types: ['UPLOAD', 'UPLOAD_REPLY'],
    error: 'clear',
    note: 'upload: TRANSFERRED only',
  },
  { event: 'pick', from: ['QUEUED'], to: 'CONNECTING', error: 'keep', note: 'scheduler picks the job' },
  { event: 'connected', from: ['CONNECTING'], to: 'TRANSFERRING', error: 'clear', note: 'connection OK' },
  { event: 'slice_end', from: RUNNING, to: 'QUEUED', error: 'clear', note: 'time slice over or preempted' },
  {
    event: 'transient_failure',
    from: RUNNING,
    to: 'TRANSIENT_ERROR',
    countsError: true,
    error: 'set',
    note: 'recoverable error',
  },
  {
    event: 'fatal_failure',
    from: RUNNING,
    to: 'ERROR',
    countsError: true,
    error: 'set',
    note: 'fatal error; JobError',
  },
  { event: 'all_files_done', from: RUNNING, to: 'TRANSFERRED', error: 'clear', note: 'JobTransferred' },
  { event: 'retry_timer', from: ['TRANSIENT_ERROR'], to: 'QUEUED', error: 'keep', note: 'MinimumRetryDelay elapsed' },
  {
    event: 'no_progress_timeout',
    from: ['TRANSIENT_ERROR'],
    to: 'ERROR',
    error: 'keep',
    note: 'no progress for NoProgressTimeout; JobError',
  },
  { event: 'max_download_time', from: RUNNING, to: 'ERROR', error: 'set', note: 'BG_E_MAXDOWNLOAD_TIMEOUT' },
  {
    event: 'inactivity_timeout',
    from: NON_FINAL,
    to: 'CANCELLED',
    error: 'clear',
    note: 'JobInactivityTimeout: cancelled by the service',
  },
  {
    event: 'network_lost',
    from: ACTION,
    to: 'TRANSIENT_ERROR',
    error: 'set',
    note: 'BG_E_NETWORK_DISCONNECTED; ErrorCount unchanged',
  },
  {
    event: 'network_restored',
    from: ['TRANSIENT_ERROR'],
    to: 'QUEUED',
    error: 'keep',
    note: 'every transient-error job is queued again',
  },
  {
    event: 'policy_blocked',
    from: ACTION,
    to: 'TRANSIENT_ERROR',
    error: 'set',
    note: 'BG_E_BLOCKED_BY_POLICY (background jobs)',
  },
  { event: 'policy_unblocked', from: ['TRANSIENT_ERROR'], to: 'QUEUED', error: 'keep', note: 'bandwidth window ended' },
  {
    event: 'cost_blocked',
    from: ACTION,
    to: 'TRANSIENT_ERROR',
    error: 'set',
    note: 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY; ErrorCount unchanged',
  },
  {
    event: 'cost_unblocked',
    from: ['TRANSIENT_ERROR'],
    to: 'QUEUED',
    error: 'keep',
    note: 'the network cost now allows the job',
  },
  {
    event: 'owner_logged_off',
    from: ACTION,
    to: 'TRANSIENT_ERROR',
    error: 'set',
    note: 'ERROR_NOT_LOGGED_ON (system mode); ErrorCount unchanged',
  },
  { event: 'owner_logged_on', from: ['TRANSIENT_ERROR'], to: 'QUEUED', error: 'keep', note: 'the owner is back' },
  { event: 'service_start', from: RUNNING, to: 'QUEUED', error: 'clear', note: 'resume from the last checkpoint' },
];

export type TransitionResult =
  | { readonly ok: true; readonly to: JobState; readonly row: TransitionRow }
  | { readonly ok: false };

/** Pure lookup: where `event` takes a job of `type` in `state`, if the table allows it. */
export function transition(state: JobState, event: JobEvent, type: JobType): TransitionResult {
  for (const row of TRANSITIONS) {
    if (row.event !== event || !row.from.includes(state)) continue;
    if (row.types !== undefined && !row.types.includes(type)) continue;
    return { ok: true, to: row.to === 'same' ? state : row.to, row };
  }
  return { ok: false };
}
