import type { CallActivity } from '../api/call-handler.ts';
import type { Clock } from '../core/clock.ts';

/** How often the warm-up looks for a quiet moment: a step starts after one such period with no call. */
export const WARM_UP_TICK_MS = 20;
/** With no call at all (a daemon started by systemd or the dashboard), it warms up after this. */
export const WARM_UP_UNASKED_MS = 1_000;
/** Calls that never leave a quiet tick (a script polling every few ms) do not hold it past this. */
export const WARM_UP_LATEST_MS = 5_000;

/**
 * Emitted on `process` when the warm-up is done (by `bitsd --system` once it serves): only then
 * does bin/load-bundle.js write bitsd's code cache, at exit — a run that never served (--version,
 * --help, a second instance) would cache start-up code only, and every later start would use it.
 */
export const WARM_EVENT = 'openbits:warm';

/** A step of the warm-up: one module graph, evaluated at once (the event loop waits for it). */
export type WarmUpStep = () => Promise<unknown>;

/**
 * Load what a first download needs — the API's schema checker, the download runner with the
 * transfer engine, and undici — soon after the daemon answers, instead of on the first
 * download's path: evaluating those modules is ~0.3–0.5 s of CPU on this kind of machine (a
 * first 128 MiB `bitsadmin /transfer` took 1.2 s against 0.5 s for the next). Evaluating a module
 * holds the event loop, so the warm-up waits for the calls that come first: it starts after the
 * first call is answered (or WARM_UP_UNASKED_MS with none), in steps, each one only when no call
 * is in flight and none was answered for WARM_UP_TICK_MS (calls that never pause for that long
 * hold it WARM_UP_LATEST_MS at most; calls the Hono app answers — the event stream, /metrics,
 * the dashboard — are not counted). Started at a fixed 20 ms after
 * listening, it had held the first call of a CLI that started bitsd (its request came after
 * ~300 ms of polling) for the whole load: an on-demand `bitsadmin /list` took ~800 ms.
 * Per-user daemon only: in system mode, bytes move in the owners' worker processes.
 */
export function warmUpTransfers(
  clock: Clock,
  activity: CallActivity,
  log: (ms: number) => void,
  steps: readonly WarmUpStep[] = TRANSFER_MODULES,
): void {
  const started = clock.monotonicMs();
  let seen = activity.answered();
  let next = 0;
  let loadingMs = 0;
  const tick = (): void => {
    const answered = activity.answered();
    const waited = clock.monotonicMs() - started;
    const quiet = (activity.inFlight() === 0 && answered === seen) || waited >= WARM_UP_LATEST_MS;
    const asked = answered > 0 || waited >= WARM_UP_UNASKED_MS;
    seen = answered;
    if (!quiet || !asked) {
      clock.setTimer(WARM_UP_TICK_MS, tick);
      return;
    }
    const stepStarted = clock.monotonicMs();
    let loading: Promise<unknown>;
    try {
      loading = (steps[next] as WarmUpStep)();
    } catch (err) {
      // Thrown at once: as a rejection, not an uncaught exception (bitsd exits on those).
      loading = Promise.reject(err);
    }
    loading.then(
      () => {
        loadingMs += clock.monotonicMs() - stepStarted;
        next++;
        if (next === steps.length) log(loadingMs);
        else clock.setTimer(WARM_UP_TICK_MS, tick);
      },
      () => {
        // A module that fails to load fails the first download too, with its error: nothing to do here.
      },
    );
  };
  clock.setTimer(WARM_UP_TICK_MS, tick);
}

const TRANSFER_MODULES: readonly WarmUpStep[] = [
  // The API's request checks compile their schemas on first use, with these two modules.
  () => Promise.all([import('typebox/compile'), import('../api/schemas.ts')]),
  () => import('../service/download-runner.ts'),
  async () => (await import('../transfer/undici-module.ts')).undici(),
];
