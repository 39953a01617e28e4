import pino from 'pino';
import pkg from '../../package.json' with { type: 'json' };
import { resolvePaths } from '../api/paths.ts';
import { systemClock } from '../core/clock.ts';
import { createManager } from '../service/manager.ts';
import { type RunningDaemon, startDaemon } from './daemon.ts';
import { AlreadyRunning } from './instance-lock.ts';
import { usage } from './usage.ts';

/** Exit code when another bitsd already serves the socket (systemd: RestartPreventExitStatus). */
export const EXIT_ALREADY_RUNNING = 3;
/** A stop that takes longer than this is cut short (systemd's default is 90 s; ours is 5 s). */
const STOP_DEADLINE_MS = 4_500;

const paths = resolvePaths(process.env);
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(usage(pkg.version, paths));
  process.exit(0);
}
if (args.includes('--version')) {
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`bitsd: unknown argument ${args[0]} (try --help)\n`);
  process.exit(2);
}

const logger = pino(
  { name: 'bitsd', level: process.env.OPENBITS_LOG_LEVEL ?? 'info' },
  pino.destination({ fd: 2, sync: true }),
);

process.on('uncaughtException', (err) => {
  logger.fatal({ err }, 'uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  logger.fatal({ err }, 'unhandled rejection');
  process.exit(1);
});

let daemon: RunningDaemon | undefined;
let stopRequested: NodeJS.Signals | undefined;

function shutdown(signal: NodeJS.Signals): void {
  if (daemon === undefined) {
    stopRequested = signal; // still starting: stop as soon as it is up
    return;
  }
  logger.info({ signal }, 'stopping');
  const force = setTimeout(() => {
    logger.error({ signal }, `bitsd did not stop within ${STOP_DEADLINE_MS} ms; exiting anyway`);
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

try {
  daemon = await startDaemon({
    paths,
    version: pkg.version,
    clock: systemClock,
    logger,
    // OPENBITS_METRICS=off: no counters at all (to measure what they cost: docs/metrics.md).
    createManager: (options) =>
      createManager({
        ...options,
        ...(process.env.OPENBITS_METRICS === 'off' ? {} : { metrics: { version: pkg.version } }),
        logger,
      }),
  });
} catch (err) {
  if (err instanceof AlreadyRunning) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_ALREADY_RUNNING);
  }
  logger.fatal({ err }, 'bitsd could not start');
  process.exit(1);
}
if (stopRequested !== undefined) shutdown(stopRequested);
