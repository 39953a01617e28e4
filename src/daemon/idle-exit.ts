import type { BitsManager } from '../api/bits-manager.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { JobState } from '../core/job-state.ts';

/** States from which a job moves on without anyone calling a method. */
const RUNNABLE: ReadonlySet<JobState> = new Set(['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSIENT_ERROR']);

export interface IdleExitOptions {
  readonly manager: Pick<BitsManager, 'enumJobs' | 'subscribe'>;
  readonly clock: Clock;
  /** How long the daemon must be idle before it exits (ms; > 0). */
  readonly idleMs: number;
  /** Connections open to the API (a client watching events keeps the daemon up). */
  readonly connections: () => Promise<number>;
  /** Called once, when the daemon has been idle for `idleMs`. */
  readonly onIdle: () => void;
}

/**
 * An on-demand bitsd's way out: once no job can run (every job SUSPENDED, ERROR or TRANSFERRED,
 * or none at all) and no client is connected, for `idleMs` in a row, call onIdle. Any job
 * event re-arms the wait. A systemd-started bitsd does not use this.
 */
export function watchIdle(options: IdleExitOptions): { stop(): void } {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const arm = (): void => {
    timer?.cancel();
    if (!stopped) timer = options.clock.setTimer(options.idleMs, () => void check());
  };
  const check = async (): Promise<void> => {
    try {
      const jobs = await options.manager.enumJobs();
      const busy = jobs.some((j) => RUNNABLE.has(j.state)) || (await options.connections()) > 0;
      if (stopped) return;
      if (busy) arm();
      else {
        stopped = true;
        options.onIdle();
      }
    } catch {
      arm(); // a store hiccup is no reason to exit
    }
  };
  const unsubscribe = options.manager.subscribe(() => arm());
  arm();
  return {
    stop() {
      stopped = true;
      timer?.cancel();
      unsubscribe();
    },
  };
}
