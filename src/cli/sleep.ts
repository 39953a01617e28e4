/**
 * The CLI's only timer: a wait that ends early, without throwing, when `signal` aborts. The
 * CliIo lets tests replace it, so no test of /monitor or /transfer pacing sleeps.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
