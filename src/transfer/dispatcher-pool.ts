import { createHash } from 'node:crypto';
import type { Agent, Dispatcher } from 'undici';
import { type Credentials, systemClock } from '../core/index.ts';
import { AuthResponder } from './auth.ts';
import { makeConnector } from './connector.ts';
import type { TransferTimeouts } from './download-request.ts';
import { closePlainConnections } from './plain-http.ts';
import { IGNORE_FLAGS } from './tls-verify.ts';
import { undici } from './undici-module.ts';

/**
 * One undici Agent per route — direct, forward proxy, or CONNECT tunnel — and TLS/timeout
 * options; each Agent keeps one connection pool per origin, so keep-alive connections are
 * shared by every transfer with the same settings. Module-level cache.
 */

/** direct; forward = absolute-form requests to a proxy; tunnel = CONNECT through a proxy. */
export type RouteKind = 'direct' | 'forward' | 'tunnel';

const agents = new Map<string, Agent>();

/** What selects (and keys) a cached Agent. */
export interface RouteSpec {
  readonly kind: RouteKind;
  readonly proxy: URL | null;
  readonly securityFlags: number;
  readonly timeouts: TransferTimeouts;
  /** Proxy credentials, for the tunnel's CONNECT (part of the cache key, hashed). */
  readonly proxyCredentials: readonly Credentials[];
}

/** The cached Agent for a route, created on first use. */
export function dispatcherFor(spec: RouteSpec): Dispatcher {
  const tunnelCreds = spec.kind === 'tunnel' ? spec.proxyCredentials : [];
  const key = JSON.stringify([
    spec.kind,
    spec.proxy?.href ?? null,
    spec.securityFlags & IGNORE_FLAGS,
    spec.timeouts,
    tunnelCreds.length === 0 ? null : createHash('sha256').update(JSON.stringify(tunnelCreds)).digest('hex'),
  ]);
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new (undici().Agent)({
      connect: makeConnector({
        securityFlags: spec.securityFlags,
        connectTimeoutMs: spec.timeouts.connectMs,
        proxy: spec.kind === 'tunnel' ? spec.proxy : null,
        proxyAuth: spec.kind === 'tunnel' ? new AuthResponder('PROXY', tunnelCreds) : null,
        // Agents are shared by every job and run on undici's real timers: so does their connector.
        clock: systemClock,
      }),
      headersTimeout: spec.timeouts.headersMs,
      bodyTimeout: spec.timeouts.bodyIdleMs,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Close every cached Agent and kept plain-http connection (tests, daemon shutdown). */
export async function closeDispatchers(): Promise<void> {
  closePlainConnections();
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.destroy().catch(() => undefined)));
}
