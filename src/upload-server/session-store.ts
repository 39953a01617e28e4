/**
 * Where upload sessions are recorded. Two implementations pass one contract suite
 * (test/upload-server/session-store.contract.ts): `FileSessionStore` (one host, the default:
 * a small state file beside each session's data) and `PgSessionStore` (a farm: PostgreSQL rows
 * locked with SELECT … FOR UPDATE, so two instances never accept overlapping fragments).
 */
import { UploadError } from './ack.ts';
import type { ExpiryPolicy, NewSession, Room, SessionCaps, SessionOwner, SessionRecord } from './session-record.ts';

/** What `withSession`'s callback may do to the locked session. */
export interface SessionTx {
  /** Persist the changes made to the record (before the packet is acknowledged). */
  save(record: SessionRecord): Promise<void>;
  /** Mark closed, drop its bytes, keep a tombstone (a repeated Close/Cancel still gets 200). */
  close(record: SessionRecord, nowMs: number): Promise<void>;
  /** Forget the session and delete its bytes (expired when touched). */
  remove(record: SessionRecord): Promise<void>;
}

/** The outcome of creating a session: the record, and the sessions evicted to make room. */
export interface Created {
  readonly record: SessionRecord;
  readonly evicted: readonly string[];
}

export interface SessionStore {
  /** Load or migrate; recover what a crash left. */
  open(): Promise<void>;
  /** Release connections (sessions stay for the next start). */
  close(): Promise<void>;
  /** A snapshot of a session, without locking it (reply serving, error Acks). */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Create a session and its (empty) data. When the user's or the address's cap is reached, the
   * oldest idle session of that user/address is evicted first, as IIS does; when every one of
   * them is busy (a packet in flight), 503 + BG_E_TOO_MANY_JOBS_PER_USER.
   */
  create(fields: NewSession, caps: SessionCaps, nowMs: number): Promise<Created>;
  /**
   * Make room under the caps for `want` more (the bytes a first fragment declares): evict the
   * oldest idle sessions of the owner other than `self`; 503 when busy ones leave no room.
   * Returns the ids evicted.
   */
  makeRoom(owner: SessionOwner, want: Room, caps: SessionCaps, self: string): Promise<string[]>;
  /**
   * Run `fn` with the session locked against every other packet — of this process and, for a
   * shared store, of every instance. `fn` gets the current record (undefined if unknown).
   */
  withSession<T>(id: string, fn: (record: SessionRecord | undefined, tx: SessionTx) => Promise<T>): Promise<T>;
  /**
   * Delete expired sessions (and data no session owns any more); on a shared store one sweep
   * runs at a time across the farm. Returns the ids removed.
   */
  sweep(policy: ExpiryPolicy, nowMs: number): Promise<string[]>;
}

/** The caps are reached and nothing can be evicted: the client retries later. */
export function tooManySessions(): UploadError {
  return new UploadError(503, 'BG_E_TOO_MANY_JOBS_PER_USER', 'too many open upload sessions for this user or address');
}
