import { BitsError, type BitsErrorData, errorInfo, isActiveState, type Job, type JobPriority } from '../core/index.ts';
import { type NetworkSource, needsNetwork } from '../scheduler/network.ts';
import type { JobStore } from '../store/job-store.ts';
import type { JobLocks } from './job-locks.ts';
import type { JobTransitions } from './job-transitions.ts';
import type { OwnerPresence } from './owner-presence.ts';

/**
 * Conditions that hold jobs in TRANSIENT_ERROR without a retry timer and without counting an
 * error (bits-client.md §2.2): no network (`BG_E_NETWORK_DISCONNECTED`), a bandwidth policy
 * of 0 now (`BG_E_BLOCKED_BY_POLICY`), the owner logged off (`ERROR_NOT_LOGGED_ON`, system
 * mode), or a network cost the job may not use (`BG_E_BLOCKED_BY_COST_TRANSFER_POLICY`). Each has the transition that parks a job and the one
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

/** System mode: the owner has no session left (docs/system.md). */
export const OWNER_ABSENT = {
  park: 'owner_logged_off',
  release: 'owner_logged_on',
  error: 'ERROR_NOT_LOGGED_ON',
  context: 'GENERAL_QUEUE_MANAGER',
} as const;

/** The network's cost is not one the job's cost flags allow (docs/scheduling.md "Network cost"). */
export const COST_BLOCK = {
  park: 'cost_blocked',
  release: 'cost_unblocked',
  error: 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY',
  context: 'GENERAL_QUEUE_MANAGER',
} as const;

export type WaitCondition = typeof NETWORK_DOWN | typeof POLICY_BLOCK | typeof OWNER_ABSENT | typeof COST_BLOCK;
const CONDITIONS: readonly WaitCondition[] = [NETWORK_DOWN, POLICY_BLOCK, OWNER_ABSENT, COST_BLOCK];

/** The error a parked job records (with why, when there is more to say than the code's text). */
export function conditionError(cond: WaitCondition, message?: string): BitsErrorData & { fileIndex: null } {
  return { ...new BitsError(cond.error, message, { context: cond.context }).toJSON(), fileIndex: null };
}

/** The condition a TRANSIENT_ERROR job waits for (rather than for a retry timer), or undefined. */
export function conditionOf(job: Job): WaitCondition | undefined {
  return CONDITIONS.find((c) => c.error === job.error?.name);
}

/** A TRANSIENT_ERROR that waits for its condition rather than for a retry timer. */
export function isConditionWait(job: Job): boolean {
  return conditionOf(job) !== undefined;
}

/** Jobs a condition can park: queued or running. */
export function isParkable(job: Job | undefined): job is Job {
  return job !== undefined && (isActiveState(job.state) || job.state === 'QUEUED');
}

export interface WaitParts {
  readonly store: JobStore;
  readonly transitions: JobTransitions;
  readonly locks: JobLocks;
  readonly network: NetworkSource;
  /** Loopback and file:// sources keep running when the network is down. */
  readonly loopbackWithoutNetwork: boolean;
  /** Whether the bandwidth policy gives `priority` a rate of 0 now. */
  readonly policyBlocks: (priority: JobPriority) => boolean;
  /** Why the network's cost keeps `job` from transferring now (its cost flags), or null. */
  readonly costBlocks: (job: Job) => string | null;
  /** Stop a job's transfer and wait until it stopped. */
  readonly stop: (jobId: string) => Promise<void>;
  /** Whether a job's owner is logged on (system mode). */
  readonly presence: OwnerPresence;
  /** Accounts whose background jobs transfer without a session (policy `logoff.keepBackgroundJobs`). */
  readonly keepBackgroundJobs: () => readonly string[];
}

/**
 * Parking on wait conditions: when the network goes or a policy blocks a priority, the jobs it
 * concerns stop and wait in TRANSIENT_ERROR; when it clears they are queued again at once.
 */
export class WaitConditions {
  readonly #p: WaitParts;

  constructor(parts: WaitParts) {
    this.#p = parts;
  }

  /** The condition that keeps `job` from starting now, or null. */
  blocking(job: Job): WaitCondition | null {
    if (this.#waitsForOwner(job)) return OWNER_ABSENT;
    if (this.#waitsForNetwork(job)) return NETWORK_DOWN;
    if (this.#p.policyBlocks(job.priority)) return POLICY_BLOCK;
    if (this.#p.costBlocks(job) !== null) return COST_BLOCK;
    return null;
  }

  /** Park one job (queued or stopped) in TRANSIENT_ERROR, with no retry timer. */
  park(job: Job, cond: WaitCondition): Promise<Job> {
    const why = cond === COST_BLOCK ? (this.#p.costBlocks(job) ?? undefined) : undefined;
    return this.#p.transitions.step(job, cond.park, {
      error: conditionError(cond, why === undefined ? undefined : `${errorText(cond)}: ${why}`),
      retryDelayMs: null,
    });
  }

  /**
   * The network's cost changed, or the cost policy: jobs it no longer allows stop and wait in
   * TRANSIENT_ERROR BG_E_BLOCKED_BY_COST_TRANSFER_POLICY; the ones it allows again are queued.
   */
  costChanged(): void {
    this.#parkAll(COST_BLOCK, (job) => this.#p.costBlocks(job) !== null);
    this.#releaseAll(COST_BLOCK, (job) => conditionOf(job) === COST_BLOCK && this.#p.costBlocks(job) === null);
  }

  /** One job's cost flags or priority changed: park or release it as its cost now says. */
  costFlagsChanged(jobId: string): void {
    this.#parkAll(COST_BLOCK, (job) => job.id === jobId && this.#p.costBlocks(job) !== null);
    this.#releaseAll(
      COST_BLOCK,
      (job) => job.id === jobId && conditionOf(job) === COST_BLOCK && this.#p.costBlocks(job) === null,
    );
  }

  /**
   * Start-up: a job parked on a condition that cleared while the service was down (its owner is
   * back, the network came back, the window ended, the cost changed) is queued again at once.
   */
  reconcile(): void {
    for (const cond of CONDITIONS)
      this.#releaseAll(cond, (job) => conditionOf(job) === cond && this.blocking(job) !== cond);
  }

  /** No route out: network jobs wait in TRANSIENT_ERROR (ErrorCount unchanged); back: all retried. */
  networkChanged(connected: boolean): void {
    if (connected) this.#releaseAll(NETWORK_DOWN, () => true);
    else this.#parkAll(NETWORK_DOWN, (job) => this.#waitsForNetwork(job));
  }

  /** MaxInternetBandwidth = 0 now: background jobs of `priority` wait in TRANSIENT_ERROR. */
  policyBlockChanged(priority: JobPriority, blocked: boolean): void {
    if (blocked) this.#parkAll(POLICY_BLOCK, (job) => job.priority === priority);
    else this.#releaseAll(POLICY_BLOCK, (job) => job.priority === priority && job.error?.name === POLICY_BLOCK.error);
  }

  /** The owner's last session ended: their jobs wait; a session began: they go on at once. */
  presenceChanged(owner: string, present: boolean): void {
    const waiting = (job: Job): boolean => job.owner === owner && job.error?.name === OWNER_ABSENT.error;
    if (present) this.#releaseAll(OWNER_ABSENT, waiting);
    else this.#parkAll(OWNER_ABSENT, (job) => job.owner === owner && this.#waitsForOwner(job));
  }

  /**
   * Whether owners are waited for may have changed without a logon or logoff: at start-up, after
   * a policy change (`logoff.keepBackgroundJobs`) or a priority change (`jobId`: FOREGROUND jobs
   * always wait). Jobs that must wait now are parked, jobs that need not are queued.
   */
  ownersRechecked(jobId?: string): void {
    const concerned = (job: Job): boolean => jobId === undefined || job.id === jobId;
    this.#parkAll(OWNER_ABSENT, (job) => concerned(job) && this.#waitsForOwner(job));
    this.#releaseAll(
      OWNER_ABSENT,
      (job) => concerned(job) && job.error?.name === OWNER_ABSENT.error && !this.#waitsForOwner(job),
    );
  }

  /**
   * The owner has no session, and the job is not a background job of an account the policy lets
   * transfer unattended (BITS: a service account's jobs run while nobody is logged on).
   */
  #waitsForOwner(job: Job): boolean {
    const { presence } = this.#p;
    if (presence.isPresent(job.owner)) return false;
    if (job.priority === 'FOREGROUND') return true;
    const keep = this.#p.keepBackgroundJobs();
    return keep.length === 0 || !presence.isListed(job.owner, keep);
  }

  #waitsForNetwork(job: Job): boolean {
    if (this.#p.network.isConnected()) return false;
    return job.files.some((f) => !f.transferred && (!this.#p.loopbackWithoutNetwork || needsNetwork(f.remoteName)));
  }

  /** Stop and park every queued or running job the condition applies to. */
  #parkAll(cond: WaitCondition, applies: (job: Job) => boolean): void {
    const { store, locks } = this.#p;
    for (const job of store.listJobs()) {
      if (!applies(job)) continue;
      locks.background(job.id, async () => {
        if (!isParkable(store.getJob(job.id))) return;
        await this.#p.stop(job.id);
        const stopped = store.getJob(job.id);
        if (isParkable(stopped) && applies(stopped)) await this.park(stopped, cond);
      });
    }
  }

  /** The condition cleared: its TRANSIENT_ERROR jobs are queued again at once. */
  #releaseAll(cond: WaitCondition, applies: (job: Job) => boolean): void {
    const { store, locks, transitions } = this.#p;
    for (const job of store.listJobs()) {
      // Checked again inside the lock; this spares a queued task per job that is not waiting.
      if (job.state !== 'TRANSIENT_ERROR' || !applies(job)) continue;
      locks.background(job.id, async () => {
        const current = store.getJob(job.id);
        if (current?.state !== 'TRANSIENT_ERROR' || !applies(current)) return;
        await transitions.step(current, cond.release);
      });
    }
  }
}

/** The registry's text of a condition's code. */
function errorText(cond: WaitCondition): string {
  return (errorInfo(cond.error)?.message ?? cond.error).replace(/\.$/u, '');
}
