/**
 * One upload session as every session store keeps it (file store and PostgreSQL alike), and the
 * policy numbers that decide when a session expires or is evicted.
 */

/** Lifecycle of a session (§8.3, simplified): bytes arriving, all bytes held, closed/cancelled. */
export type SessionPhase = 'receiving' | 'complete' | 'closed';

/** The cached outcome of the back-end notification (§8.3 NotifyCache). */
export interface NotifyResult {
  /** Absolute reply URL given by the app (BITS-Static-Response-URL), else the reply file is used. */
  readonly staticReplyUrl: string | undefined;
  readonly copyToDestination: boolean;
}

/** The record of one session. Mutable fields change only inside `SessionStore.withSession`. */
export interface SessionRecord {
  readonly id: string;
  /** Decoded destination path segments under the root: the session is tied to this URL path. */
  readonly segments: readonly string[];
  /** Absolute upload URL (BITS-Original-Request-URL, base of relative notification URLs). */
  readonly originalUrl: string;
  readonly user: string;
  /** Client address that created it (per-address session caps). */
  readonly address: string;
  readonly protocol: string;
  /** File size from the first fragment's Content-Range; null until then. */
  total: number | null;
  /** Contiguous bytes held = next offset expected. */
  received: number;
  phase: SessionPhase;
  readonly createdMs: number;
  /** Wall-clock time of the last progress (session timeout is measured from it, §8.1). */
  lastProgressMs: number;
  notify: NotifyResult | null;
}

/** What Create-Session supplies; the store fills in the rest. */
export type NewSession = Pick<SessionRecord, 'segments' | 'originalUrl' | 'user' | 'address' | 'protocol'>;

/** When sessions expire (all in milliseconds of wall-clock time without progress). */
export interface ExpiryPolicy {
  /** `BITSSessionTimeout`: a session with data and no progress for this long is deleted. */
  readonly sessionTimeoutMs: number;
  /** A session that never received a byte is deleted this much sooner (denial of service, issue 12). */
  readonly emptySessionTimeoutMs: number;
  /** A closed session's tombstone answers repeated Close/Cancel for this long. */
  readonly tombstoneMs: number;
}

/**
 * Caps on what open sessions hold, per user (never applied to `anonymous`, who is many people)
 * and per client address; 0 disables a cap. Bytes are the sizes declared by first fragments.
 */
export interface SessionCaps {
  /** Open sessions per user (`BITSNumberOfSessionsLimit`). */
  readonly sessionsPerUser: number;
  readonly sessionsPerAddress: number;
  readonly bytesPerUser: number;
  readonly bytesPerAddress: number;
}

/** Who a session belongs to, for the caps. */
export interface SessionOwner {
  readonly user: string;
  readonly address: string;
}

/** What the caller wants to add: a new session, or the bytes of a first fragment. */
export interface Room {
  readonly sessions: number;
  readonly bytes: number;
}

/** The user name without authentication: many people, so per-user caps do not apply to it. */
export const ANONYMOUS = 'anonymous';

const ID_FORM = /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/;

/** Our session ids are braced upper-case GUIDs; anything else is unknown (and never touches disk). */
export function canonicalSessionId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.trim().toUpperCase();
  return ID_FORM.test(id) ? id : undefined;
}

/** True when the session is past its timeout (or, never having received a byte, the short one). */
export function isExpired(record: SessionRecord, policy: ExpiryPolicy, nowMs: number): boolean {
  const idle = nowMs - record.lastProgressMs;
  if (record.phase === 'closed') return idle > Math.min(policy.tombstoneMs, policy.sessionTimeoutMs);
  if (record.received === 0) return idle > Math.min(policy.emptySessionTimeoutMs, policy.sessionTimeoutMs);
  return idle > policy.sessionTimeoutMs;
}

/** The limits that apply to one owner: by user (unless anonymous), then by address. */
export function ownerLimits(
  owner: SessionOwner,
  caps: SessionCaps,
): Array<{ readonly by: 'user' | 'address'; readonly sessions: number; readonly bytes: number }> {
  const out: Array<{ by: 'user' | 'address'; sessions: number; bytes: number }> = [];
  if (owner.user !== ANONYMOUS) out.push({ by: 'user', sessions: caps.sessionsPerUser, bytes: caps.bytesPerUser });
  out.push({ by: 'address', sessions: caps.sessionsPerAddress, bytes: caps.bytesPerAddress });
  return out;
}

/** True when `count` sessions holding `bytes` leave no room for `want` under the caps (0 = none). */
export function overCap(cap: { sessions: number; bytes: number }, count: number, bytes: number, want: Room): boolean {
  if (want.sessions > 0 && cap.sessions > 0 && count + want.sessions > cap.sessions) return true;
  return want.bytes > 0 && cap.bytes > 0 && bytes + want.bytes > cap.bytes;
}

/** A fresh record for a new session. */
export function newRecord(id: string, fields: NewSession, nowMs: number): SessionRecord {
  return {
    id,
    ...fields,
    total: null,
    received: 0,
    phase: 'receiving',
    createdMs: nowMs,
    lastProgressMs: nowMs,
    notify: null,
  };
}
