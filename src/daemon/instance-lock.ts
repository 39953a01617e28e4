import { createHash, randomBytes } from 'node:crypto';
import { linkSync, lstatSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { BitsError } from '../core/bits-error.ts';

/** The lock is held: another bitsd owns this database. */
export class AlreadyRunning extends Error {}

/**
 * The secret that names the lock. It lives in the private state folder, so another local user
 * cannot compute the lock's name and squat on it to keep our bitsd from starting. Created once,
 * atomically (write a temp file, then link it into place; the first link wins).
 */
function instanceKey(stateDir: string): string {
  const path = join(stateDir, 'instance.key');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(path, 'utf8');
}

/**
 * One bitsd per database (state folder): two daemons on one SQLite file would both write it.
 * Node has no flock, so the lock is a Linux abstract-namespace socket: binding it is atomic, and
 * the kernel releases it when the process dies, even by kill -9 (a pid file could not tell a
 * stale pid from a reused one). Its name comes from the folder's real path and a secret kept in
 * that folder.
 */
export async function acquireInstanceLock(stateDir: string): Promise<{ release(): void }> {
  const real = realpathSync(stateDir);
  const digest = createHash('sha256')
    .update(`${real}\0${instanceKey(real)}`)
    .digest('hex')
    .slice(0, 40);
  const name = `\0openbits-${process.getuid?.() ?? 0}-${digest}`;
  const server: Server = createServer((conn) => conn.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new AlreadyRunning(stateDir) : err);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return { release: () => server.close() };
}

/** Who holds the lock, for the "already running" message (written by the holder). */
export interface HolderInfo {
  readonly pid: number;
  readonly socketPath: string;
}

export function writeHolderInfo(stateDir: string, info: HolderInfo): void {
  writeFileSync(join(stateDir, 'bitsd.pid'), `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

export function readHolderInfo(stateDir: string): HolderInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(stateDir, 'bitsd.pid'), 'utf8')) as Partial<HolderInfo>;
    return typeof info.pid === 'number' && typeof info.socketPath === 'string'
      ? { pid: info.pid, socketPath: info.socketPath }
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when something accepts connections on `socketPath`. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * With the lock held, a socket file left at `socketPath` is normally stale (its daemon died):
 * remove it so we can bind. A socket that still answers belongs to a bitsd of another database
 * and is left alone; anything that is not a socket is refused too.
 */
export async function removeStaleSocket(socketPath: string): Promise<boolean> {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!st.isSocket()) {
    throw new BitsError('E_ACCESSDENIED', `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await answers(socketPath)) {
    throw new AlreadyRunning(`another bitsd (with another database) already serves ${socketPath}`);
  }
  unlinkSync(socketPath);
  return true;
}
