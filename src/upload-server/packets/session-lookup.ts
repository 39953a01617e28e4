import { accessDenied, sessionNotFound } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import { header } from '../http/request-head.ts';
import { canonicalSessionId, type SessionRecord } from '../session-store.ts';

/** True when a session saw no progress for longer than the session timeout (§8.1). */
export function isExpired(ctx: ServerContext, record: SessionRecord, nowMs: number): boolean {
  return nowMs - record.lastProgressMs > ctx.opts.sessionTimeoutMs;
}

/**
 * The session a packet names (BITS-Session-Id, compared case-insensitively). Unknown, expired
 * or malformed → 500 + BG_E_SESSION_NOT_FOUND; owned by another user → 403.
 * Closed sessions are returned (Close/Cancel answer them idempotently; Fragment refuses them).
 */
export async function lookupSession(ctx: ServerContext, req: PacketRequest): Promise<SessionRecord> {
  const id = canonicalSessionId(header(req.head, 'bits-session-id'));
  const record = ctx.store.get(id);
  if (record === undefined) throw sessionNotFound();
  if (record.phase !== 'closed' && isExpired(ctx, record, ctx.opts.clock.wallMs())) {
    await ctx.store.withLock(record.id, () => ctx.store.remove(record.id));
    throw sessionNotFound();
  }
  if (record.user !== req.user) throw accessDenied('the session belongs to another user');
  return record;
}
