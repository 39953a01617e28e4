import { createHash } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { BitsError } from '../core/bits-error.ts';

/** The lock is held: another bitsd serves this socket path. */
export class AlreadyRunning extends Error {}

/**
 * One bitsd per socket path. Node has no flock, so the lock is a Linux abstract-namespace
 * socket named after the socket path: binding it is atomic, and the kernel releases it when the
 * process dies, even by kill -9 (a pid file could not tell a stale pid from a reused one).
 */
export async function acquireInstanceLock(socketPath: string): Promise<{ release(): void }> {
  const digest = createHash('sha256').update(socketPath).digest('hex').slice(0, 32);
  const name = `\0openbits-${process.getuid?.() ?? 0}-${digest}`;
  const server: Server = createServer((conn) => conn.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new AlreadyRunning(socketPath) : err);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return { release: () => server.close() };
}

/**
 * With the lock held, a socket file left at `socketPath` is stale (its daemon died): remove it
 * so we can bind. Anything that is not a socket is left alone and reported.
 */
export function removeStaleSocket(socketPath: string): boolean {
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
  unlinkSync(socketPath);
  return true;
}
