import type { IncomingMessage, ServerResponse } from 'node:http';
import { BitsError } from '../core/bits-error.ts';
import { asBitsError, errorReply } from './error-envelope.ts';
import { nodeEventStreams } from './event-stream.ts';
import type { EventStreams } from './events-route.ts';
import { type Operation, VERSION_HEADER } from './operation.ts';
import { checkedBody } from './request-body.ts';
import { RouteTable } from './route-table.ts';
import type { ApiLogger, ApiOptions } from './server.ts';

/** What the call handler needs besides the API options. */
export interface CallHandlerOptions extends ApiOptions {
  /** Whether the server is stopping (every reply then closes its connection). */
  readonly closing: () => boolean;
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 15_000;
const silent: ApiLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The calls answered here, counted (bitsd's warm-up waits for a quiet moment: src/daemon/warm-up.ts). */
export interface CallActivity {
  /** Calls being answered now (event streams are not calls). */
  inFlight(): number;
  /** Calls answered since the start. */
  answered(): number;
}

/**
 * The socket's plain calls on bare node:http: the operations table and GET /v1/status, with the
 * same replies as the Hono app (hono-app.ts) gives — JSON or 204, the error envelope, the version
 * header, `connection: close` while stopping — without building a web Request and Response for
 * each call; and the event stream (event-stream.ts). `handle` returns false, having read
 * nothing, for every request it leaves to that app: /metrics, unknown routes, HEAD, a
 * percent-escaped path, and any body it would refuse (where none belongs, without a length, too
 * large), whose refusal the app words.
 */
export function createCallHandler(options: CallHandlerOptions): {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly streams: EventStreams;
  readonly activity: CallActivity;
} {
  const { manager, clock } = options;
  const events = nodeEventStreams({
    manager,
    clock,
    logger: options.logger ?? silent,
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    headers: () => ({ [VERSION_HEADER]: version }),
  });
  const routes = new RouteTable();
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const version = options.status().version;

  const reply = (res: ServerResponse, status: number, text: string | Buffer[] | undefined): void => {
    const headers: Record<string, string | number> = { [VERSION_HEADER]: version };
    if (text !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = typeof text === 'string' ? Buffer.byteLength(text) : byteLength(text);
    }
    if (options.closing()) headers.connection = 'close';
    res.writeHead(status, headers);
    if (typeof text !== 'object') {
      res.end(text);
      return;
    }
    // One writev for every chunk, instead of joining them into one buffer first.
    res.cork();
    for (const chunk of text) res.write(chunk);
    res.uncork();
    res.end();
  };

  let inFlight = 0;
  let answered = 0;
  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    run: () => Promise<[number, unknown]>,
    op?: Operation,
  ) => {
    const started = clock.monotonicMs();
    let status: number;
    inFlight++;
    try {
      const [code, result] = await run();
      status = code;
      const text =
        code === 204 ? undefined : op?.replyChunks ? op.replyChunks(result as never) : JSON.stringify(result);
      reply(res, code, text);
    } catch (err) {
      const { error, internal } = asBitsError(err);
      if (internal) options.logger?.error({ err }, 'request failed inside bitsd');
      const r = errorReply(error);
      status = r.status;
      reply(res, r.status, JSON.stringify(r.body));
    } finally {
      inFlight--;
      answered++;
    }
    options.logger?.debug(
      { method: req.method, path: req.url, status, ms: Math.round(clock.monotonicMs() - started) },
      'request',
    );
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.includes('%')) return false;
    const method = req.method ?? 'GET';
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const hasBody = (length !== undefined && length.trim() !== '0') || chunked;
    if (method === 'GET' && path === '/v1/status') {
      if (hasBody) return false;
      void answer(req, res, async () => [200, options.status()]);
      return true;
    }
    if (method === 'GET' && path === '/v1/events') {
      if (hasBody) return false;
      try {
        // While stopping, no new event stream opens (a client's reconnect would hold the stop up).
        if (options.closing()) throw new BitsError('RPC_S_SERVER_UNAVAILABLE', 'bitsd is stopping');
        events.serve(req, res, q === -1 ? {} : parseQuery(url.slice(q + 1)));
      } catch (err) {
        void answer(req, res, () => Promise.reject(err));
      }
      return true;
    }
    const route = routes.match(method, path);
    if (route === undefined) return false;
    const { op, params } = route;
    if (hasBody && (op.checkBody === undefined || chunked || !(Number(length) <= maxBody))) return false;
    void answer(
      req,
      res,
      async () => {
        const query = q === -1 ? {} : parseQuery(url.slice(q + 1));
        const body = op.checkBody === undefined ? undefined : await checkedBody(op, await readText(req));
        const result = await op.invoke(manager, { params, query, body: body as never });
        return op.reply === undefined ? [204, undefined] : [op.status ?? 200, result];
      },
      op,
    );
    return true;
  };
  return { handle, streams: events.streams, activity: { inFlight: () => inFlight, answered: () => answered } };
}

function byteLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const chunk of chunks) n += chunk.length;
  return n;
}

/**
 * The request body as UTF-8 text (its length was checked against the limit). Read with plain
 * events: an async iterator per request costs more than the small JSON body it reads.
 */
function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(Object.assign(new Error('the request was cut short'), { code: 'ECONNRESET' }));
    });
  });
}

/** A query string as Hono reads it: the first value of each name, `+` as space, escapes decoded. */
export function parseQuery(text: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (name === '' || name in out) continue;
    out[name] = eq === -1 ? '' : decode(pair.slice(eq + 1));
  }
  return out;
}

function decode(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
