import { BITS_HEADERS, type FragmentRange, parseContentRange } from '../../core/upload-protocol.ts';
import { type Ack, ack, badRequest, sessionNotFound, toUploadError, UploadError, withReceived } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import { header } from '../http/request-head.ts';
import { type BodyReader, ConnectionClosedError } from '../http/socket-input.ts';
import { notifyBackEnd, replyUrlFor } from '../notify.ts';
import { openDataFile } from '../safe-fs.ts';
import type { SessionRecord } from '../session-store.ts';
import { lookupSession } from './session-lookup.ts';

const WRITE_BUFFER = 1024 * 1024;

/**
 * Fragment (§9.2). With R = bytes held and the fragment `S-E/T`:
 * S > R → 416 with R (gap; nothing written); E < R → duplicate, R unchanged; otherwise only
 * bytes R..E are written (held data is never overwritten), fdatasync'd, the state recorded,
 * and only then acknowledged (fault table row 27). The last byte triggers the notification.
 */
export async function receiveFragment(ctx: ServerContext, req: PacketRequest): Promise<Ack> {
  const record = await lookupSession(ctx, req);
  if (record.phase === 'closed') throw sessionNotFound();
  try {
    return await receiveInSession(ctx, req, record);
  } catch (err) {
    if (err instanceof ConnectionClosedError) throw err;
    // Error Acks for a known session tell the client where to resume, too.
    throw withReceived(toUploadError(err), record.received);
  }
}

async function receiveInSession(ctx: ServerContext, req: PacketRequest, record: SessionRecord): Promise<Ack> {
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
  if (range.total > opts.maxUploadSize) {
    throw new UploadError(500, 'BG_E_TOO_LARGE', 'the file is larger than the maximum upload size', {
      receivedContentRange: record.received,
    });
  }
  if (req.head.contentLength > opts.maxFragmentSize) {
    // 413 makes the client resend smaller fragments (§6.2); the oversize body is not read.
    throw new UploadError(413, 'BG_E_TOO_LARGE', 'fragment larger than the server accepts', {
      receivedContentRange: record.received,
      closeConnection: true,
    });
  }
  if (record.total !== null && record.total !== range.total) {
    throw badRequest('total length differs from earlier fragments');
  }

  return ctx.store.withLock(record.id, async () => {
    if (record.phase === 'closed') throw sessionNotFound();
    const held = record.received;
    if (record.phase === 'receiving') {
      if (range.start > held) {
        // A gap: the server keeps only a contiguous prefix; the client resumes from R.
        throw new UploadError(416, 'BG_E_INVALID_RANGE', 'fragment does not start at the next expected byte', {
          receivedContentRange: held,
          errorHeaders: false,
        });
      }
      if (range.end >= held) await writeNewBytes(ctx, record, req.body, range);
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
        await ctx.store.save(record);
      }
      headers.push([BITS_HEADERS.replyUrl, replyUrlFor(ctx, record, req.baseUrl)]);
    }
    return ack(200, headers);
  });
}

/** Write bytes R..E of the body at their offsets, sync, then record the new R. */
async function writeNewBytes(ctx: ServerContext, record: SessionRecord, body: BodyReader, range: FragmentRange) {
  let skip = record.received - range.start;
  let position = record.received;
  const fh = await openDataFile(ctx.store.dataFile(record.id));
  try {
    const buf = Buffer.allocUnsafe(Math.min(WRITE_BUFFER, range.end - record.received + 1));
    let used = 0;
    const flush = async () => {
      let off = 0;
      while (off < used) {
        const { bytesWritten } = await fh.write(buf, off, used - off, position);
        off += bytesWritten;
        position += bytesWritten;
      }
      used = 0;
    };
    for (let chunk = await body.read(); chunk !== null; chunk = await body.read()) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      let data = skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
      while (data.length > 0) {
        const n = Math.min(data.length, buf.length - used);
        data.copy(buf, used, 0, n);
        used += n;
        data = data.subarray(n);
        if (used === buf.length) await flush();
      }
    }
    await flush();
    await fh.datasync();
  } catch (err) {
    // Give back what this fragment wrote past R (a full disk stays full otherwise); the bytes
    // were never acknowledged, and the client resends from R.
    await fh.truncate(record.received).catch(() => {});
    throw err;
  } finally {
    await fh.close();
  }
  record.received = range.end + 1;
  record.total = range.total;
  record.lastProgressMs = ctx.opts.clock.wallMs();
  // Completion test of [W32] ack-for-fragment: the end offset equals total length minus one.
  if (record.received === range.total) record.phase = 'complete';
  await ctx.store.save(record);
}
