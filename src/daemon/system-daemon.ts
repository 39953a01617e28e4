import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { BitsManager } from '../api/bits-manager.ts';
import { errorReply } from '../api/error-envelope.ts';
import type { MetricsSource } from '../api/metrics-route.ts';
import { http } from '../api/node-http.ts';
import { type SystemPaths, systemUserSocket } from '../api/paths.ts';
import { type ApiLogger, type ApiServer, listenApi } from '../api/server.ts';
import { BitsError } from '../core/bits-error.ts';
import type { Clock } from '../core/clock.ts';
import type { Caller } from '../service/job-access.ts';
import type { OwnerIo } from '../service/owner-io.ts';
import type { OwnerPresence } from '../service/owner-presence.ts';
import { OwnerWorkers } from '../service/worker/owner-workers.ts';
import { reloadPolicy } from './daemon.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { type MetricsRelay, startMetricsRelay } from './metrics-relay.ts';
import { loginDefsUidMin, OwnerSessions, type SessionMode } from './owner-sessions.ts';
import { type Account, SystemUsers } from './system-users.ts';

/** The manager the system daemon serves: one view of it per user's socket. */
export type SystemManager = BitsManager & {
  readonly metrics?: MetricsSource | undefined;
  asCaller(caller: Caller): BitsManager;
};

export interface SystemDaemonOptions {
  readonly paths: SystemPaths;
  readonly version: string;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  /** Members of this group administer the service besides root (null: root only). */
  readonly adminGroup: string | null;
  /** How owner sessions are watched; `OPENBITS_SESSIONS_DIR` replaces logind's folder (tests). */
  readonly sessions: SessionMode;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `io`: the workers that handle each owner's files and transfers as that owner. */
  /** `soleWriter`: true, the instance lock being held (ManagerOptions.soleWriter). */
  readonly createManager: (options: {
    home: string;
    policyFile: string;
    io: OwnerIo;
    presence: OwnerPresence;
    soleWriter: boolean;
  }) => Promise<SystemManager>;
}

export interface RunningSystemDaemon {
  readonly manager: SystemManager;
  /** The socket of a user, created if needed (what the hello socket does for a client). */
  userSocket(uid: number): Promise<string>;
  /** SIGHUP: re-read the machine policy; a bad file keeps the old one. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** A hello request's body is one small JSON object. */
const MAX_HELLO_BYTES = 1024;

/**
 * A folder of root's with this mode: created if missing; an existing one must be a real
 * directory of root's (not a symlink), and is set to `mode` (nobody else may create entries).
 */
function ensureRootDir(path: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(path, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink() || !st.isDirectory() || st.uid !== 0) {
    throw new BitsError('E_ACCESSDENIED', `${path} must be a directory owned by root (not a symlink); remove it`);
  }
  chmodSync(path, mode);
}

/**
 * The machine policy must be root's and writable by root only, or a user could raise their own
 * quota: a file (not a symlink) of uid 0 with no group/other write bit, in such a folder.
 */
export function checkMachinePolicy(configPath: string): void {
  for (const path of [dirname(configPath), configPath]) {
    if (!existsSync(path)) continue;
    const st = lstatSync(path);
    if (st.isSymbolicLink() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new BitsError(
        'E_ACCESSDENIED',
        `${path} must belong to root and be writable by root only (not a symlink) to hold the machine policy`,
      );
    }
  }
}

/** The uid a hello asks a socket for: a whole number that names an account. */
function helloUid(body: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BitsError('E_INVALIDARG', 'hello: the body must be JSON {"uid": N}');
  }
  const uid = (parsed as { uid?: unknown } | null)?.uid;
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0 || uid > 0xfffffffe) {
    throw new BitsError('E_INVALIDARG', 'hello: uid must be a whole number');
  }
  return uid;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(body));
}

/**
 * `bitsd --system`: one daemon, run by root, for every user of the machine (docs/system.md).
 * Callers are told apart by the kernel: each user gets a socket of their own,
 * `users/<uid>.sock`, owned by them with mode 0600 in a root folder, so only that user (and
 * root) can connect to it, and a connection to it is that user's. Nothing a caller sends names
 * who they are. The public hello socket (0666) only creates such sockets: asking for another
 * uid's socket makes one that only that uid can use.
 */
export async function startSystemDaemon(options: SystemDaemonOptions): Promise<RunningSystemDaemon> {
  const { paths, logger, clock } = options;
  if (process.getuid?.() !== 0) throw new BitsError('E_ACCESSDENIED', 'bitsd --system must run as root');
  ensureRootDir(paths.stateDir, 0o700);
  ensureRootDir(paths.runtimeDir, 0o755);
  ensureRootDir(paths.usersDir, 0o755);
  ensureRootDir(dirname(paths.configPath), 0o755);
  checkMachinePolicy(paths.configPath);
  const lock = await acquireInstanceLock(paths.stateDir);
  const users = new SystemUsers({ clock, adminGroup: options.adminGroup });
  // Uids below this are service accounts: never parked at logoff, exempt from quotas.
  const uidMin = loginDefsUidMin();
  let manager: SystemManager | undefined;
  const servers = new Map<number, Promise<ApiServer>>();
  let hello: Server | undefined;
  let relay: MetricsRelay | undefined;
  const startedAt = clock.wallMs();

  async function listenFor(account: Account, served: SystemManager): Promise<ApiServer> {
    const socketPath = systemUserSocket(paths, account.uid);
    rmSync(socketPath, { force: true });
    const uid = account.uid;
    const view = served.asCaller({
      owner: String(uid),
      isAdmin: () => users.isAdmin(uid),
      mayConfigure: () => users.isAdmin(uid),
      isServiceAccount: () => uid < uidMin,
    });
    const server = await listenApi({
      manager: view,
      clock,
      socketPath,
      logger,
      // Counts of every user's jobs: root's only.
      metrics: uid === 0 ? served.metrics : undefined,
      status: () => ({
        service: 'bitsd',
        version: options.version,
        pid: process.pid,
        startedAt,
        metricsUrl: relay?.url ?? null,
        // Each user serves their own (`bitsadmin --system /util /dashboard`) through their socket.
        dashboardUrl: null,
      }),
    });
    // Created 0600 and root's (listenApi's umask), then given to the user: no window in which
    // anyone else could connect. The mode is set while root owns it (no CAP_FOWNER needed).
    chmodSync(socketPath, 0o600);
    chownSync(socketPath, uid, account.gid);
    logger.info({ uid, user: account.name, socket: socketPath }, 'socket created for a user');
    return server;
  }

  async function userSocket(uid: number): Promise<string> {
    const served = manager;
    if (served === undefined) throw new BitsError('RPC_S_SERVER_UNAVAILABLE', 'bitsd is starting');
    const account = users.account(uid);
    if (account === undefined) throw new BitsError('E_INVALIDARG', `hello: there is no account with uid ${uid}`);
    const socketPath = systemUserSocket(paths, uid);
    const existing = servers.get(uid);
    if (existing !== undefined) {
      const server = await existing.catch(() => undefined);
      if (server !== undefined && existsSync(socketPath)) return socketPath;
      // Its socket file was removed (or it failed): serve it afresh.
      servers.delete(uid);
      await server?.close();
    }
    const created = listenFor(account, served);
    servers.set(uid, created);
    created.catch(() => servers.delete(uid));
    await created;
    return socketPath;
  }

  function onHello(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== '/v1/hello') {
      const { body, status } = errorReply(
        new BitsError('E_NOTIMPL', 'the hello socket answers POST /v1/hello only'),
        404,
      );
      reply(res, status, body);
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_HELLO_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      (async () => userSocket(helloUid(Buffer.concat(chunks).toString('utf8'))))().then(
        (socketPath) => reply(res, 200, { socketPath }),
        (err: unknown) => {
          const error = err instanceof BitsError ? err : new BitsError('E_FAIL', (err as Error).message);
          if (!(err instanceof BitsError)) logger.error({ err }, 'hello failed');
          const { body, status } = errorReply(error);
          reply(res, status, body);
        },
      );
    });
  }

  try {
    const io = new OwnerWorkers({ clock, logger, account: (uid) => users.account(uid) });
    const sessionsDir = options.env?.OPENBITS_SESSIONS_DIR;
    const presence = new OwnerSessions({
      clock,
      mode: options.sessions,
      ignorePids: () => io.pids(),
      isListed: (uid, entries) => users.isListed(uid, entries),
      uidMin,
      ...(sessionsDir === undefined || sessionsDir === '' ? {} : { logindDir: sessionsDir }),
    });
    logger.info({ sessions: presence.mode }, 'owner sessions watched');
    manager = await options.createManager({
      home: paths.stateDir,
      policyFile: paths.configPath,
      io,
      presence,
      soleWriter: true,
    });
    relay = await startWebRelay(manager, users, options);
    // Sockets of a previous run (a crash, kill -9) go: each is made again on the next hello.
    for (const name of readdirSync(paths.usersDir)) rmSync(join(paths.usersDir, name), { force: true });
    rmSync(paths.helloPath, { force: true });
    const helloServer = http.createServer(onHello);
    helloServer.requestTimeout = 10_000;
    helloServer.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      helloServer.once('error', reject);
      helloServer.listen(paths.helloPath, () => {
        helloServer.off('error', reject);
        resolve();
      });
    });
    chmodSync(paths.helloPath, 0o666);
    hello = helloServer;
  } catch (err) {
    await relay?.close();
    await manager?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
  const served = manager;
  const helloServer = hello;
  logger.info(
    { hello: paths.helloPath, home: paths.stateDir, policy: paths.configPath },
    'bitsd --system is listening',
  );
  let stopping: Promise<void> | undefined;
  return {
    manager: served,
    userSocket,
    reload: () =>
      reloadPolicy(
        async () => {
          checkMachinePolicy(paths.configPath);
          await served.reloadPolicy();
        },
        logger,
        paths.configPath,
      ),
    stop() {
      stopping ??= (async () => {
        helloServer.close();
        helloServer.closeAllConnections();
        const all = await Promise.all([...servers.values()].map((s) => s.catch(() => undefined)));
        await Promise.all(all.map((s) => s?.close()));
        await relay?.close();
        await served.close();
        rmSync(paths.helloPath, { force: true });
        for (const name of readdirSync(paths.usersDir)) rmSync(join(paths.usersDir, name), { force: true });
        lock.release();
        logger.info({}, 'bitsd stopped');
      })();
      return stopping;
    },
  };
}

/**
 * The machine policy's `metrics.listen`, served by a relay running as nobody (root parses no
 * HTTP from the network). `dashboard.listen` is not served: a dashboard of root's would have to
 * tell users apart by token, so each user runs their own through their socket instead.
 */
async function startWebRelay(
  manager: SystemManager,
  users: SystemUsers,
  options: SystemDaemonOptions,
): Promise<MetricsRelay | undefined> {
  const policy = (await manager.getPolicy()) as { metrics?: { listen?: unknown }; dashboard?: { listen?: unknown } };
  if (typeof policy.dashboard?.listen === 'string') {
    options.logger.warn(
      { listen: policy.dashboard.listen },
      'dashboard.listen is not served by bitsd --system; users run `bitsadmin --system /util /dashboard`',
    );
  }
  const listen = policy.metrics?.listen;
  if (typeof listen !== 'string' || manager.metrics === undefined) return undefined;
  // nobody: the usual unprivileged account (65534 where the name service has none).
  const account = users.named('nobody') ?? { uid: 65534, gid: 65534, name: 'nobody', home: '/' };
  return startMetricsRelay({ listen, metrics: manager.metrics, account, logger: options.logger, env: options.env });
}
