import path from 'node:path';
import { type Clock, systemClock } from '../core/clock.ts';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './http/request-head.ts';
import type { ExpiryPolicy, SessionCaps } from './session-record.ts';

/** What the authentication hook sees of a request. */
export interface AuthRequest {
  readonly method: string;
  /** Request target as sent (path and query). */
  readonly url: string;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly remoteAddress: string;
  /** Identifies the connection, for connection-oriented schemes (NTLM/Negotiate, §2: a Ping
   * opens each connection so it can authenticate). */
  readonly connectionId: number;
  readonly secure: boolean;
  /** The BITS packet type, or undefined for GET/HEAD. */
  readonly packetType: string | undefined;
}

/** The hook's answer: allow (optionally naming the user, for per-user limits) or deny. */
export type AuthDecision =
  | { readonly allow: true; readonly user?: string }
  | {
      readonly allow: false;
      /** 401 or 403 (anything else is treated as 403). */
      readonly status: number;
      /** Extra response headers, e.g. `WWW-Authenticate`. */
      readonly headers?: ReadonlyArray<readonly [string, string]>;
      /** The BITS error of the Ack (default E_ACCESSDENIED; E_NOTIMPL for an unsupported scheme). */
      readonly errorName?: 'E_ACCESSDENIED' | 'E_NOTIMPL';
    };

export type AuthHook = (req: AuthRequest) => AuthDecision | Promise<AuthDecision>;

/** IIS `BITSServerNotificationType`: none (0), by reference (1), by value (2) (§8.1). */
export type NotificationType = 'none' | 'by-reference' | 'by-value';

/** Options of the upload server and of the mountable handler (the IIS extension's settings, §8.1). */
export interface BitsUploadOptions {
  /** Folder that uploads are committed under; nothing is ever written outside it. */
  readonly root: string;
  /** URL path the server answers under (default `/`); uploads map to `root` below it. */
  readonly urlPrefix?: string;
  /** Session state folder (default `<root>/BITS-Sessions`, as IIS). Its name is reserved in URLs. */
  readonly sessionsDir?: string;
  /** `BITSMaximumUploadSize`: bytes per file (default 2^53-1, i.e. no limit). */
  readonly maxUploadSize?: number;
  /**
   * Largest fragment body accepted; larger → 413 so the client shrinks fragments (default 256 MiB:
   * advertised to our client, which sends up to about a second of transfer per fragment).
   */
  readonly maxFragmentSize?: number;
  /** `BITSSessionTimeout` in seconds without progress (default 14 days). */
  readonly sessionTimeoutS?: number;
  /** A session that has not received a byte expires after this many seconds (default 300). */
  readonly emptySessionTimeoutS?: number;
  /** How often stale sessions are swept, seconds (default min(12 h, the shortest timeout)). */
  readonly cleanupIntervalS?: number;
  /** `BITSAllowOverwrites` (default false: an existing destination → 403). */
  readonly allowOverwrite?: boolean;
  /** `BITSUploadEnabled` per URL path (default: enabled everywhere); false → 501. */
  readonly uploadEnabled?: boolean | ((urlPath: string) => boolean);
  readonly notificationType?: NotificationType;
  /** `BITSServerNotificationURL`; relative URLs resolve against the upload URL. */
  readonly notificationUrl?: string;
  /** Back-end answer deadline, seconds (default 300, as [MC-BUP]). */
  readonly notificationTimeoutS?: number;
  /** Largest reply accepted from the back end (default 64 MiB). */
  readonly maxReplySize?: number;
  /** `BITSHostId` and `BITSHostIdFallbackTimeout` (seconds). */
  readonly hostId?: string;
  readonly hostIdFallbackTimeoutS?: number;
  /** `BITSNumberOfSessionsLimit` per user (not for `anonymous`); 0 disables it (default 50). */
  readonly maxSessionsPerUser?: number;
  /** Open sessions per client address; 0 disables the limit (default 100). */
  readonly maxSessionsPerAddress?: number;
  /** Bytes (declared sizes) of open sessions per user / per address; 0 = no cap (default 64 GiB). */
  readonly maxSessionBytesPerUser?: number;
  readonly maxSessionBytesPerAddress?: number;
  /** Serve GET/HEAD of committed uploads under the prefix (default false; replies are always served). */
  readonly serveUploads?: boolean;
  /**
   * The server's public origin, e.g. `https://files.example`: base of reply URLs, of
   * BITS-Original-Request-URL and of a relative notification URL. The request's Host header is
   * never used for a URL the server itself connects to (SSRF, issue 12). Without it, reply URLs
   * are sent relative and a relative notification URL is refused.
   */
  readonly publicOrigin?: string;
  /**
   * Record sessions in PostgreSQL instead of files (a farm: every instance on the same database
   * and the same shared `sessionsDir`), e.g. `postgres://bits@db/bits`. Migrations run at start.
   */
  readonly databaseUrl?: string;
  /** Database connections per instance; each packet in flight holds one (default 20). */
  readonly databasePoolSize?: number;
  readonly authorize?: AuthHook;
  /** Accept `POST` + `X-Http-Method-Override: BITS_POST` from non-Windows clients (default true). */
  readonly allowMethodOverride?: boolean;
  readonly clock?: Clock;
  readonly headLimits?: Partial<HeadLimits>;
  readonly idleTimeoutS?: number;
  readonly headersTimeoutS?: number;
  /** Called with unexpected internal errors (default: ignored). */
  readonly onError?: (err: unknown) => void;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly root: string;
  readonly urlPrefix: string;
  readonly sessionsDir: string;
  /** Name of the sessions folder as a URL segment, reserved when it lies under root. */
  readonly reservedSegment: string | undefined;
  readonly maxUploadSize: number;
  readonly maxFragmentSize: number;
  readonly expiry: ExpiryPolicy;
  readonly caps: SessionCaps;
  readonly cleanupIntervalMs: number;
  readonly allowOverwrite: boolean;
  readonly uploadEnabled: (urlPath: string) => boolean;
  readonly notificationType: NotificationType;
  readonly notificationUrl: string | undefined;
  readonly notificationTimeoutMs: number;
  readonly maxReplySize: number;
  readonly hostId: string | undefined;
  readonly hostIdFallbackTimeoutS: number | undefined;
  readonly serveUploads: boolean;
  readonly publicOrigin: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly authorize: AuthHook | undefined;
  readonly allowMethodOverride: boolean;
  readonly clock: Clock;
  readonly headLimits: HeadLimits;
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly onError: (err: unknown) => void;
}

const DAY_S = 24 * 3600;

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return v;
}

function nonNegative(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a whole number, got ${value}`);
  return v;
}

/** `https://host[:port]` with nothing after it, or a RangeError. */
function parseOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`publicOrigin ${value} is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new RangeError(`publicOrigin ${value} must be an http(s) origin without credentials`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new RangeError(`publicOrigin ${value} must be an origin only (no path, query or fragment)`);
  }
  return url.origin;
}

function isAbsoluteUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** Apply defaults and check values; throws RangeError on a bad option. */
export function resolveOptions(options: BitsUploadOptions): ResolvedOptions {
  if (!options.root) throw new RangeError('root is required');
  const root = path.resolve(options.root);
  let urlPrefix = options.urlPrefix ?? '/';
  if (!urlPrefix.startsWith('/')) urlPrefix = `/${urlPrefix}`;
  if (!urlPrefix.endsWith('/')) urlPrefix = `${urlPrefix}/`;
  const sessionsDir = path.resolve(options.sessionsDir ?? path.join(root, 'BITS-Sessions'));
  const rel = path.relative(root, sessionsDir);
  const reservedSegment = rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep)[0];
  if (rel === '') throw new RangeError('sessionsDir must not be the upload root');
  const sessionTimeoutS = positive(options.sessionTimeoutS, 14 * DAY_S, 'sessionTimeoutS');
  const emptySessionTimeoutS = positive(options.emptySessionTimeoutS, 300, 'emptySessionTimeoutS');
  const publicOrigin = parseOrigin(options.publicOrigin);
  const notificationType = options.notificationType ?? (options.notificationUrl ? 'by-reference' : 'none');
  if (notificationType !== 'none' && !options.notificationUrl) {
    throw new RangeError('a notification type needs a notification URL');
  }
  if (notificationType !== 'none' && !isAbsoluteUrl(options.notificationUrl ?? '') && publicOrigin === undefined) {
    // Resolving it against the request's Host would let a client pick where we POST (SSRF).
    throw new RangeError('a relative notification URL needs publicOrigin to resolve against');
  }
  const enabled = options.uploadEnabled ?? true;
  return {
    root,
    urlPrefix,
    sessionsDir,
    reservedSegment,
    maxUploadSize: positive(options.maxUploadSize, Number.MAX_SAFE_INTEGER, 'maxUploadSize'),
    maxFragmentSize: positive(options.maxFragmentSize, 256 * 1024 * 1024, 'maxFragmentSize'),
    expiry: {
      sessionTimeoutMs: sessionTimeoutS * 1000,
      emptySessionTimeoutMs: emptySessionTimeoutS * 1000,
      tombstoneMs: DAY_S * 1000,
    },
    caps: {
      sessionsPerUser: nonNegative(options.maxSessionsPerUser, 50, 'maxSessionsPerUser'),
      sessionsPerAddress: nonNegative(options.maxSessionsPerAddress, 100, 'maxSessionsPerAddress'),
      bytesPerUser: nonNegative(options.maxSessionBytesPerUser, 64 * 1024 ** 3, 'maxSessionBytesPerUser'),
      bytesPerAddress: nonNegative(options.maxSessionBytesPerAddress, 64 * 1024 ** 3, 'maxSessionBytesPerAddress'),
    },
    cleanupIntervalMs:
      positive(
        options.cleanupIntervalS,
        Math.min(12 * 3600, sessionTimeoutS, emptySessionTimeoutS),
        'cleanupIntervalS',
      ) * 1000,
    allowOverwrite: options.allowOverwrite ?? false,
    uploadEnabled: typeof enabled === 'function' ? enabled : () => enabled,
    notificationType,
    notificationUrl: notificationType === 'none' ? undefined : options.notificationUrl,
    notificationTimeoutMs: positive(options.notificationTimeoutS, 300, 'notificationTimeoutS') * 1000,
    maxReplySize: positive(options.maxReplySize, 64 * 1024 * 1024, 'maxReplySize'),
    hostId: options.hostId,
    hostIdFallbackTimeoutS: options.hostId === undefined ? undefined : (options.hostIdFallbackTimeoutS ?? DAY_S),
    serveUploads: options.serveUploads ?? false,
    publicOrigin,
    databaseUrl: options.databaseUrl,
    databasePoolSize: positive(options.databasePoolSize, 20, 'databasePoolSize'),
    authorize: options.authorize,
    allowMethodOverride: options.allowMethodOverride ?? true,
    clock: options.clock ?? systemClock,
    headLimits: { ...DEFAULT_HEAD_LIMITS, ...options.headLimits },
    idleTimeoutMs: positive(options.idleTimeoutS, 120, 'idleTimeoutS') * 1000,
    headersTimeoutMs: positive(options.headersTimeoutS, 60, 'headersTimeoutS') * 1000,
    onError: options.onError ?? (() => {}),
  };
}
