/**
 * The web dashboard's HTTP side: its static files, and `/v1/*` forwarded to bitsd's API for a
 * caller that presents the user's token (`Authorization: Bearer …`). Served on a loopback port,
 * by bitsd itself or by the `openbits dashboard` proxy (which forwards to the socket).
 *
 * Why a bearer header and no cookie: cookies are shared by every port of a host, so another local
 * user's server on 127.0.0.1:<other port> would receive ours. The page keeps the token in
 * localStorage, which is per origin (port included), and sends it on each call. Cross-site pages
 * cannot send that header without a CORS preflight, which is never answered: no CSRF. The Host
 * header must name a loopback address (no DNS rebinding).
 */
import { Hono } from 'hono';
import { BitsError } from '../core/bits-error.ts';
import { isLoopbackHost } from '../core/loopback.ts';
import type { DashboardFiles } from './dashboard-assets.ts';
import { sameToken } from './dashboard-token.ts';
import { errorReply } from './error-envelope.ts';

export interface DashboardAppOptions {
  readonly token: string;
  readonly files: DashboardFiles;
  /** Hand a request for `/v1/*` (token already checked and removed) to bitsd's API. */
  readonly forward: (request: Request) => Promise<Response>;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function refuse(error: BitsError, status?: number, extra: Record<string, string> = {}): Response {
  const reply = errorReply(error, status);
  return new Response(JSON.stringify(reply.body), {
    status: reply.status,
    headers: { 'content-type': 'application/json', ...extra },
  });
}

/** The hostname of a Host header (`[::1]:8080` → `::1`), or undefined when malformed. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/u.exec(host);
  return m?.[1];
}

export function createDashboardApp(options: DashboardAppOptions): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const name = hostName(c.req.header('host'));
    if (name === undefined || !isLoopbackHost(name)) {
      return refuse(new BitsError('E_ACCESSDENIED', 'the dashboard answers only to a loopback Host'), 403);
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  app.all('/v1/*', async (c) => {
    const auth = c.req.header('authorization') ?? '';
    const presented = /^Bearer ([A-Za-z0-9_-]+)$/u.exec(auth)?.[1];
    if (presented === undefined || !sameToken(presented, options.token)) {
      return refuse(new BitsError('E_ACCESSDENIED', 'the dashboard token is missing or wrong'), 401, {
        'www-authenticate': 'Bearer realm="openbits"',
      });
    }
    const headers = new Headers(c.req.raw.headers);
    headers.delete('authorization');
    headers.delete('cookie');
    const raw = c.req.raw;
    const hasBody = raw.method !== 'GET' && raw.method !== 'HEAD';
    return options.forward(
      new Request(raw.url, {
        method: raw.method,
        headers,
        signal: raw.signal,
        ...(hasBody ? { body: await raw.arrayBuffer() } : {}),
      }),
    );
  });

  const serve = (path: string, cache: string) => {
    const file = options.files.get(path);
    if (file === undefined)
      return new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain' } });
    return new Response(file.body, { headers: { 'content-type': file.type, 'cache-control': cache } });
  };
  app.get('/', () => serve('/index.html', 'no-store'));
  app.get('/assets/:file', (c) => serve(`/assets/${c.req.param('file')}`, 'no-cache'));
  app.notFound(() => new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain' } }));
  return app;
}
