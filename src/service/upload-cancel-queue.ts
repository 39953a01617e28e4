import type { Clock, TimerHandle } from '../core/index.ts';
import type { UploadOptions, UploadSessionState } from '../transfer/upload/index.ts';
import type { OwnerIo } from './owner-io.ts';

interface Pending {
  readonly owner: string;
  readonly remoteName: string;
  readonly state: UploadSessionState;
  readonly options: UploadOptions;
  readonly deadline: number;
  delayMs: number;
  timer: TimerHandle | null;
}

const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 600_000;
/** BITS keeps sending Cancel-Session for up to 24 h (or NoProgressTimeout if shorter). */
export const CANCEL_RETRY_LIMIT_MS = 24 * 3600 * 1000;

/**
 * Cancel-Session for cancelled upload jobs, in the background (bits-client.md §3.1): the job is
 * CANCELLED at once; the server is told when it can be reached, retrying with back-off while it
 * answers 5xx or not at all, until the deadline.
 */
export class UploadCancelQueue {
  readonly #clock: Clock;
  readonly #io: OwnerIo;
  readonly #pending = new Map<string, Pending>();
  readonly #abort = new AbortController();

  constructor(clock: Clock, io: OwnerIo) {
    this.#clock = clock;
    this.#io = io;
  }

  /** Jobs whose Cancel-Session has not been delivered yet. */
  get size(): number {
    return this.#pending.size;
  }

  add(
    jobId: string,
    owner: string,
    remoteName: string,
    state: UploadSessionState,
    options: UploadOptions,
    limitMs: number,
  ): void {
    if (state.sessionId === null || this.#abort.signal.aborted) return;
    const entry: Pending = {
      owner,
      remoteName,
      state,
      options,
      deadline: this.#clock.monotonicMs() + Math.min(CANCEL_RETRY_LIMIT_MS, limitMs),
      delayMs: FIRST_RETRY_MS,
      timer: null,
    };
    this.#pending.set(jobId, entry);
    void this.#attempt(jobId, entry);
  }

  async #attempt(jobId: string, entry: Pending): Promise<void> {
    let retry = false;
    try {
      const { remoteName, state, options } = entry;
      const result = await this.#io.cancelUploadSession(
        entry.owner,
        { remoteName, state, options },
        this.#abort.signal,
      );
      retry = result.outcome === 'retryLater';
    } catch {
      retry = !this.#abort.signal.aborted;
    }
    if (!retry || this.#clock.monotonicMs() + entry.delayMs > entry.deadline) {
      this.#pending.delete(jobId);
      return;
    }
    entry.timer = this.#clock.setTimer(entry.delayMs, () => {
      entry.timer = null;
      void this.#attempt(jobId, entry);
    });
    entry.delayMs = Math.min(MAX_RETRY_MS, entry.delayMs * 2);
  }

  stop(): void {
    this.#abort.abort();
    for (const p of this.#pending.values()) p.timer?.cancel();
    this.#pending.clear();
  }
}
