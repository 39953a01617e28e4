import type { BitsManager, ManagerEvent } from '../api/bits-manager.ts';
import type { MetricsSource } from '../api/metrics-route.ts';
import type { OpenbitsPaths } from '../api/paths.ts';
import { type ApiLogger, type ApiServer, listenApi } from '../api/server.ts';
import { BitsError } from '../core/bits-error.ts';
import type { Clock } from '../core/clock.ts';
import {
  AlreadyRunning,
  acquireInstanceLock,
  readHolderInfo,
  removeStaleSocket,
  writeHolderInfo,
} from './instance-lock.ts';
import { ensurePrivateDir } from './private-dir.ts';
import { runningPid, stopRunningDaemon } from './takeover.ts';
import { startWebListeners, type WebListeners } from './web-listeners.ts';

/** The manager bitsd serves (SIGHUP calls its reloadPolicy); with metrics, GET /metrics answers them. */
export type ServedManager = BitsManager & {
  readonly metrics?: MetricsSource | undefined;
  /** Every event, unfiltered by NotifyFlags (the job log); an in-process manager has it. */
  observe?(listener: (event: ManagerEvent) => void): () => void;
};

export interface DaemonOptions {
  readonly paths: OpenbitsPaths;
  readonly version: string;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  /** `soleWriter`: true, the instance lock being held (ManagerOptions.soleWriter). */
  readonly createManager: (options: {
    home: string;
    policyFile: string;
    soleWriter: boolean;
  }) => Promise<ServedManager>;
  /** Stop a bitsd that already serves the socket and take over (systemd's `--replace`). */
  readonly replace?: boolean;
}

export interface RunningDaemon {
  readonly manager: ServedManager;
  readonly server: ApiServer;
  /** SIGHUP: reload the policy if the manager can; a bad file keeps the old policy. */
  reload(): Promise<void>;
  /** SIGTERM: stop serving, stop transfers at a checkpoint, close the database. */
  stop(): Promise<void>;
}

/** How long `--replace` waits for the old daemon to let go (it stops within 5 s). */
const TAKEOVER_WAIT_MS = 10_000;

type InstanceLock = { release(): void };

/** Retry the instance lock until `ms` pass (the holder is on its way out). */
async function waitForInstanceLock(stateDir: string, ms: number, clock: Clock): Promise<InstanceLock> {
  const deadline = clock.monotonicMs() + ms;
  for (;;) {
    try {
      return await acquireInstanceLock(stateDir);
    } catch (err) {
      if (!(err instanceof AlreadyRunning) || clock.monotonicMs() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A Unix socket path longer than this does not fit in sockaddr_un. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Start bitsd: private folders, the one-instance lock, the manager (which re-queues jobs that
 * were transferring when the last daemon stopped), then the API on the socket.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { paths, logger } = options;
  if (Buffer.byteLength(paths.socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new BitsError(
      'E_INVALIDARG',
      `socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes: ${paths.socketPath}`,
    );
  }
  ensurePrivateDir(paths.stateDir);
  ensurePrivateDir(paths.runtimeDir);

  let lock: InstanceLock;
  try {
    lock = await acquireInstanceLock(paths.stateDir);
  } catch (err) {
    if (!(err instanceof AlreadyRunning)) throw err;
    if (options.replace === true && (await stopRunningDaemon(paths.socketPath))) {
      // The kernel frees the lock when the old daemon's process ends (a zombie too).
      lock = await waitForInstanceLock(paths.stateDir, TAKEOVER_WAIT_MS, options.clock);
      logger.info({ socket: paths.socketPath }, 'took over from the bitsd that was running');
      return serve(options, lock);
    }
    const holder = readHolderInfo(paths.stateDir);
    const socketPath = holder?.socketPath ?? paths.socketPath;
    const pid = (await runningPid(socketPath)) ?? holder?.pid;
    throw new AlreadyRunning(
      `bitsd is already running${pid === undefined ? '' : ` (pid ${pid})`} at ${socketPath} for ${paths.stateDir}`,
    );
  }
  return serve(options, lock);
}

/** With the lock held: the manager, then the API on the socket. */
async function serve(options: DaemonOptions, lock: InstanceLock): Promise<RunningDaemon> {
  const { paths, logger } = options;
  let manager: ServedManager | undefined;
  try {
    if (await removeStaleSocket(paths.socketPath)) {
      logger.info({ socket: paths.socketPath }, 'removed a stale socket');
    }
    writeHolderInfo(paths.stateDir, { pid: process.pid, socketPath: paths.socketPath });
    manager = await options.createManager({ home: paths.stateDir, policyFile: paths.configPath, soleWriter: true });
    const startedAt = options.clock.wallMs();
    const served = manager;
    let web: WebListeners | undefined;
    const server = await listenApi({
      manager: served,
      clock: options.clock,
      socketPath: paths.socketPath,
      logger,
      metrics: served.metrics,
      status: () => ({
        service: 'bitsd',
        version: options.version,
        pid: process.pid,
        startedAt,
        metricsUrl: web?.metricsUrl ?? null,
        dashboardUrl: web?.dashboardUrl ?? null,
      }),
    });
    try {
      const listen = listenSettings(await served.getPolicy());
      web = await startWebListeners({
        ...listen,
        metrics: served.metrics,
        api: (request) => server.fetch(request),
        stateDir: paths.stateDir,
        logger,
      });
    } catch (err) {
      await server.close();
      throw err;
    }
    const listeners = web;
    logger.info({ socket: paths.socketPath, home: paths.stateDir, pid: process.pid }, 'bitsd is listening');
    let stopping: Promise<void> | undefined;
    return {
      manager: served,
      server,
      reload: () => reloadPolicy(() => served.reloadPolicy(), logger, paths.configPath),
      stop() {
        stopping ??= (async () => {
          await listeners.close();
          await server.close();
          await served.close();
          lock.release();
          logger.info({}, 'bitsd stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await manager?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

/** SIGHUP: re-read the policy file; a bad one is logged and the policy in force stays. */
export async function reloadPolicy(reload: () => Promise<unknown>, logger: ApiLogger, file: string): Promise<void> {
  try {
    await reload();
    logger.info({ file }, 'policy reloaded');
  } catch (err) {
    logger.error({ err, file }, 'policy not reloaded; the previous one stays');
  }
}

/** The `metrics.listen` and `dashboard.listen` settings of the policy document. */
function listenSettings(policy: Record<string, unknown>): {
  metricsListen: string | null;
  dashboardListen: string | null;
} {
  const at = (section: string): string | null => {
    const value = (policy[section] as { listen?: unknown } | undefined)?.listen;
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  };
  return { metricsListen: at('metrics'), dashboardListen: at('dashboard') };
}
