import type { Clock } from '../core/clock.ts';

/** How long after the first answer the warm-up waits: the requests of a CLI that started bitsd come first. */
export const WARM_UP_DELAY_MS = 20;

/**
 * Load what a first download needs — the API's schema checker, the download runner with the
 * transfer engine, and undici —
 * soon after the daemon answers, instead of on the first download's path: evaluating those
 * modules is ~0.5 s of CPU on this kind of machine (a first 128 MiB `bitsadmin /transfer` took
 * 1.2 s against 0.5 s for the next). They are loaded lazily so that the first answer does not
 * wait for them; a daemon that never downloads then holds them in memory for nothing, a few MiB.
 * Per-user daemon only: in system mode, bytes move in the owners' worker processes.
 */
export function warmUpTransfers(
  clock: Clock,
  log: (ms: number) => void,
  load: () => Promise<unknown> = loadTransferModules,
): void {
  clock.setTimer(WARM_UP_DELAY_MS, () => {
    const started = clock.monotonicMs();
    load().then(
      () => log(clock.monotonicMs() - started),
      () => {
        // A module that fails to load fails the first download too, with its error: nothing to do here.
      },
    );
  });
}

async function loadTransferModules(): Promise<void> {
  // The API's request checks compile their schemas on first use, with these two modules.
  await Promise.all([import('typebox/compile'), import('../api/schemas.ts')]);
  await import('../service/download-runner.ts');
  (await import('../transfer/undici-module.ts')).undici();
}
