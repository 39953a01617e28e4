import type { BitsManager, ManagerEvent, Unsubscribe } from '../api/bits-manager.ts';
import { EventQueue } from '../api/event-queue.ts';
import type { Operation, OperationName } from '../api/operation.ts';
import { OPERATIONS } from '../api/operations.ts';
import { resolvePaths, resolveSystemPaths, systemUserSocket } from '../api/paths.ts';
import type { DaemonStatus } from '../api/schemas.ts';
import { DEFAULT_IDLE_TIMEOUT_S, startDaemon } from './autostart.ts';
import { EventFeed } from './event-feed.ts';
import { sayHello } from './system-hello.ts';
import { isNotRunning, Transport } from './transport.ts';

export interface ConnectOptions {
  /** The daemon's socket (default: the daemon's own path rules, see resolvePaths). */
  readonly socketPath?: string;
  /**
   * Start bitsd when nobody answers (default true; `false` or OPENBITS_NO_AUTOSTART=1 turns
   * it off). The daemon is spawned detached with this process's Node and environment.
   */
  readonly autoStart?: boolean;
  /**
   * bin/bitsd.js for an on-demand start (default: OPENBITS_BITSD, else found through the
   * openbits package); a bundled application passes it.
   */
  readonly bitsdPath?: string;
  /**
   * Seconds an on-demand bitsd stays up with no job that can run before it exits (default
   * OPENBITS_IDLE_TIMEOUT, else 300; 0 = never). It starts again on the next call.
   */
  readonly idleTimeoutSeconds?: number;
  /** Longest wait for a reply (default 30 s). */
  readonly timeoutMs?: number;
  /** Environment for path rules and for an on-demand daemon (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Talk to the system bitsd (`bitsd --system`, docs/system.md) through this user's socket on
   * it, instead of the per-user daemon (default: OPENBITS_SYSTEM=1). The socket is asked for
   * on the hello socket when it is missing; a system daemon is never started on demand.
   */
  readonly system?: boolean;
}

/** A BitsManager served by bitsd, plus what only a remote manager has. */
export interface BitsClient extends BitsManager {
  readonly socketPath: string;
  /** GET /v1/status: the answering daemon's pid, version and start time. */
  status(): Promise<DaemonStatus>;
}

/** The on-demand daemon's idle timeout: the option, else OPENBITS_IDLE_TIMEOUT, else the default. */
function idleTimeout(option: number | undefined, env: Readonly<Record<string, string | undefined>>): number {
  if (option !== undefined) return option;
  const fromEnv = Number(env.OPENBITS_IDLE_TIMEOUT);
  return env.OPENBITS_IDLE_TIMEOUT !== undefined && env.OPENBITS_IDLE_TIMEOUT !== '' && Number.isFinite(fromEnv)
    ? fromEnv
    : DEFAULT_IDLE_TIMEOUT_S;
}

type Calls = { [K in OperationName]: BitsManager[K] };
// Every request/reply method of BitsManager has a route (a missing one fails typechecking).
const exhaustive: Record<OperationName, Operation> = OPERATIONS;
void exhaustive;

/**
 * Connect to bitsd over its Unix socket. Returns at once; the first call connects (and starts
 * the daemon on demand). Errors are BitsErrors rebuilt from the daemon's envelope.
 */
export function connect(options: ConnectOptions = {}): BitsClient {
  const env = options.env ?? process.env;
  const paths = resolvePaths(env);
  const system = options.system ?? env.OPENBITS_SYSTEM === '1';
  const systemPaths = resolveSystemPaths(env);
  const uid = process.getuid?.() ?? 0;
  const socketPath = options.socketPath ?? (system ? systemUserSocket(systemPaths, uid) : paths.socketPath);
  const autoStart = options.autoStart ?? env.OPENBITS_NO_AUTOSTART !== '1';
  const transport = new Transport({
    socketPath,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const feed = new EventFeed({ open: (path, signal, idleMs) => transport.stream(path, signal, idleMs) });
  const enders = new Set<() => void>();
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  async function withDaemon<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // Only "nobody listens" is retried: the request never reached a daemon.
      if (!(autoStart || system) || !isNotRunning(err)) throw err;
    }
    if (system) {
      // The system bitsd makes this user's socket on request (systemd starts the daemon itself).
      starting ??= sayHello(systemPaths, uid)
        .then(() => undefined)
        .finally(() => {
          starting = undefined;
        });
      await starting;
      return fn();
    }
    starting ??= startDaemon(transport, {
      env,
      logPath: paths.logPath,
      ...(options.bitsdPath === undefined ? {} : { bitsdPath: options.bitsdPath }),
      idleTimeoutSeconds: idleTimeout(options.idleTimeoutSeconds, env),
    }).finally(() => {
      starting = undefined;
    });
    await starting;
    return fn();
  }

  const calls: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, op] of Object.entries(OPERATIONS) as Array<[string, Operation]>) {
    calls[name] = (...args) => withDaemon(() => transport.call(op, args));
  }

  function subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): Unsubscribe {
    const { remove, ready } = feed.add(listener, filter?.jobId);
    return Object.assign(() => remove(), { ready });
  }

  function events(options: { jobId?: string; signal?: AbortSignal } = {}): AsyncIterable<ManagerEvent> {
    const queue = new EventQueue<ManagerEvent>();
    const { remove } = feed.add((e) => queue.push(e), options.jobId);
    const finish = (): void => {
      queue.end({ drop: true }); // an aborted or closed iterator ends now, not after its backlog
      remove();
      enders.delete(finish);
    };
    enders.add(finish);
    if (options.signal?.aborted === true) finish();
    options.signal?.addEventListener('abort', finish, { once: true });
    async function* iterate(): AsyncGenerator<ManagerEvent> {
      try {
        yield* queue;
      } finally {
        finish();
      }
    }
    return iterate();
  }

  return {
    ...(calls as unknown as Calls),
    socketPath,
    status: () => withDaemon(() => transport.status()),
    subscribe,
    events,
    close() {
      closing ??= (async () => {
        for (const end of [...enders]) end();
        feed.close();
        await transport.close();
      })();
      return closing;
    },
  };
}
