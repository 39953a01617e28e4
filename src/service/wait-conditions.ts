import { BitsError, type BitsErrorData, isActiveState, type Job } from '../core/index.ts';

/**
 * Conditions that hold jobs in TRANSIENT_ERROR without a retry timer and without counting an
 * error (bits-client.md §2.2): no network (`BG_E_NETWORK_DISCONNECTED`), or a bandwidth policy
 * of 0 now (`BG_E_BLOCKED_BY_POLICY`). Each has the transition that parks a job and the one
 * that releases it when the condition clears.
 */
export const NETWORK_DOWN = {
  park: 'network_lost',
  release: 'network_restored',
  error: 'BG_E_NETWORK_DISCONNECTED',
  context: 'GENERAL_TRANSPORT',
} as const;

export const POLICY_BLOCK = {
  park: 'policy_blocked',
  release: 'policy_unblocked',
  error: 'BG_E_BLOCKED_BY_POLICY',
  context: 'GENERAL_QUEUE_MANAGER',
} as const;

export type WaitCondition = typeof NETWORK_DOWN | typeof POLICY_BLOCK;

/** The error a parked job records. */
export function conditionError(cond: WaitCondition): BitsErrorData & { fileIndex: null } {
  return { ...new BitsError(cond.error, undefined, { context: cond.context }).toJSON(), fileIndex: null };
}

/** A TRANSIENT_ERROR that waits for its condition rather than for a retry timer. */
export function isConditionWait(job: Job): boolean {
  return job.error?.name === NETWORK_DOWN.error || job.error?.name === POLICY_BLOCK.error;
}

/** Jobs a condition can park: queued or running. */
export function isParkable(job: Job | undefined): job is Job {
  return job !== undefined && (isActiveState(job.state) || job.state === 'QUEUED');
}
