import { BITS_HEADERS } from '../../core/upload-protocol.ts';
import { type Ack, ack } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import type { SessionRecord } from '../session-record.ts';
import { withPacketSession } from './session-lookup.ts';

/**
 * Close-Session and Cancel-Session (§4.1, §8.3). Before the last byte both throw the partial
 * data away. After it, the upload is kept either way — Close commits it, and a Cancel "has no
 * effect on a file whose last fragment already arrived" — when notification is off or the app
 * asked for BITS-Copy-File-To-Destination. A repeat (first Ack lost) answers 200 again.
 */
export async function finishSession(ctx: ServerContext, req: PacketRequest, mode: 'close' | 'cancel'): Promise<Ack> {
  return withPacketSession(ctx, req, async (record, tx) => {
    if (record.phase === 'complete' && shouldCopyToDestination(ctx, record)) {
      try {
        await ctx.files.commit(record.id, ctx.opts.root, record.segments, ctx.opts.allowOverwrite);
        ctx.metrics.committed();
      } catch (err) {
        // Close reports why the file could not be placed (403 exists, 404 gone); the session
        // stays so a fixed destination can still be committed. Cancel is answered regardless.
        if (mode === 'close') throw err;
      }
    }
    if (record.phase !== 'closed') {
      await tx.close(record, ctx.opts.clock.wallMs());
      ctx.metrics.sessionsEnded(mode === 'close' ? 'closed' : 'cancelled');
    }
    return ack(200, [[BITS_HEADERS.sessionId, record.id]]);
  });
}

/** ShouldCopyToDestination of [MC-BUP]: always without notification, else when the app asked. */
function shouldCopyToDestination(ctx: ServerContext, record: SessionRecord): boolean {
  return ctx.opts.notificationType === 'none' || record.notify?.copyToDestination === true;
}
