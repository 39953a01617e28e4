/**
 * A bandwidth limiter the transfer engines consume from before they read on, so an empty bucket
 * stops reading and TCP pushes back on the server. The scheduler's token bucket implements it.
 */
export interface RateLimiter {
  /**
   * Ask for `bytes`: null when no limit applies (the reader goes on without a promise or a pause
   * of its socket), else a promise that resolves when they may be read, and rejects with the
   * signal's reason when it aborts.
   */
  take(bytes: number, signal: AbortSignal): Promise<void> | null;
  /** No limit applies now (a worker in another process may then read on without asking). */
  isUnlimited?(): boolean;
  /**
   * Call `listener` when a limit begins (the rate goes from unlimited to a number), so a worker's
   * read-ahead grant can be withdrawn at once; returns the way to stop listening.
   */
  onLimited?(listener: () => void): () => void;
}
