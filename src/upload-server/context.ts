import type { Dispatcher } from 'undici';
import type { RequestHead } from './http/request-head.ts';
import type { BodyReader } from './http/socket-input.ts';
import type { ResolvedOptions } from './options.ts';
import type { SessionStore } from './session-store.ts';
import type { Target } from './url-path.ts';

/** What every packet handler shares: the settings and the session store. */
export interface ServerContext {
  readonly opts: ResolvedOptions;
  readonly store: SessionStore;
  /** HTTP client for back-end notifications (closed with the handler). */
  readonly dispatcher: Dispatcher;
}

/** One BITS_POST packet as a handler sees it. */
export interface PacketRequest {
  readonly head: RequestHead;
  readonly body: BodyReader;
  readonly target: Target;
  /** The user the auth hook named (`anonymous` without a hook). */
  readonly user: string;
  /** `http(s)://host[:port]` of this request, for absolute URLs (reply, original request). */
  readonly baseUrl: string;
  /** The server is about to be busy (notification): stop the connection's idle timer. */
  readonly suspendIdleTimeout: () => void;
}
