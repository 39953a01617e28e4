import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitsManager } from '../../src/api/contract.ts';
import { type ApiServer, listenApi } from '../../src/api/server.ts';
import type { Clock } from '../../src/core/clock.ts';
import { systemClock } from '../../src/core/clock.ts';

/** Real time for servers under test (heartbeats); tests never wait on it. */
export const realClock: Clock = systemClock;

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'openbits-api-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  // Retries: a detached bitsd that is exiting may still be writing its compile cache here.
  return { path, remove: () => rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }) };
}

/** A real API server on a Unix socket in a fresh temp folder. */
export async function serve(
  manager: BitsManager,
  options: { heartbeatMs?: number; maxBodyBytes?: number } = {},
): Promise<{ server: ApiServer; socketPath: string; dir: TempDir; close(): Promise<void> }> {
  const dir = await tempDir();
  const socketPath = join(dir.path, 'bitsd.sock');
  const server = await listenApi({
    manager,
    clock: realClock,
    socketPath,
    status: () => ({ service: 'bitsd', version: 'test', pid: process.pid, startedAt: Date.now() }),
    ...options,
  });
  return {
    server,
    socketPath,
    dir,
    async close() {
      await server.close();
      await dir.remove();
    },
  };
}
