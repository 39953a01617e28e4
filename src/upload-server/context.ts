import type { Dispatcher } from 'undici';
import type { RequestHead } from './http/request-head.ts';
import type { BodyReader } from './http/socket-input.ts';
import type { UploadMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import type { SessionData } from './session-files.ts';
import type { SessionStore } from './session-store.ts';
import type { Target } from './url-path.ts';

/** What every packet handler shares: the settings, the session records and their bytes. */
export interface ServerContext {
  readonly opts: ResolvedOptions;
  readonly store: SessionStore;
  readonly files: SessionData;
  /** HTTP client for back-end notifications (closed with the handler). */
  readonly dispatcher: Dispatcher;
  /** This instance's Prometheus counters. */
  readonly metrics: UploadMetrics;
}

/** One BITS_POST packet as a handler sees it. */
export interface PacketRequest {
  readonly head: RequestHead;
  readonly body: BodyReader;
  readonly target: Target;
  /** The user the auth hook named (`anonymous` without a hook). */
  readonly user: string;
  /** The client's address (per-address session caps). */
  readonly remoteAddress: string;
  /**
   * `http(s)://host[:port]` for BITS-Original-Request-URL: the configured public origin, else
   * the request's own Host — informational only, never a URL the server connects to.
   */
  readonly origin: string;
  /** The server is about to be busy (notification): stop the connection's idle timer. */
  readonly suspendIdleTimeout: () => void;
}
