import { once } from 'node:events';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real origin server on 127.0.0.1:0 (HTTP, or HTTPS with a given key/cert) whose paths are
 * scripted per test: `serve()` answers like a correct server (Range, If-Range,
 * If-Unmodified-Since, 416 with `bytes * /N`) and takes faults — reset, stall, drip, short body,
 * ignore Range, no Content-Length, merged ranges. Every request is recorded.
 */

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
}

/** `n` is the 1-based count of requests to this path so far. */
export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => unknown;

export interface OriginServer {
  readonly port: number;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  url(path: string): string;
  route(path: string, handler: Handler): void;
  /** Requests seen for one path. */
  hits(path: string): RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Connections still open: accepted (for HTTPS, past the handshake) and not yet closed. */
  openConnections(): number;
  close(): Promise<void>;
}

/** `keepAliveMs`: the server's keep-alive timeout (1 s by default: too short for a client to keep the connection). */
export async function startOrigin(
  tls?: { key: string; cert: string },
  options: { readonly keepAliveMs?: number } = {},
): Promise<OriginServer> {
  const routes = new Map<string, Handler>();
  const counts = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').replace(/^https?:\/\/[^/]+/u, '');
    requests.push({ path, headers: req.headers, rawHeaders: req.rawHeaders });
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    const h = routes.get(path);
    if (h === undefined) {
      res.writeHead(404, { 'content-length': '9' }).end('not found');
      return;
    }
    try {
      await h(req, res, n);
    } catch (err) {
      res.destroy(err as Error);
    }
  };
  const server: Server = tls === undefined ? createHttp(handle) : createHttps({ ...tls }, handle);
  server.keepAliveTimeout = options.keepAliveMs ?? 1000;
  let connections = 0;
  let open = 0;
  server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    connections++;
    open++;
    socket.once('close', () => open--);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const origin = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  return {
    port,
    origin,
    requests,
    url: (path) => `${origin}${path}`,
    route: (path, handler) => {
      routes.set(path, handler);
    },
    hits: (path) => requests.filter((r) => r.path === path),
    connections: () => connections,
    openConnections: () => open,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface ServeOptions {
  readonly etag?: string | null;
  readonly lastModified?: string | null;
  /** Answer 200 with the whole body to a Range request. */
  readonly ignoreRange?: boolean;
  /** Answer 206 for a bigger span than asked (a server merging ranges). */
  readonly mergeRanges?: boolean;
  /** Answer a changed-validator If-Range with 206 anyway (a server ignoring If-Range). */
  readonly ignoreIfRange?: boolean;
  /** Chunked, no Content-Length. */
  readonly noLength?: boolean;
  readonly extraHeaders?: Record<string, string | string[]>;
  /** After this many body bytes: 'reset' (TCP RST), 'stall' (keep open, send nothing), 'short' (FIN). */
  readonly faultAfter?: number;
  readonly fault?: 'reset' | 'stall' | 'short';
  /** Called once the fault happened. */
  readonly onFault?: () => void;
  /** Send the body in pieces of this size with `dripMs` between them. */
  readonly dripBytes?: number;
  readonly dripMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeAsync(res: ServerResponse, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => res.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Answer `req` for `body` like a correct HTTP/1.1 origin, with the faults in `o`. */
export async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  o: ServeOptions = {},
): Promise<void> {
  const size = body.length;
  const headers: Record<string, string | string[]> = { 'accept-ranges': 'bytes', ...o.extraHeaders };
  if (o.etag != null) headers.etag = o.etag;
  if (o.lastModified != null) headers['last-modified'] = o.lastModified;
  const ius = req.headers['if-unmodified-since'];
  if (ius !== undefined && o.lastModified != null && ius !== o.lastModified) {
    res.writeHead(412, { 'content-length': '0' }).end();
    return;
  }
  let first = 0;
  let last = size - 1;
  let partial = false;
  const range = /^bytes=(\d+)-(\d*)$/u.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const ifRangeOk = ifRange === undefined || ifRange === o.etag || ifRange === o.lastModified || o.ignoreIfRange;
  if (range !== null && !o.ignoreRange && ifRangeOk) {
    first = Number(range[1]);
    last = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
    if (first >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' }).end();
      return;
    }
    if (o.mergeRanges) last = size - 1;
    partial = true;
    headers['content-range'] = `bytes ${first}-${last}/${size}`;
  }
  const slice = body.subarray(first, last + 1);
  if (!o.noLength) headers['content-length'] = String(slice.length);
  res.writeHead(partial ? 206 : 200, headers);
  const faultAt = o.fault === undefined ? slice.length : Math.min(o.faultAfter ?? 0, slice.length);
  const piece = o.dripBytes ?? 256 * 1024;
  for (let at = 0; at < faultAt; at += piece) {
    await writeAsync(res, slice.subarray(at, Math.min(at + piece, faultAt)));
    if (o.dripMs !== undefined) await sleep(o.dripMs);
  }
  if (o.fault === undefined) {
    res.end();
    return;
  }
  // Let the bytes reach the client before the fault.
  await sleep(30);
  if (o.fault === 'reset') res.socket?.resetAndDestroy();
  else if (o.fault === 'short') res.socket?.end();
  o.onFault?.();
}

/** Handler: serve `body` with options, fixed or per request number. */
export function serving(body: Buffer, o: ServeOptions | ((n: number) => ServeOptions) = {}): Handler {
  return (req, res, n) => serve(req, res, body, typeof o === 'function' ? o(n) : o);
}

/** Handler: a redirect (chains and loops are routes redirecting to each other). */
export function redirectTo(location: string, status = 302): Handler {
  return (_req, res) => res.writeHead(status, { location, 'content-length': '0' }).end();
}

/** Handler: answer `status` (e.g. 503 with Retry-After) for the first `times` requests, then `then`. */
export function failFirst(times: number, status: number, headers: Record<string, string>, then: Handler): Handler {
  return (req, res, n) => {
    if (n > times) return then(req, res, n);
    res.writeHead(status, { 'content-length': '0', ...headers }).end();
    return undefined;
  };
}

/** Handler: `bytes` of response headers (past any client's parser limit). */
export function hugeHeaders(bytes = 1024 * 1024): Handler {
  return (_req, res) => {
    const headers: Record<string, string> = { 'content-length': '2' };
    for (let i = 0; i * 8192 < bytes; i++) headers[`x-filler-${i}`] = 'a'.repeat(8192);
    res.writeHead(200, headers).end('ok');
  };
}

/** Handler: demand credentials (`check` returns a challenge when the request lacks good ones). */
export function requireAuth(
  checker: { challenge(): string; check(header: string | undefined, method: string, uri: string): boolean },
  then: Handler,
): Handler {
  return (req, res, n) => {
    if (checker.check(req.headers.authorization, req.method ?? 'GET', req.url ?? '/')) return then(req, res, n);
    res.writeHead(401, { 'www-authenticate': checker.challenge(), 'content-length': '0' }).end();
    return undefined;
  };
}
