/**
 * A bandwidth limiter the transfer engines consume from before they read on, so an empty bucket
 * stops reading and TCP pushes back on the server. The scheduler's token bucket implements it.
 */
export interface RateLimiter {
  /** Resolves when `bytes` may be read; rejects with the signal's reason when it aborts. */
  take(bytes: number, signal: AbortSignal): Promise<void>;
  /** No limit applies now (a worker in another process may then read on without asking). */
  isUnlimited?(): boolean;
}
