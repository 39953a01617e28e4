import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitsError } from '../core/bits-error.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { type ErrorName, errorInfo } from '../core/error-codes.ts';
import { isNotRunning, type Transport } from './transport.ts';

/** bitsd's exit code when another bitsd already serves the socket. */
const EXIT_ALREADY_RUNNING = 3;

/** How long an on-demand bitsd stays up with no job that can run, by default (seconds). */
export const DEFAULT_IDLE_TIMEOUT_S = 300;

export interface AutoStartOptions {
  /** Environment of the daemon (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The daemon's log (pino NDJSON, rotated by the daemon); its early stderr is appended here too. */
  readonly logPath: string;
  /** bin/bitsd.js to run (default: locateBitsd()). */
  readonly bitsdPath?: string;
  /** Seconds the daemon waits with no runnable job before it exits; 0 = never. */
  readonly idleTimeoutSeconds?: number;
  /**
   * How long to wait for the socket (default 30 s: a loaded machine starts Node slowly). A
   * daemon that exits fails the wait at once.
   */
  readonly waitMs?: number;
  /** Measures the wait (default: the system clock). */
  readonly clock?: Clock;
}

/**
 * bin/bitsd.js of the openbits package: `bitsdPath` if given, else OPENBITS_BITSD, else found
 * through the package (`import.meta.resolve('openbits/package.json')`, which also works from
 * a bundle whose folder has openbits in node_modules), else next to this module. A bundle
 * without the package beside it must pass the path.
 */
export function locateBitsd(
  bitsdPath: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  resolveSpecifier: (specifier: string) => string = (s) => import.meta.resolve(s),
  moduleUrl: string | undefined = import.meta.url,
): string {
  if (bitsdPath !== undefined && bitsdPath !== '') return resolve(bitsdPath);
  if (env.OPENBITS_BITSD) return resolve(env.OPENBITS_BITSD);
  const candidates: Array<() => string> = [
    () => fileURLToPath(new URL('./bin/bitsd.js', resolveSpecifier('openbits/package.json'))),
    () => fileURLToPath(new URL('../../bin/bitsd.js', moduleUrl)),
  ];
  for (const candidate of candidates) {
    try {
      const path = candidate();
      if (existsSync(path)) return path;
    } catch {
      // not resolvable from here (a bundle, another layout): try the next way
    }
  }
  throw new BitsError(
    'ERROR_FILE_NOT_FOUND',
    'cannot find bitsd (bin/bitsd.js of the openbits package) to start it; pass connect({ bitsdPath }) or set OPENBITS_BITSD',
  );
}

// A ref'd timer on purpose: while waiting for the daemon nothing else keeps this process alive,
// and the clock's timers are unref'd.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** How often a started bitsd is asked whether it answers, for its first QUICK_START_MS; then less often. */
const POLL_MS = 10;
const QUICK_START_MS = 2_000;

/** Bytes of `path` from `offset` on (at most the last 64 KiB). */
function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(path).size;
    const start = Math.max(offset, size - 65_536);
    if (size <= start) return '';
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** What a daemon that could not start said last. */
export interface DaemonFailure {
  readonly name: ErrorName;
  readonly message: string;
}

/**
 * The last error a daemon logged (its pino lines, level ≥ 50, with the error's own BITS name
 * and words), or else the last plain line of its stderr (a crash before its logger existed).
 */
export function lastDaemonError(logText: string): DaemonFailure | undefined {
  let found: DaemonFailure | undefined;
  for (const line of logText.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || /^(at |Node\.js v|\^)/u.test(trimmed)) continue;
    let entry: { level?: number; msg?: string; err?: { message?: string; name?: string } } | undefined;
    try {
      entry = trimmed.startsWith('{') ? JSON.parse(trimmed) : undefined;
    } catch {
      entry = undefined;
    }
    if (entry === undefined) {
      found = { name: 'E_FAIL', message: trimmed };
      continue;
    }
    if ((entry.level ?? 0) < 50) continue;
    const name = entry.err?.name;
    found = {
      name: name !== undefined && errorInfo(name) !== undefined ? (name as ErrorName) : 'E_FAIL',
      message: entry.err?.message ?? entry.msg ?? 'bitsd failed',
    };
  }
  return found;
}

/**
 * Start bitsd detached (`process.execPath bin/bitsd.js --idle-timeout N --log-file LOG`), then
 * wait until it answers on the socket. Two clients racing here both spawn; the instance lock
 * lets one daemon win and the other exit, and both clients then reach the winner. A daemon that
 * cannot start is reported with the last error it logged, word for word.
 */
export async function startDaemon(transport: Transport, options: AutoStartOptions): Promise<void> {
  const env = { ...(options.env ?? process.env) };
  const bitsd = locateBitsd(options.bitsdPath, env);
  mkdirSync(dirname(options.logPath), { recursive: true, mode: 0o700 });
  const log = openSync(options.logPath, 'a', 0o600);
  const logStart = statSync(options.logPath).size;
  let exited: string | undefined;
  /** Exit code 3: it lost the race to another bitsd, which will answer. */
  let lostRace = false;
  try {
    // The daemon runs from / (it must not pin the caller's folder), so a relative home is
    // made absolute first.
    if (env.OPENBITS_HOME) env.OPENBITS_HOME = resolve(env.OPENBITS_HOME);
    const idle = options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_S;
    // node:child_process (and dgram with it) only when a daemon has to be started.
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [bitsd, `--idle-timeout=${idle}`, `--log-file=${options.logPath}`], {
      detached: true,
      cwd: '/',
      stdio: ['ignore', 'ignore', log],
      env: env as NodeJS.ProcessEnv,
    });
    child.once('exit', (code, signal) => {
      exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
      lostRace = code === EXIT_ALREADY_RUNNING;
    });
    child.once('error', (err) => {
      exited = err.message;
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const clock = options.clock ?? systemClock;
  const spawned = clock.monotonicMs();
  const deadline = spawned + (options.waitMs ?? 30_000);
  let delay = POLL_MS;
  for (;;) {
    try {
      await transport.status();
      return;
    } catch (err) {
      if (!isNotRunning(err)) throw err;
    }
    // A daemon that lost the instance race exits at once; the winner still answers soon. One
    // that failed is reported at once.
    if (clock.monotonicMs() >= deadline || (exited !== undefined && !lostRace)) {
      const last = exited === undefined ? undefined : lastDaemonError(readFrom(options.logPath, logStart));
      if (last !== undefined) {
        throw new BitsError(last.name, `bitsd could not start: ${last.message}`);
      }
      const why = exited === undefined ? '' : ` (the started bitsd ended: ${exited})`;
      throw new BitsError(
        'RPC_S_SERVER_UNAVAILABLE',
        `bitsd did not answer at ${transport.socketPath} after starting it${why}; see ${options.logPath}`,
      );
    }
    await sleep(delay);
    // Every 10 ms while a start may still be quick (a refused connect costs ~0.1 ms): polling
    // from 20 ms doubling, the first answer came ~140 ms after bitsd's (~250 ms from spawn).
    if (clock.monotonicMs() - spawned >= QUICK_START_MS) delay = Math.min(delay * 2, 200);
  }
}
