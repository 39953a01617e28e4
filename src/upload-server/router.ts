/**
 * Request routing: BITS_POST packets to their handlers, GET/HEAD to file serving, requests
 * outside the URL prefix to the embedding app (hand-off) or 404, other methods to 405.
 */
import path from 'node:path';
import {
  BITS_HEADERS,
  BITS_POST,
  MAX_FRAGMENT_HEADER,
  parsePacketType,
  UPLOAD_LIMITS,
} from '../core/upload-protocol.ts';
import { type Ack, ack, badRequest, errorAck, toUploadError, UploadError } from './ack.ts';
import type { PacketRequest, ServerContext } from './context.ts';
import { sendStatus, serveFile } from './file-serving.ts';
import type { IncomingRequest, RouteResult } from './http/connection.ts';
import { header } from './http/request-head.ts';
import type { ResponseWriter } from './http/response-writer.ts';
import { ConnectionClosedError } from './http/socket-input.ts';
import type { AuthDecision } from './options.ts';
import { createSession } from './packets/create-session.ts';
import { finishSession } from './packets/finish-session.ts';
import { receiveFragment } from './packets/fragment.ts';
import { walkParents } from './safe-fs.ts';
import { canonicalSessionId, isExpired } from './session-record.ts';
import { parseTarget, type Target } from './url-path.ts';

const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Build the router for one handler instance; `canHandOff` says whether outside URLs go elsewhere. */
export function createRouter(ctx: ServerContext, canHandOff: boolean) {
  const reserved = ctx.opts.reservedSegment === undefined ? [] : [ctx.opts.reservedSegment];
  return async function route(req: IncomingRequest, res: ResponseWriter): Promise<RouteResult> {
    const { head } = req;
    const isBits =
      head.method === BITS_POST ||
      (ctx.opts.allowMethodOverride &&
        head.method === 'POST' &&
        header(head, BITS_HEADERS.methodOverride.toLowerCase())?.toUpperCase() === BITS_POST);
    let target: Target;
    try {
      target = parseTarget(head.target, ctx.opts.urlPrefix, reserved);
    } catch (err) {
      if (isBits) await sendAck(res, errorAck(toUploadError(err)));
      else await sendStatus(res, 400);
      return 'done';
    }
    if (target.kind === 'outside') {
      if (canHandOff) return 'handoff';
      await sendStatus(res, 404);
      return 'done';
    }
    // Methods are case-sensitive (RFC 9110 §9.1): `bits_post` is not the BITS verb, but it is
    // plainly a malformed BITS request, which [MC-BUP] §3.2.5.2 answers with an Ack: 400 +
    // E_INVALIDARG, context 0x5 (issue 12), not a bare HTTP 400.
    if (head.method !== BITS_POST && head.method.toUpperCase() === BITS_POST) {
      await sendAck(res, errorAck(badRequest('the BITS verb is BITS_POST, in capitals')));
      return 'done';
    }
    if (isBits) {
      await sendAck(res, await handlePacket(ctx, req, target, res));
      return 'done';
    }
    if (head.method === 'GET' || head.method === 'HEAD') {
      const auth = await authorize(ctx, req, undefined);
      // Downloads are plain HTTP (§13): a denial is a plain 401/403, not an Ack.
      if (auth instanceof UploadError) await sendStatus(res, auth.status, auth.extraHeaders);
      else await serveGet(ctx, req, res, target);
      return 'done';
    }
    await sendStatus(res, 405, [['Allow', `${BITS_POST}, GET, HEAD`]]);
    return 'done';
  };
}

async function sendAck(res: ResponseWriter, a: Ack): Promise<void> {
  await res.send(a.status, a.headers);
}

/** Validate the packet, authorise it, run its handler; every failure becomes an error Ack. */
async function handlePacket(
  ctx: ServerContext,
  req: IncomingRequest,
  target: Target,
  res: ResponseWriter,
): Promise<Ack> {
  const { head } = req;
  try {
    if (!head.hasContentLength) {
      // Content-Length is required on every packet; IIS answers 400, not 411 (note <23>).
      throw badRequest('Content-Length is required', { closeConnection: true });
    }
    if (head.minorVersion !== 1) throw badRequest('BITS upload packets need HTTP/1.1');
    for (const values of head.headers.values()) {
      if (values.some((v) => v.length > UPLOAD_LIMITS.headerValue)) {
        throw badRequest('header value longer than 4 KB'); // note <2>
      }
    }
    const packetType = parsePacketType(header(head, 'bits-packet-type'));
    if (packetType === undefined) throw badRequest('missing or unknown BITS-Packet-Type');
    ctx.metrics.packet(packetType);
    const auth = await authorize(ctx, req, packetType);
    if (auth instanceof UploadError) throw auth;
    const packet: PacketRequest = {
      head,
      body: req.body,
      target,
      user: auth.user,
      remoteAddress: req.remoteAddress,
      origin: ctx.opts.publicOrigin ?? hostOrigin(req),
      suspendIdleTimeout: req.suspendIdleTimeout,
    };
    switch (packetType) {
      case 'Ping':
        // No processing, with or without a session id (§8.3); a resuming client learns our
        // fragment limit here, as a new one does from Create-Session.
        return ack(200, [[MAX_FRAGMENT_HEADER, String(ctx.opts.maxFragmentSize)]]);
      case 'Create-Session':
        return await createSession(ctx, packet);
      case 'Fragment':
        return await receiveFragment(ctx, packet);
      case 'Close-Session':
        return await finishSession(ctx, packet, 'close');
      case 'Cancel-Session':
        return await finishSession(ctx, packet, 'cancel');
    }
  } catch (err) {
    // The client is gone: no Ack can reach it; the connection loop just drops the socket.
    if (err instanceof ConnectionClosedError) throw err;
    const e = toUploadError(err);
    ctx.metrics.rejected(e.name, e.status);
    if (e.status >= 500 && e.name === 'E_FAIL') ctx.opts.onError(err);
    if (e.closeConnection) res.close = true;
    return errorAck(e);
  }
}

/** Run the auth hook: the user it names (default `anonymous`), or the 401/403 error to send. */
async function authorize(
  ctx: ServerContext,
  req: IncomingRequest,
  packetType: string | undefined,
): Promise<{ user: string } | UploadError> {
  const hook = ctx.opts.authorize;
  if (hook === undefined) return { user: 'anonymous' };
  const decision: AuthDecision = await hook({
    method: req.head.method,
    url: req.head.target,
    headers: req.head.headers,
    remoteAddress: req.remoteAddress,
    connectionId: req.connectionId,
    secure: req.secure,
    packetType,
  });
  if (decision.allow) return { user: decision.user ?? 'anonymous' };
  const status = decision.status === 401 ? 401 : 403;
  return new UploadError(status, decision.errorName ?? 'E_ACCESSDENIED', 'not authorised', {
    extraHeaders: decision.headers ?? [],
  });
}

/** `scheme://Host` of the request: informational (BITS-Original-Request-URL) when no public origin is set. */
function hostOrigin(req: IncomingRequest): string {
  const host = header(req.head, 'host');
  if (host === undefined || !HOST.test(host)) throw badRequest('missing or malformed Host header');
  return `${req.secure ? 'https' : 'http'}://${host}`;
}

async function serveGet(ctx: ServerContext, req: IncomingRequest, res: ResponseWriter, target: Target) {
  if (target.kind === 'reply') {
    const id = canonicalSessionId(target.sessionId);
    let record: Awaited<ReturnType<typeof ctx.store.get>>;
    try {
      record = id === undefined ? undefined : await ctx.store.get(id);
    } catch (err) {
      // The session database is down (a farm): a plain 503 the download client retries.
      const e = toUploadError(err);
      await sendStatus(res, e.status, e.extraHeaders);
      return;
    }
    if (
      record === undefined ||
      record.phase !== 'complete' ||
      record.notify === null ||
      isExpired(record, ctx.opts.expiry, ctx.opts.clock.wallMs())
    ) {
      await sendStatus(res, 404);
      return;
    }
    await serveFile(req.head, res, ctx.files.replyFile(record.id));
    return;
  }
  if (target.kind === 'file' && ctx.opts.serveUploads) {
    try {
      await walkParents(ctx.opts.root, target.segments, false);
    } catch {
      await sendStatus(res, 404);
      return;
    }
    await serveFile(req.head, res, path.join(ctx.opts.root, ...target.segments));
    return;
  }
  await sendStatus(res, 404);
}
