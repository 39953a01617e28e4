import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { AuthChecker, type AuthSpec } from './http-auth.ts';

/**
 * A small scripted BITS upload server on raw `net` (Node's http server rejects BITS_POST,
 * bits-upload-protocol.md §11), for client tests. By default it behaves like IIS (§4, §9.2):
 * sessions shared by all connections, 416 with the held offset on a gap, overlap trimmed, upload
 * committed on Close-Session, upload-reply with a reply served by GET/HEAD (single ranges). A test
 * scripts faults with `onRequest`, called when a request's head has arrived, and can drop Acks,
 * reset mid-body, answer anything, lose sessions, require Basic auth, hand out a BITS-Host-Id.
 */

export const GUID = '{7df0354d-249b-430f-820d-3d2a9bef4931}';

export interface RecordedRequest {
  /** Accept order; connection number (1-based) it came on. */
  readonly seq: number;
  readonly connection: number;
  readonly method: string;
  /** Path and query (also for an absolute-URI request through the proxy role). */
  readonly path: string;
  /** The request-target exactly as sent (absolute URI when sent to a forward proxy). */
  readonly target: string;
  readonly httpVersion: string;
  /** Raw request head (request line + headers), as on the wire. */
  readonly head: string;
  /** Header names as sent, in order. */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  /** Lower-cased name → value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly packetType: string | undefined;
  /** Local port of the socket's peer address as the client used it: the Host header. */
  readonly host: string | undefined;
  body: Buffer;
}

export type FaultAction =
  /** Behave normally. */
  | { readonly kind: 'default' }
  /** Answer this instead (after reading the body). */
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Process the packet normally, then close the connection instead of sending the Ack. */
  | { readonly kind: 'dropAck' }
  /** Reset the connection once `afterBytes` of the body arrived (0: at once). */
  | { readonly kind: 'reset'; readonly afterBytes?: number }
  /** Read the request and never answer. */
  | { readonly kind: 'hang' }
  /** Stop reading from the connection (the client's send stalls once buffers fill). */
  | { readonly kind: 'stall' }
  /** Answer at once, without reading the body, then close the connection (as some servers do for 413). */
  | { readonly kind: 'respondEarly'; readonly status: number }
  /** Answer normally but close the connection after `bytes` of the response body. */
  | { readonly kind: 'cutResponse'; readonly bytes: number };

export interface ServerSession {
  readonly id: string;
  readonly path: string;
  data: Buffer;
  total: number;
  complete: boolean;
}

export interface BitsFaultServerOptions {
  readonly basicAuth?: { readonly user: string; readonly password: string };
  /** Server authentication (Basic or Digest, checked independently of the client's code). */
  readonly auth?: AuthSpec;
  /**
   * Act as a forward proxy too: requests with an absolute URI must carry Proxy-Authorization
   * for this spec (407 otherwise), then are served as if they had come directly.
   */
  readonly proxyAuth?: AuthSpec;
  readonly hostId?: string;
  readonly hostIdFallbackTimeoutS?: number;
  /** Fragments larger than this get 413. */
  readonly maxFragment?: number;
  /** Upload-reply: the reply body for an uploaded file (null: empty reply). */
  readonly reply?: (data: Buffer, path: string) => Buffer | null;
  /** How BITS-Reply-URL is written: absolute, or IIS-style relative with backslashes. */
  readonly replyUrlStyle?: 'absolute' | 'relative-backslash';
  /** Absolute reply URLs point here instead of this server (a reply on another origin). */
  readonly replyBase?: string;
  /** Header-name case of Acks: as IIS writes them, or Go-canonicalised (`Bits-Packet-Type`). */
  readonly headerCase?: 'iis' | 'go';
  /** Session id shape: IIS braced GUID, or bare lower-case hex. */
  readonly sessionIdStyle?: 'braced' | 'bare';
  readonly createStatus?: 200 | 201;
}

export class BitsFaultServer {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, ServerSession>();
  /** Committed uploads by URL path. */
  readonly files = new Map<string, Buffer>();
  /** Reply bodies by URL path. */
  readonly replies = new Map<string, Buffer>();
  onRequest: ((req: RecordedRequest) => FaultAction | undefined) | null = null;
  /** Most requests ever outstanding at once, over all connections (one-at-a-time check). */
  maxInFlight = 0;
  #inFlight = 0;
  readonly #server: Server;
  readonly #options: BitsFaultServerOptions;
  readonly #sockets = new Set<Socket>();
  readonly #aliases: Server[] = [];
  readonly #auth: AuthChecker | null;
  readonly #proxyAuth: AuthChecker | null;
  #connections = 0;
  port = 0;

  constructor(options: BitsFaultServerOptions = {}) {
    this.#options = options;
    const serverAuth: AuthSpec | undefined =
      options.auth ??
      (options.basicAuth === undefined
        ? undefined
        : { scheme: 'basic', user: options.basicAuth.user, password: options.basicAuth.password });
    this.#auth = serverAuth === undefined ? null : new AuthChecker(serverAuth);
    this.#proxyAuth = options.proxyAuth === undefined ? null : new AuthChecker(options.proxyAuth);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  static async start(options: BitsFaultServerOptions = {}): Promise<BitsFaultServer> {
    const s = new BitsFaultServer(options);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    const addr = s.#server.address();
    s.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return s;
  }

  url(path = '/upload/file.bin'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Packets of one type (case-insensitive), in order. */
  packets(type: string): RecordedRequest[] {
    return this.requests.filter((r) => r.packetType?.toLowerCase() === type.toLowerCase());
  }

  /**
   * Also accept connections on `host` at the same port — a second web-farm node sharing this
   * one's sessions, for BITS-Host-Id tests (127.0.0.2 is loopback on Linux).
   */
  async listenAlso(host: string): Promise<void> {
    const alias = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      alias.once('error', reject);
      alias.listen(this.port, host, resolve);
    });
    this.#aliases.push(alias);
  }

  /** Forget every session (server restart without persistence). */
  loseSessions(): void {
    this.sessions.clear();
  }

  /** Close every open connection (the next packet needs a new one). */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    const all = [this.#server, ...this.#aliases];
    await Promise.all(all.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  #accept(socket: Socket): void {
    const connection = ++this.#connections;
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let current: { req: RecordedRequest; need: number; action: FaultAction } | null = null;
    let busy = false;
    socket.on('close', () => {
      if (current !== null && current.action.kind !== 'hang') this.#inFlight--;
    });
    const pump = (): void => {
      if (busy || socket.destroyed) return;
      if (current === null) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const req = this.#parseHead(head, connection);
        this.requests.push(req);
        const action = this.onRequest?.(req) ?? { kind: 'default' };
        this.#inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
        current = { req, need: Number(req.headers['content-length'] ?? 0), action };
        if (action.kind === 'respondEarly') {
          this.#inFlight--;
          this.#write(socket, req, action.status, { 'BITS-Packet-Type': 'Ack', Connection: 'close' }, '');
          socket.end();
          return;
        }
        if (action.kind === 'stall') {
          socket.pause();
          return;
        }
        if (action.kind === 'reset' && (action.afterBytes ?? 0) === 0) {
          socket.resetAndDestroy();
          return;
        }
      }
      const cur = current;
      if (cur.action.kind === 'reset' && buf.length >= (cur.action.afterBytes ?? 0)) {
        socket.resetAndDestroy();
        return;
      }
      if (buf.length < cur.need) return;
      cur.req.body = Buffer.from(buf.subarray(0, cur.need));
      buf = buf.subarray(cur.need);
      current = null;
      if (cur.action.kind !== 'hang') this.#inFlight--;
      busy = true;
      this.#answer(socket, cur.req, cur.action);
      busy = false;
      pump();
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      pump();
    });
  }

  #parseHead(head: string, connection: number): RecordedRequest {
    const lines = head.split('\r\n');
    const [method = '', target = '', httpVersion = ''] = (lines[0] ?? '').split(' ');
    const absolute = /^https?:\/\//i.test(target);
    const path = absolute ? new URL(target).pathname + new URL(target).search : target;
    const rawHeaders: Array<[string, string]> = [];
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i);
      const value = line.slice(i + 1).trim();
      rawHeaders.push([name, value]);
      headers[name.toLowerCase()] = value;
    }
    return {
      seq: this.requests.length + 1,
      connection,
      method,
      path,
      target,
      httpVersion,
      head,
      rawHeaders,
      headers,
      packetType: headers['bits-packet-type'],
      host: headers.host,
      body: Buffer.alloc(0),
    };
  }

  #answer(socket: Socket, req: RecordedRequest, action: FaultAction): void {
    if (action.kind === 'hang') return;
    if (action.kind === 'respond') {
      this.#write(socket, req, action.status, { 'BITS-Packet-Type': 'Ack', ...action.headers }, action.body ?? '');
      return;
    }
    const [status, headers, body] = this.#handle(req);
    if (action.kind === 'dropAck') {
      socket.destroy();
      return;
    }
    if (action.kind === 'cutResponse') {
      const full = typeof body === 'string' ? Buffer.from(body) : body;
      this.#write(
        socket,
        req,
        status,
        { 'Content-Length': String(full.length), ...headers },
        full.subarray(0, action.bytes),
      );
      socket.end();
      return;
    }
    this.#write(socket, req, status, headers, body);
  }

  #write(
    socket: Socket,
    req: RecordedRequest,
    status: number,
    headers: Record<string, string>,
    body: string | Buffer,
  ): void {
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const lines = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Status'}`];
    const all: Record<string, string> = { ...headers };
    if (!Object.keys(all).some((k) => k.toLowerCase() === 'content-length')) {
      all['Content-Length'] = String(payload.length);
    }
    for (const [name, value] of Object.entries(all)) lines.push(`${this.#case(name)}: ${value}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (req.method !== 'HEAD') socket.write(payload);
  }

  #case(name: string): string {
    if (this.#options.headerCase !== 'go') return name;
    return name
      .toLowerCase()
      .split('-')
      .map((p) => (p === '' ? p : p[0]?.toUpperCase() + p.slice(1)))
      .join('-');
  }

  #handle(req: RecordedRequest): [number, Record<string, string>, string | Buffer] {
    if (this.#proxyAuth !== null && req.target !== req.path) {
      if (!this.#proxyAuth.check(req.headers['proxy-authorization'], req.method, req.target)) {
        return [407, { 'Proxy-Authenticate': this.#proxyAuth.challenge() }, ''];
      }
    }
    if (req.method === 'GET' || req.method === 'HEAD') return this.#serve(req);
    if (req.method !== 'BITS_POST') return [405, {}, ''];
    const o = this.#options;
    if (this.#auth !== null && !this.#auth.check(req.headers.authorization, req.method, req.path)) {
      return [401, { 'WWW-Authenticate': this.#auth.challenge() }, ''];
    }
    const ack = { 'BITS-Packet-Type': 'Ack' };
    const error = (status: number, code: string): [number, Record<string, string>, string] => [
      status,
      { ...ack, 'BITS-Error-Code': code, 'BITS-Error-Context': '0x5' },
      '',
    ];
    const type = req.packetType?.toLowerCase();
    if (type === 'ping') return [200, ack, ''];
    if (type === 'create-session') {
      if (!(req.headers['bits-supported-protocols'] ?? '').toLowerCase().includes(GUID)) {
        return error(400, '0x80070057');
      }
      const uuid = randomUUID();
      const id = o.sessionIdStyle === 'bare' ? uuid.replaceAll('-', '') : `{${uuid.toUpperCase()}}`;
      this.sessions.set(id, { id, path: req.path, data: Buffer.alloc(0), total: -1, complete: false });
      const headers: Record<string, string> = {
        ...ack,
        'BITS-Protocol': GUID,
        'BITS-Session-Id': id,
        'Accept-Encoding': 'identity',
      };
      if (o.hostId !== undefined) headers['BITS-Host-Id'] = o.hostId;
      if (o.hostIdFallbackTimeoutS !== undefined) {
        headers['BITS-Host-Id-Fallback-Timeout'] = String(o.hostIdFallbackTimeoutS);
      }
      return [o.createStatus ?? 200, headers, ''];
    }
    const session = this.sessions.get(req.headers['bits-session-id'] ?? '');
    if (session === undefined) return error(500, '0x8020001F');
    if (type === 'fragment') return this.#fragment(req, session);
    if (type === 'close-session') {
      if (session.complete) this.files.set(session.path, session.data);
      this.sessions.delete(session.id);
      return [200, ack, ''];
    }
    if (type === 'cancel-session') {
      this.sessions.delete(session.id);
      return [200, ack, ''];
    }
    return error(400, '0x80070057');
  }

  #fragment(req: RecordedRequest, s: ServerSession): [number, Record<string, string>, string] {
    const o = this.#options;
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    if (m === null) return [400, { 'BITS-Packet-Type': 'Ack', 'BITS-Error-Code': '0x80070057' }, ''];
    const start = Number(m[1]);
    const end = Number(m[2]);
    const total = Number(m[3]);
    if (o.maxFragment !== undefined && end - start + 1 > o.maxFragment) return [413, { 'BITS-Packet-Type': 'Ack' }, ''];
    const held = s.data.length;
    const ack: Record<string, string> = { 'BITS-Packet-Type': 'Ack', 'BITS-Session-Id': s.id };
    if (start > held) return [416, { ...ack, 'BITS-Received-Content-Range': String(held) }, ''];
    s.total = total;
    if (end >= held) s.data = Buffer.concat([s.data, req.body.subarray(held - start)]);
    ack['BITS-Received-Content-Range'] = String(s.data.length);
    if (s.data.length === total) {
      s.complete = true;
      if (o.reply !== undefined) {
        const replyPath = `/replies/${encodeURIComponent(s.id)}/responsefile.bin`;
        this.replies.set(replyPath, o.reply(s.data, s.path) ?? Buffer.alloc(0));
        ack['BITS-Reply-URL'] =
          o.replyUrlStyle === 'relative-backslash'
            ? `..\\replies\\${s.id}\\responsefile.bin`
            : `${o.replyBase ?? `http://127.0.0.1:${this.port}`}${replyPath}`;
      }
    }
    return [200, ack, ''];
  }

  #serve(req: RecordedRequest): [number, Record<string, string>, Buffer] {
    const body = this.replies.get(req.path) ?? this.files.get(req.path);
    if (body === undefined) return [404, {}, Buffer.alloc(0)];
    const base = { 'Last-Modified': 'Sat, 21 Nov 2026 06:00:00 GMT', 'Accept-Ranges': 'bytes' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range === null) return [200, base, body];
    const first = Number(range[1]);
    const last = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
    if (first >= body.length) return [416, { 'Content-Range': `bytes */${body.length}` }, Buffer.alloc(0)];
    return [206, { ...base, 'Content-Range': `bytes ${first}-${last}/${body.length}` }, body.subarray(first, last + 1)];
  }
}
