import pino from 'pino';
import { resolvePaths, resolveSystemPaths } from '../api/paths.ts';
import { systemClock } from '../core/clock.ts';
import { OPENBITS_VERSION } from '../core/version.ts';
import { createManager } from '../service/manager.ts';
import { parseDaemonArgs } from './args.ts';
import { BatchedLines } from './batched-lines.ts';
import { type RunningDaemon, startDaemon } from './daemon.ts';
import { watchIdle } from './idle-exit.ts';
import { AlreadyRunning } from './instance-lock.ts';
import { logJobEvents } from './job-log.ts';
import { prettyDestination } from './pretty-log.ts';
import { RotatingFile } from './rotating-file.ts';
import { sdNotify } from './sd-notify.ts';
import { startSystemDaemon } from './system-daemon.ts';
import { usage } from './usage.ts';
import { WARM_EVENT, warmUpTransfers } from './warm-up.ts';
import { yieldTraceOption } from './yield-trace.ts';

/** Exit code when another bitsd already serves the socket (systemd: RestartPreventExitStatus). */
export const EXIT_ALREADY_RUNNING = 3;
/** A stop that takes longer than this is cut short (systemd's default is 90 s; ours is 5 s). */
const STOP_DEADLINE_MS = 4_500;

const paths = resolvePaths(process.env);
let args: ReturnType<typeof parseDaemonArgs>;
try {
  args = parseDaemonArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bitsd: ${(err as Error).message} (try --help)\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(usage(OPENBITS_VERSION, paths));
  process.exit(0);
}
if (args.version) {
  process.stdout.write(`${OPENBITS_VERSION}\n`);
  process.exit(0);
}

// A file (rotated by size) when asked; a terminal gets readable lines; anything else NDJSON.
const destination =
  args.logFile !== undefined
    ? new RotatingFile({ path: args.logFile })
    : process.stderr.isTTY
      ? prettyDestination(process.stderr)
      : pino.destination({ fd: 2, sync: true });
const logger = pino({ name: 'bitsd', level: process.env.OPENBITS_LOG_LEVEL ?? 'info' }, destination);
// The job log (a line per job state change) in batches: one write per 10 ms, not one per line.
// A terminal gets its lines at once.
const jobLogger =
  args.logFile === undefined && process.stderr.isTTY
    ? logger
    : pino({ name: 'bitsd', level: process.env.OPENBITS_LOG_LEVEL ?? 'info' }, new BatchedLines(destination));

process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  logger.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

let daemon: Pick<RunningDaemon, 'stop' | 'reload'> | undefined;
let stopRequested: string | undefined;

function shutdown(reason: string): void {
  if (daemon === undefined) {
    stopRequested = reason; // still starting: stop as soon as it is up
    return;
  }
  logger.info({ reason }, 'stopping');
  void sdNotify({ STOPPING: '1' });
  const force = setTimeout(() => {
    logger.error({ reason }, `bitsd did not stop within ${STOP_DEADLINE_MS} ms; exiting anyway`);
    process.exit(1);
  }, STOP_DEADLINE_MS);
  force.unref();
  daemon.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    },
  );
}

// Handlers first: a signal that arrives while starting must not kill the process mid-way.
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('SIGHUP', () => {
  // While starting, the policy file is being read anyway.
  void daemon?.reload();
});

// Not a top-level await: the daemon's bundle (dist/bitsd.cjs, scripts/bundle.ts) is CommonJS.
void (args.system ? startSystemDaemonHere() : startUserDaemon());

/** `bitsd --system`: the system-wide service. */
async function startSystemDaemonHere(): Promise<void> {
  try {
    const systemPaths = resolveSystemPaths(process.env);
    const running = await startSystemDaemon({
      paths: systemPaths,
      version: OPENBITS_VERSION,
      clock: systemClock,
      logger,
      adminGroup: args.adminGroup,
      sessions: args.sessions,
      env: process.env,
      // The service's own caller (SIGHUP's reload) is root; users get views of this manager.
      createManager: (options) =>
        createManager({
          ...options,
          owner: '0',
          isAdmin: true,
          ...(process.env.OPENBITS_METRICS === 'off' ? {} : { metrics: { version: OPENBITS_VERSION } }),
          ...yieldTraceOption(process.env.OPENBITS_YIELD_TRACE),
          logger,
        }),
    });
    daemon = running;
    logJobEvents(running.manager, jobLogger);
    if (stopRequested !== undefined) shutdown(stopRequested);
    else {
      void sdNotify({ READY: '1', MAINPID: String(process.pid), STATUS: `serving ${systemPaths.helloPath}` });
      // No warm-up here (bytes move in the owners' workers): serving is what makes the run worth caching.
      (process as NodeJS.EventEmitter).emit(WARM_EVENT);
    }
  } catch (err) {
    if (err instanceof AlreadyRunning) {
      logger.warn({}, err.message);
      process.exit(EXIT_ALREADY_RUNNING);
    }
    logger.fatal({ err }, `bitsd --system could not start: ${(err as Error).message}`);
    process.exit(1);
  }
}

/** The per-user daemon (the default). */
async function startUserDaemon(): Promise<void> {
  let running: RunningDaemon;
  try {
    running = await startDaemon({
      paths,
      version: OPENBITS_VERSION,
      clock: systemClock,
      logger,
      replace: args.replace,
      // OPENBITS_METRICS=off: no counters at all (to measure what they cost: docs/metrics.md).
      createManager: (options) =>
        createManager({
          ...options,
          ...(process.env.OPENBITS_METRICS === 'off' ? {} : { metrics: { version: OPENBITS_VERSION } }),
          ...yieldTraceOption(process.env.OPENBITS_YIELD_TRACE),
          logger,
        }),
    });
  } catch (err) {
    if (err instanceof AlreadyRunning) {
      logger.warn({}, err.message);
      process.exit(EXIT_ALREADY_RUNNING);
    }
    // The CLI that started this daemon on demand shows this error word for word (its BITS name
    // and message), so it is logged as the error itself.
    logger.fatal({ err }, `bitsd could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  daemon = running;
  logJobEvents(running.manager, jobLogger);
  if (args.idleTimeoutSeconds > 0) {
    watchIdle({
      manager: running.manager,
      clock: systemClock,
      idleMs: args.idleTimeoutSeconds * 1000,
      connections: () => running.server.connections(),
      onIdle: () => shutdown(`idle for ${args.idleTimeoutSeconds} s with no job that can run`),
    });
  }
  if (stopRequested !== undefined) {
    shutdown(stopRequested);
    return;
  }
  void sdNotify({ READY: '1', MAINPID: String(process.pid), STATUS: `serving ${paths.socketPath}` });
  warmUpTransfers(systemClock, running.server.activity, (ms) => {
    logger.debug({ ms: Math.round(ms) }, 'transfer modules loaded');
    (process as NodeJS.EventEmitter).emit(WARM_EVENT);
  });
}
