import { BITS_HEADERS, MAX_FRAGMENT_HEADER, selectProtocol } from '../../core/upload-protocol.ts';
import { type Ack, accessDenied, ack, badRequest, UploadError } from '../ack.ts';
import type { PacketRequest, ServerContext } from '../context.ts';
import { header } from '../http/request-head.ts';
import { destinationState, walkParents } from '../safe-fs.ts';

/**
 * Create-Session (§8.3): pick the common protocol, check the destination, make the session.
 * Ack: BITS-Protocol, BITS-Session-Id, Accept-Encoding: identity (+ Host-Id when configured),
 * and our fragment limit (X-Bits-Max-Fragment-Size) so our client can send larger fragments.
 */
export async function createSession(ctx: ServerContext, req: PacketRequest): Promise<Ack> {
  const { opts, store } = ctx;
  const target = req.target;
  if (target.kind === 'reserved') throw accessDenied('the session folder is not an upload destination');
  if (target.kind !== 'file') throw badRequest('the upload URL maps to a folder');
  if (!opts.uploadEnabled(`/${target.path}`)) {
    // BITSUploadEnabled off: 501 + E_ACCESSDENIED (note <22>).
    throw new UploadError(501, 'E_ACCESSDENIED', 'BITS uploads are not enabled for this URL');
  }
  const protocol = selectProtocol(header(req.head, 'bits-supported-protocols'));
  if (protocol === undefined) throw badRequest('no protocol in common (BITS-Supported-Protocols)');

  await walkParents(opts.root, target.segments, false);
  const state = await destinationState(opts.root, target.segments);
  // With a notification the upload goes to the app and is only copied on request, so an
  // existing file matters only at commit time then (checked again there).
  if (state !== 'absent' && !opts.allowOverwrite && opts.notificationType === 'none') {
    // 403, not [W32]'s 409: Windows treats 409 as transient and would retry forever (§6.2).
    throw accessDenied('the destination exists and overwrites are not allowed');
  }
  // At a cap the owner's oldest idle session is evicted, as IIS does, instead of refusing this
  // one: empty sessions can no longer lock a user or an address out (issue 12).
  const { record, evicted } = await store.create(
    {
      segments: target.segments,
      originalUrl: originalUrl(req),
      user: req.user,
      address: req.remoteAddress,
      protocol,
    },
    opts.caps,
    opts.clock.wallMs(),
  );
  ctx.metrics.sessionCreated();
  ctx.metrics.sessionsEnded('evicted', evicted.length);
  const headers: Array<readonly [string, string]> = [
    [BITS_HEADERS.protocol, protocol],
    [BITS_HEADERS.sessionId, record.id],
    [BITS_HEADERS.acceptEncoding, 'identity'],
    [MAX_FRAGMENT_HEADER, String(opts.maxFragmentSize)],
  ];
  if (opts.hostId !== undefined) {
    headers.push([BITS_HEADERS.hostId, opts.hostId]);
    if (opts.hostIdFallbackTimeoutS !== undefined) {
      headers.push([BITS_HEADERS.hostIdFallbackTimeout, String(opts.hostIdFallbackTimeoutS)]);
    }
  }
  return ack(200, headers);
}

/** The upload URL made absolute on our origin (an absolute-form target keeps only its path). */
function originalUrl(req: PacketRequest): string {
  const t = req.head.target;
  const pathAndQuery = /^https?:\/\//i.test(t) ? t.replace(/^https?:\/\/[^/?#]*/i, '') || '/' : t;
  return `${req.origin}${pathAndQuery.startsWith('/') ? '' : '/'}${pathAndQuery}`;
}
