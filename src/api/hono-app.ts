import type { IncomingMessage } from 'node:http';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BitsError } from '../core/bits-error.ts';
import { quoted } from '../core/validate.ts';
import { asBitsError, errorReply } from './error-envelope.ts';
import { type EventStreams, mountEvents } from './events-route.ts';
import { lingerOnClose } from './lingering-close.ts';
import { mountMetrics } from './metrics-route.ts';
import { type Operation, VERSION_HEADER } from './operation.ts';
import { OPERATIONS } from './operations.ts';
import { checkedBody } from './request-body.ts';
import type { ApiLogger, ApiOptions } from './server.ts';

const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'DELETE']);

const silent: ApiLogger = { debug() {}, info() {}, warn() {}, error() {} };

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function failure(err: BitsError, status?: number): Response {
  const reply = errorReply(err, status);
  return json(reply.body, reply.status);
}

/** Whether the request says it carries a body (checked without reading any of it). */
function hasBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return (length !== undefined && length.trim() !== '0') || c.req.header('transfer-encoding') !== undefined;
}

/**
 * A body where none is expected is refused unread, and the connection closes with the answer
 * (else Node would read and discard the whole body to keep the connection alive).
 */
function refuseBody(c: Context): Response {
  return closingReply(c, new BitsError('E_INVALIDARG', `${c.req.method} ${quoted(c.req.path)} takes no request body`));
}

/** An error reply that closes the connection without reading the body the client is sending. */
function closingReply(c: Context, err: BitsError): Response {
  const res = failure(err);
  res.headers.set('connection', 'close');
  lingerOnClose((c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket);
  return res;
}

async function readBody(c: Context, op: Operation): Promise<unknown> {
  if (op.checkBody === undefined) return undefined;
  return checkedBody(op, await c.req.text());
}

/**
 * The v1 API as a Hono app over any BitsManager: one route per operation, the error envelope,
 * GET /v1/status and the GET /v1/events stream. The socket's server (server.ts) answers the
 * plain calls itself and loads this app for the rest: the event stream, /metrics, requests it
 * refuses (a body where none belongs, one too large), unknown routes, and in-process fetches.
 */
export function createApiApp(options: ApiOptions): { app: Hono; streams: EventStreams; beginShutdown(): void } {
  const { manager } = options;
  const logger = options.logger ?? silent;
  const app = new Hono();
  const version = options.status().version;
  let closing = false;

  app.onError((err) => {
    const { error, internal } = asBitsError(err);
    if (internal) logger.error({ err }, 'request failed inside bitsd');
    return failure(error);
  });
  app.notFound((c) => failure(new BitsError('E_NOTIMPL', `no route ${c.req.method} ${quoted(c.req.path)}`), 404));
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 4 * 1024 * 1024,
      onError: (c) => closingReply(c, new BitsError('BG_E_TOO_LARGE', 'request body is too large')),
    }),
  );

  // While stopping, every reply closes its connection, and no new event stream opens (a
  // client's reconnect on a kept-alive socket would otherwise hold the stop up).
  app.use('*', async (c, next) => {
    if (closing && c.req.path === '/v1/events') {
      return failure(new BitsError('RPC_S_SERVER_UNAVAILABLE', 'bitsd is stopping'));
    }
    const started = options.clock.monotonicMs();
    await next();
    // A client of the same version trusts the reply's shape; another version checks it.
    c.res.headers.set(VERSION_HEADER, version);
    if (closing) c.res.headers.set('connection', 'close');
    logger.debug(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(options.clock.monotonicMs() - started),
      },
      'request',
    );
  });
  // GET, HEAD and DELETE routes take no body (nor does any unknown route).
  app.use('*', async (c, next) => {
    if (NO_BODY_METHODS.has(c.req.method) && hasBody(c)) return refuseBody(c);
    await next();
  });
  app.get('/v1/status', () => json(options.status(), 200));
  if (options.metrics !== undefined) mountMetrics(app, options.metrics);
  const streams = mountEvents(app, {
    manager,
    clock: options.clock,
    logger,
    heartbeatMs: options.heartbeatMs ?? 15_000,
  });

  const mounted = new Set<string>();
  for (const op of Object.values(OPERATIONS) as Operation[]) {
    // addFile and addFileWithRanges share POST …/files (the body's `ranges` tells them apart).
    const key = `${op.method} ${op.path}`;
    if (mounted.has(key)) continue;
    mounted.add(key);
    app.on(op.method, op.path, async (c) => {
      if (op.checkBody === undefined && hasBody(c)) return refuseBody(c);
      const body = await readBody(c, op);
      const result = await op.invoke(manager, { params: c.req.param(), query: c.req.query(), body: body as never });
      if (op.reply === undefined) return new Response(null, { status: 204 });
      return json(result, op.status ?? 200);
    });
  }
  return {
    app,
    streams,
    beginShutdown() {
      closing = true;
      streams.closeAll();
    },
  };
}
