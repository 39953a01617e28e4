import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from './digest.ts';

/** A route's content and behaviour; `before` may answer instead (return true when it did). */
export interface Route {
  body: Buffer;
  etag?: string;
  lastModified?: string;
  /** Bytes per second to send the body at (a drip), or unlimited. */
  rateBps?: number;
  /**
   * With `rateBps`: the drip stops at byte `at` of the body until `release` settles, so a test
   * can act while the transfer is surely in the middle, however slowly it polls.
   */
  hold?: { at: number; release: Promise<unknown> };
  before?: (req: IncomingMessage, res: ServerResponse, hit: number) => boolean;
}

/**
 * A small real origin on 127.0.0.1 serving in-memory files with Range/If-Range support, for tests
 * of the manager and service. Counts requests and body bytes sent per path.
 */
export class FileServer {
  readonly #server: Server;
  readonly routes = new Map<string, Route>();
  readonly hits = new Map<string, number>();
  readonly bytesSent = new Map<string, number>();
  readonly requests: Array<{ path: string; range: string | undefined; headers: IncomingMessage['headers'] }> = [];
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(): Promise<FileServer> {
    const s = new FileServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Serve `size` random bytes at `path`; returns the body. */
  add(path: string, size: number, extra: Partial<Route> = {}): Buffer {
    const body = extra.body ?? randomBytes(size);
    this.routes.set(path, {
      etag: `"${sha256(body).slice(0, 16)}"`,
      lastModified: new Date(0).toUTCString(),
      ...extra,
      body,
    });
    return body;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const hit = (this.hits.get(path) ?? 0) + 1;
    this.hits.set(path, hit);
    this.requests.push({ path, range: req.headers.range, headers: req.headers });
    const route = this.routes.get(path);
    if (route === undefined) {
      res.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    if (route.before?.(req, res, hit) === true) return;
    const { body } = route;
    const headers: Record<string, string> = { 'accept-ranges': 'bytes' };
    if (route.etag !== undefined) headers.etag = route.etag;
    if (route.lastModified !== undefined) headers['last-modified'] = route.lastModified;
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/u.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeValid = ifRange === undefined || ifRange === route.etag || ifRange === route.lastModified;
    if (range !== null && rangeValid) {
      start = Number(range[1]);
      end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}`, 'content-length': '0' }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    }
    headers['content-length'] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const slice = body.subarray(start, end + 1);
    this.bytesSent.set(path, (this.bytesSent.get(path) ?? 0) + slice.length);
    if (route.rateBps === undefined) {
      res.end(slice);
      return;
    }
    const chunk = Math.max(1, Math.floor(route.rateBps / 20));
    const { hold } = route;
    let stopAt = hold === undefined ? slice.length : Math.max(0, hold.at - start);
    const open = (): void => {
      stopAt = slice.length;
    };
    void hold?.release.then(open, open);
    let off = 0;
    const tick = setInterval(() => {
      if (res.destroyed || off >= slice.length) {
        clearInterval(tick);
        res.end();
        return;
      }
      const to = Math.min(off + chunk, stopAt);
      if (to <= off) return;
      res.write(slice.subarray(off, to));
      off = to;
    }, 50);
    res.on('close', () => clearInterval(tick));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export { sha256 };
