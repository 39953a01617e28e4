import { isBitsError } from '../core/index.ts';

/** A job that moved on — another call changed it, or it left the store — is no failure of a background action. */
function movedOn(err: unknown): boolean {
  return isBitsError(err) && (err.name === 'BG_E_INVALID_STATE' || err.name === 'BG_E_NOT_FOUND');
}

/**
 * One queue per job: a call that changes a job runs only after the previous one for the same job
 * has settled, so a read-check-write inside it sees the job as the previous call left it.
 */
export class JobLocks {
  readonly #tails = new Map<string, Promise<unknown>>();
  #closed = false;

  /** Run `fn` after every earlier call for `jobId` settled (a failed one does not block the queue). */
  async run<T>(jobId: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#tails.get(jobId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(jobId, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(jobId) === tail) this.#tails.delete(jobId);
    }
  }

  /** Whether a call for `jobId` is running or waiting (its lock is taken). */
  isHeld(jobId: string): boolean {
    return this.#tails.has(jobId);
  }

  /**
   * `run` for a timer or a condition rather than a caller: nobody awaits it. A job that moved on
   * meanwhile is no error, nor is anything once the manager closed; any other failure is rethrown
   * (an unhandled rejection, as an exception in a timer callback would be).
   */
  background(jobId: string, fn: () => Promise<unknown>): void {
    void this.run(jobId, fn).catch((err: unknown) => {
      if (!this.#closed && !movedOn(err)) throw err;
    });
  }

  /** The manager is closing: background work may fail quietly from now on. */
  close(): void {
    this.#closed = true;
  }
}
