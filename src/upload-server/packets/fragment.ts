import { BITS_HEADERS, type FragmentRange, parseContentRange } from '../../core/upload-protocol.ts';
import { type Ack, ack, badRequest, sessionNotFound, toUploadError, UploadError, withReceived } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import { header } from '../http/request-head.ts';
import { ConnectionClosedError } from '../http/socket-input.ts';
import { notifyBackEnd, replyUrlFor } from '../notify.ts';
import { ownerLimits, type SessionRecord } from '../session-record.ts';
import type { SessionTx } from '../session-store.ts';
import { withPacketSession } from './session-lookup.ts';

/**
 * Fragment (§9.2). With R = bytes held and the fragment `S-E/T`:
 * S > R → 416 with R (gap; nothing written); E < R → duplicate, R unchanged; otherwise only
 * bytes R..E are written (held data is never overwritten), fdatasync'd, the state recorded,
 * and only then acknowledged (fault table row 27). The last byte triggers the notification.
 * The session stays locked throughout, so no other packet — on this instance or another
 * instance of a farm — writes the same session meanwhile.
 */
export async function receiveFragment(ctx: ServerContext, req: PacketRequest): Promise<Ack> {
  const started = ctx.opts.clock.monotonicMs();
  return withPacketSession(ctx, req, async (record, tx) => {
    if (record.phase === 'closed') throw sessionNotFound();
    try {
      const held = record.received;
      const answer = await receiveInSession(ctx, req, record, tx);
      ctx.metrics.fragment(record.received - held, (ctx.opts.clock.monotonicMs() - started) / 1000);
      return answer;
    } catch (err) {
      if (err instanceof ConnectionClosedError) throw err;
      // Error Acks for a known session tell the client where to resume, too (a 403 from the
      // back-end application included, issue 12).
      throw withReceived(toUploadError(err), record.received);
    }
  });
}

async function receiveInSession(
  ctx: ServerContext,
  req: PacketRequest,
  record: SessionRecord,
  tx: SessionTx,
): Promise<Ack> {
  const { opts } = ctx;
  const range = parseContentRange(header(req.head, 'content-range'));
  if (range === undefined) throw badRequest('malformed or missing Content-Range');
  if (req.head.contentLength !== range.end - range.start + 1) {
    throw badRequest('Content-Length differs from the Content-Range length');
  }
  const encoding = header(req.head, 'content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw badRequest('only identity Content-Encoding is supported');
  }
  if (range.total > opts.maxUploadSize || exceedsByteCaps(ctx, record, range.total)) {
    throw new UploadError(500, 'BG_E_TOO_LARGE', 'the file is larger than the maximum upload size');
  }
  if (req.head.contentLength > opts.maxFragmentSize) {
    // 413 alone, without the fatal-looking BG_E_TOO_LARGE, so Windows shrinks its fragments
    // (§6.2, issue 12); the oversize body is not read.
    throw new UploadError(413, 'BG_E_TOO_LARGE', 'fragment larger than the server accepts', {
      errorHeaders: false,
      closeConnection: true,
    });
  }
  if (record.total !== null && record.total !== range.total) {
    throw badRequest('total length differs from earlier fragments');
  }

  const held = record.received;
  if (record.phase === 'receiving') {
    if (range.start > held) {
      // A gap: the server keeps only a contiguous prefix; the client resumes from R.
      throw new UploadError(416, 'BG_E_INVALID_RANGE', 'fragment does not start at the next expected byte', {
        receivedContentRange: held,
        errorHeaders: false,
      });
    }
    if (range.end >= held) await writeNewBytes(ctx, req, record, tx, range);
    else await req.body.discard();
  } else {
    // All bytes already held: a resent fragment (its Ack was lost). Re-notify or reuse.
    await req.body.discard();
  }
  const headers: Array<readonly [string, string]> = [
    [BITS_HEADERS.sessionId, record.id],
    [BITS_HEADERS.receivedContentRange, String(record.received)],
  ];
  if (record.phase === 'complete' && opts.notificationType !== 'none') {
    if (record.notify === null) {
      req.suspendIdleTimeout();
      record.notify = await notifyBackEnd(ctx, record);
      await tx.save(record);
    }
    headers.push([BITS_HEADERS.replyUrl, replyUrlFor(ctx, record)]);
  }
  return ack(200, headers);
}

/** A declared size larger than a whole byte cap can never fit: fatal, like maxUploadSize. */
function exceedsByteCaps(ctx: ServerContext, record: SessionRecord, total: number): boolean {
  return ownerLimits(record, ctx.opts.caps).some((l) => l.bytes > 0 && total > l.bytes);
}

/** Write bytes R..E of the body at their offsets, sync, then record the new R. */
async function writeNewBytes(
  ctx: ServerContext,
  req: PacketRequest,
  record: SessionRecord,
  tx: SessionTx,
  range: FragmentRange,
) {
  if (record.total === null) {
    // The first fragment declares the size: it counts against the byte caps from now on, and
    // the owner's oldest idle sessions make room for it (abandoned partial bytes, issue 12).
    const evicted = await ctx.store.makeRoom(record, { sessions: 0, bytes: range.total }, ctx.opts.caps, record.id);
    ctx.metrics.sessionsEnded('evicted', evicted.length);
  }
  try {
    await ctx.files.write(record.id, record.received, record.received - range.start, req.body);
  } catch (err) {
    // Give back what this fragment wrote past R (a full disk stays full otherwise); the bytes
    // were never acknowledged, and the client resends from R.
    await ctx.files.discardPast(record.id, record.received).catch(() => {});
    throw err;
  }
  record.received = range.end + 1;
  record.total = range.total;
  record.lastProgressMs = ctx.opts.clock.wallMs();
  // Completion test of [W32] ack-for-fragment: the end offset equals total length minus one.
  if (record.received === range.total) record.phase = 'complete';
  await tx.save(record);
}
