import type { IncomingMessage, Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BitsError } from '../core/bits-error.ts';
import type { Clock } from '../core/clock.ts';
import { quoted } from '../core/validate.ts';
import type { BitsManager } from './bits-manager.ts';
import { asBitsError, errorReply } from './error-envelope.ts';
import { type EventStreams, mountEvents } from './events-route.ts';
import { lingerOnClose } from './lingering-close.ts';
import { type MetricsSource, mountMetrics } from './metrics-route.ts';
import { type Operation, VERSION_HEADER } from './operation.ts';
import { OPERATIONS } from './operations.ts';
import type { DaemonStatus } from './schemas.ts';

/** The pino-compatible subset the API logs through. */
export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ApiOptions {
  readonly manager: BitsManager;
  /** Heartbeat timers of the event stream. */
  readonly clock: Clock;
  /** GET /v1/status answers this. */
  readonly status: () => DaemonStatus;
  readonly logger?: ApiLogger;
  /** Idle event streams get a comment line this often (default 15 s). */
  readonly heartbeatMs?: number;
  /** Largest request body (default 4 MiB: 200 files × two 4 KiB paths fit easily). */
  readonly maxBodyBytes?: number;
  /** GET /metrics answers these (without them: E_NOTIMPL, as for any unknown route). */
  readonly metrics?: MetricsSource | undefined;
}

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
  const text = await c.req.text();
  if (text.trim() === '') throw new BitsError('E_INVALIDARG', 'request body: a JSON object is required');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BitsError('E_INVALIDARG', 'request body is not valid JSON');
  }
  await op.checkBody(body);
  return body;
}

/**
 * The v1 API as a Hono app over any BitsManager: one route per operation, the error envelope,
 * GET /v1/status and the GET /v1/events stream.
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

/** How long requests in flight may take once the server stops. */
const CLOSE_GRACE_MS = 2_000;

/** A listening API server. */
export interface ApiServer {
  readonly path: string;
  /** Answer a request in-process, as the socket would (the dashboard forwards here). */
  fetch(request: Request): Promise<Response>;
  /** Connections open now (calls in flight, event streams, clients' idle keep-alive sockets). */
  connections(): Promise<number>;
  /** Stop accepting, end event streams, close idle connections; waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Serve the API on a Unix socket. The socket is created with umask 0177 (mode 0600) so there is
 * no window where another user could connect; the caller provides a 0700 folder as well.
 */
export async function listenApi(options: ApiOptions & { socketPath: string }): Promise<ApiServer> {
  const { app, beginShutdown } = createApiApp(options);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  return {
    path: options.socketPath,
    fetch: async (request) => app.fetch(request),
    connections: () =>
      new Promise<number>((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count))),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that turn idle from now on (an ended event stream, a finished request)
      // close at once instead of lingering for the keep-alive timeout.
      server.keepAliveTimeout = 1;
      server.keepAliveTimeoutBuffer = 0;
      beginShutdown();
      server.closeIdleConnections();
      // Requests in flight get a moment to finish; then whatever is left is cut.
      const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(grace);
    },
  };
}
