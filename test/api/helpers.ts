import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import type { BitsManager, Unsubscribe } from '../../src/api/bits-manager.ts';
import { type ApiServer, listenApi } from '../../src/api/server.ts';
import { type Clock, systemClock } from '../../src/core/clock.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import { TestClock } from '../helpers/test-clock.ts';

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

/** The real in-process manager in a fresh home (network up, a TestClock for its timers). */
export async function realManager(): Promise<{ manager: InProcessManager; close(): Promise<void> }> {
  const home = await tempDir('openbits-api-home-');
  const manager = await createManager({
    home: home.path,
    clock: new TestClock(),
    network: new ManualNetworkSource(true),
  });
  return {
    manager,
    async close() {
      await manager.close();
      await home.remove();
    },
  };
}

/** A manager seen through `observe`: live subscriptions counted, one method replaceable. */
export interface Observed extends BitsManager {
  /** Subscriptions made through this object and not yet ended. */
  readonly listenerCount: number;
  /** Resolves once listenerCount is `n` (at once if it is). */
  listenerCountIs(n: number): Promise<void>;
  /** Answer `name` with `fn` instead of the manager; returns the undo. */
  replace<K extends keyof BitsManager>(name: K, fn: BitsManager[K]): () => void;
}

/**
 * The real manager behind the API, wrapped at its interface only: the server's subscriptions are
 * counted (to prove a dropped stream unsubscribes) and a test may make one method fail in a way
 * the manager never does (a non-BITS error). Everything else is the manager itself.
 */
export function observe(manager: BitsManager): Observed {
  let live = 0;
  const waiters = new Set<() => void>();
  const replaced = new Map<PropertyKey, unknown>();
  const changed = (): void => {
    for (const w of [...waiters]) w();
  };
  const extra: Record<PropertyKey, unknown> = {
    get listenerCount() {
      return live;
    },
    listenerCountIs: (n: number) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (live !== n) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    replace: (name: PropertyKey, fn: unknown) => {
      replaced.set(name, fn);
      return () => replaced.delete(name);
    },
    subscribe: (...args: Parameters<BitsManager['subscribe']>): Unsubscribe => {
      const off = manager.subscribe(...args);
      live++;
      changed();
      let ended = false;
      return Object.assign(
        () => {
          if (ended) return;
          ended = true;
          off();
          live--;
          changed();
        },
        { ready: off.ready ?? Promise.resolve() },
      );
    },
  };
  return new Proxy(manager, {
    get(target, prop) {
      if (replaced.has(prop)) return replaced.get(prop);
      if (prop in extra) return Reflect.get(extra, prop);
      const value = Reflect.get(target, prop, target);
      // The manager keeps its state in #private fields: its methods run on itself.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Observed;
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
    status: () => ({ service: 'bitsd', version: 'test', pid: process.pid, startedAt: realClock.wallMs() }),
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

/** One raw call on the API socket through `agent` (JSON text in, status and parsed JSON out). */
export async function rawCall(agent: Agent, method: string, path: string, body?: string) {
  const res = await agent.request({
    origin: 'http://bitsd',
    path,
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body ?? null,
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}
