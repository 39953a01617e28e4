import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitsError } from '../core/bits-error.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { isNotRunning, type Transport } from './transport.ts';

/** bin/bitsd.js of this package. */
export const BITSD_BIN = fileURLToPath(new URL('../../bin/bitsd.js', import.meta.url));

export interface AutoStartOptions {
  /** Environment of the daemon (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The daemon's stderr (its pino log) is appended here. */
  readonly logPath: string;
  /** How long to wait for the socket (default 5 s). */
  readonly waitMs?: number;
  /** Measures the wait (default: the system clock). */
  readonly clock?: Clock;
}

// A ref'd timer on purpose: while waiting for the daemon nothing else keeps this process alive,
// and the clock's timers are unref'd.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start bitsd detached (`process.execPath bin/bitsd.js`), then wait until it answers on the
 * socket. Two clients racing here both spawn; the instance lock lets one daemon win and the
 * other exit, and both clients then reach the winner.
 */
export async function startDaemon(transport: Transport, options: AutoStartOptions): Promise<void> {
  mkdirSync(dirname(options.logPath), { recursive: true, mode: 0o700 });
  const log = openSync(options.logPath, 'a', 0o600);
  let exited: string | undefined;
  try {
    const env = { ...(options.env ?? process.env) };
    // The daemon runs from / (it must not pin the caller's folder), so a relative home is
    // made absolute first.
    if (env.OPENBITS_HOME) env.OPENBITS_HOME = resolve(env.OPENBITS_HOME);
    const child = spawn(process.execPath, [BITSD_BIN], {
      detached: true,
      cwd: '/',
      stdio: ['ignore', 'ignore', log],
      env: env as NodeJS.ProcessEnv,
    });
    child.once('exit', (code, signal) => {
      exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
    });
    child.once('error', (err) => {
      exited = err.message;
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const clock = options.clock ?? systemClock;
  const deadline = clock.monotonicMs() + (options.waitMs ?? 5_000);
  let delay = 20;
  for (;;) {
    try {
      await transport.status();
      return;
    } catch (err) {
      if (!isNotRunning(err)) throw err;
    }
    // A daemon that lost the instance race exits at once; the winner still answers soon.
    if (clock.monotonicMs() >= deadline) {
      const why = exited === undefined ? '' : ` (the started bitsd ended: ${exited})`;
      throw new BitsError(
        'RPC_S_SERVER_UNAVAILABLE',
        `bitsd did not answer at ${transport.socketPath} after starting it${why}; see ${options.logPath}`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}
