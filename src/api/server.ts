import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.ts';
import type { BitsManager } from './bits-manager.ts';
import { type CallActivity, createCallHandler } from './call-handler.ts';
import type { createApiApp } from './hono-app.ts';
import type { MetricsSource } from './metrics-route.ts';
import { http } from './node-http.ts';
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

/** How long requests in flight may take once the server stops. */
const CLOSE_GRACE_MS = 2_000;

/** A listening API server. */
export interface ApiServer {
  readonly path: string;
  /** Answer a request in-process, as the socket would (the dashboard forwards here). */
  fetch(request: Request): Promise<Response>;
  /** Connections open now (calls in flight, event streams, clients' idle keep-alive sockets). */
  connections(): Promise<number>;
  /** The calls answered on bare node:http (the operations, GET /v1/status): in flight, answered. */
  readonly activity: CallActivity;
  /** Stop accepting, end event streams, close idle connections; waits for requests in flight. */
  close(): Promise<void>;
}

type HonoApi = ReturnType<typeof createApiApp> & {
  listener: (req: IncomingMessage, res: ServerResponse) => unknown;
};

/**
 * Serve the API on a Unix socket. The socket is created with umask 0177 (mode 0600) so there is
 * no window where another user could connect; the caller provides a 0700 folder as well.
 *
 * The calls (the operations table, GET /v1/status) are answered on bare node:http by
 * call-handler.ts; the Hono app (hono-app.ts) with @hono/node-server is loaded on the first
 * request that needs it — the event stream, /metrics, refusals, unknown routes, an in-process
 * fetch — so a start does not load it and a call does not pay for web Request/Response objects.
 */
export async function listenApi(options: ApiOptions & { socketPath: string }): Promise<ApiServer> {
  let closing = false;
  let hono: Promise<HonoApi> | undefined;
  const honoApi = (): Promise<HonoApi> => {
    hono ??= (async () => {
      const [{ createApiApp }, { getRequestListener }] = await Promise.all([
        import('./hono-app.ts'),
        import('@hono/node-server'),
      ]);
      const api = createApiApp(options);
      if (closing) api.beginShutdown();
      return { ...api, listener: getRequestListener(api.app.fetch) };
    })();
    return hono;
  };
  const calls = createCallHandler({ ...options, closing: () => closing });
  const server = http.createServer((req, res) => {
    if (calls.handle(req, res)) return;
    honoApi().then(
      (api) => api.listener(req, res),
      (err: unknown) => {
        options.logger?.error({ err }, 'the API app could not be loaded');
        res.destroy();
      },
    );
  });
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
    fetch: async (request) => (await honoApi()).app.fetch(request),
    activity: calls.activity,
    connections: () =>
      new Promise<number>((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count))),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that turn idle from now on (an ended event stream, a finished request)
      // close at once instead of lingering for the keep-alive timeout.
      server.keepAliveTimeout = 1;
      server.keepAliveTimeoutBuffer = 0;
      closing = true;
      calls.streams.closeAll();
      await hono?.then(
        (api) => api.beginShutdown(),
        () => undefined,
      );
      server.closeIdleConnections();
      // Requests in flight get a moment to finish; then whatever is left is cut.
      const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(grace);
    },
  };
}
