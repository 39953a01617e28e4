import { accessDenied, sessionNotFound } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import { header } from '../http/request-head.ts';
import { canonicalSessionId, isExpired, type SessionRecord } from '../session-record.ts';
import type { SessionTx } from '../session-store.ts';

/** The session id a packet names (BITS-Session-Id, any case), or undefined if malformed. */
export function packetSessionId(req: PacketRequest): string | undefined {
  return canonicalSessionId(header(req.head, 'bits-session-id'));
}

/**
 * Run `fn` on the session a packet names, locked. Unknown, expired or malformed ids, and a URL
 * other than the session's own (a session is tied to its URL, issue 12) → 500 +
 * BG_E_SESSION_NOT_FOUND: no session exists for that request entity ([MC-BUP] §2.2.1.2).
 * Owned by another user → 403. Closed sessions are passed on (Close/Cancel answer them again;
 * Fragment refuses them).
 */
export async function withPacketSession<T>(
  ctx: ServerContext,
  req: PacketRequest,
  fn: (record: SessionRecord, tx: SessionTx) => Promise<T>,
): Promise<T> {
  const id = packetSessionId(req);
  if (id === undefined) throw sessionNotFound();
  return ctx.store.withSession(id, async (record, tx) => {
    if (record === undefined) throw sessionNotFound();
    if (record.phase !== 'closed' && isExpired(record, ctx.opts.expiry, ctx.opts.clock.wallMs())) {
      await tx.remove(record);
      ctx.metrics.sessionsEnded('expired');
      throw sessionNotFound();
    }
    if (record.user !== req.user) throw accessDenied('the session belongs to another user');
    if (!sameSegments(record.segments, req.target)) throw sessionNotFound();
    return fn(record, tx);
  });
}

function sameSegments(segments: readonly string[], target: PacketRequest['target']): boolean {
  if (target.kind !== 'file' || target.segments.length !== segments.length) return false;
  return segments.every((s, i) => s === target.segments[i]);
}
