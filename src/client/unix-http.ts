import { connect, type Socket } from 'node:net';
import { type Clock, systemClock } from '../core/clock.ts';

/**
 * HTTP/1.1 to bitsd over its Unix socket, on node:net alone. node:http's client costs a CLI
 * process about 5 ms of CPU (its modules, the Agent, the parser set-up) to send one small
 * request; this speaks just what the daemon's replies need: a status line, headers, and a body
 * framed by content-length, chunked transfer coding or the end of the connection (interim 1xx
 * heads skipped). Idle connections are kept (unreferenced) for the next request, for less than
 * the server's keep-alive timeout; a GET or HEAD that finds its kept connection closed by the
 * server before any reply byte is sent once more on a fresh one.
 */

/** One request. */
export interface UnixRequest {
  readonly method: string;
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Longest silence while waiting for the reply's head and between body chunks. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Use (and return) a kept connection; false for a long-lived stream. */
  readonly keepAlive: boolean;
}

/** A reply whose body arrives as it comes. */
export interface UnixReply {
  readonly statusCode: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, decoded from the transfer coding. Read it to the end (or abort) to free the connection. */
  readonly body: AsyncIterable<Buffer>;
  /** The rest of the body as UTF-8 text. */
  text(): Promise<string>;
}

/** An error with a Node-style `code` (ECONNRESET, ETIMEDOUT, ABORT_ERR…), as connectionError expects. */
function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Errors of a connection the server closed (what a reused one meets if closed as we sent). */
const RESET_CODES = new Set(['EPIPE', 'ECONNRESET']);
/** Connection errors met before any byte of the reply arrived. */
const unanswered = new WeakSet<Error>();

/** Without a keep-alive timeout in the reply, Node's server default (5 s). */
const DEFAULT_KEEP_ALIVE_MS = 5_000;
/** A kept connection is dropped this long before the server would close it (as Node's Agent does). */
const KEEP_ALIVE_MARGIN_MS = 1_000;

/** Requests on one socket path, with the idle connections kept between them. */
export class UnixHttpClient {
  readonly #socketPath: string;
  readonly #clock: Clock;
  readonly #idle: Array<{ socket: Socket; until: number; drop: () => void }> = [];
  #closed = false;

  /** `clock` dates the kept connections (tests pass their own). */
  constructor(socketPath: string, clock: Clock = systemClock) {
    this.#socketPath = socketPath;
    this.#clock = clock;
  }

  /** Sends `req`; resolves once the reply's head arrived. Connection failures reject with their Node error. */
  request(req: UnixRequest): Promise<UnixReply> {
    let head: string;
    try {
      head = requestHead(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const kept = req.keepAlive ? this.#takeIdle() : undefined;
    if (kept === undefined) return this.#exchange(req, head, connect(this.#socketPath));
    return this.#exchange(req, head, kept).catch((err: unknown) => {
      // The server may close an idle connection just as we reuse it (EPIPE, or a reset or end
      // before any reply byte). The request was then never read, but only a GET or HEAD is
      // sent again: a POST, PUT, DELETE or PATCH the server did act on must not run twice.
      const idempotent = req.method === 'GET' || req.method === 'HEAD';
      if (!idempotent || !unanswered.has(err as Error) || req.signal?.aborted === true) throw err;
      return this.#exchange(req, head, connect(this.#socketPath));
    });
  }

  /** One request and its reply on `socket`. */
  #exchange(req: UnixRequest, head: string, socket: Socket): Promise<UnixReply> {
    return new Promise<UnixReply>((resolve, reject) => {
      const body = new BodyQueue();
      const parser = new ReplyParser(req.method === 'HEAD');
      let replyHead: { statusCode: number; headers: Record<string, string> } | undefined;
      let replied = false;
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        if (!replied && RESET_CODES.has((err as NodeJS.ErrnoException).code ?? '')) unanswered.add(err);
        if (replyHead === undefined) reject(err);
        else body.fail(err);
      };
      const onAbort = (): void => fail(codedError('the request was aborted', 'ABORT_ERR'));
      const onData = (chunk: Buffer): void => {
        replied = true;
        let out: ParseOutput;
        try {
          out = parser.push(chunk);
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (out.head !== undefined && replyHead === undefined) {
          replyHead = out.head;
          resolve({ ...replyHead, body, text: () => body.text() });
        }
        for (const c of out.chunks) body.push(c);
        if (out.done) {
          cleanup();
          body.end();
          if (req.keepAlive && parser.reusable && !this.#closed) this.#keep(socket, parser.keepAliveMs);
          else socket.destroy();
        }
      };
      const onEnd = (): void => {
        // The server closed: a body framed by the connection ends here; anything else was cut short.
        if (parser.endsAtClose && replyHead !== undefined) {
          cleanup();
          socket.destroy();
          body.end();
        } else fail(codedError('the reply was cut short', 'ECONNRESET'));
      };
      const onClose = (): void => fail(codedError('the connection closed before the reply ended', 'ECONNRESET'));
      const onTimeout = (): void => fail(codedError(`no reply within ${req.timeoutMs} ms`, 'ETIMEDOUT'));
      function cleanup(): void {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', fail);
        socket.off('close', onClose);
        socket.off('timeout', onTimeout);
        socket.setTimeout(0);
        req.signal?.removeEventListener('abort', onAbort);
      }
      if (req.signal?.aborted === true) {
        socket.destroy();
        reject(codedError('the request was aborted', 'ABORT_ERR'));
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      socket.ref();
      socket.setTimeout(req.timeoutMs, onTimeout);
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', fail);
      socket.on('close', onClose);
      socket.write(head);
    });
  }

  /** Closes the kept connections; later requests still work (they connect anew). */
  close(): void {
    this.#closed = true;
    for (const { socket } of this.#idle.splice(0)) socket.destroy();
  }

  #takeIdle(): Socket | undefined {
    const now = this.#clock.monotonicMs();
    for (let kept = this.#idle.pop(); kept !== undefined; kept = this.#idle.pop()) {
      kept.socket.off('close', kept.drop);
      kept.socket.off('error', kept.drop);
      if (kept.until > now && !kept.socket.destroyed) return kept.socket;
      kept.socket.destroy();
    }
    return undefined;
  }

  #keep(socket: Socket, keepAliveMs: number | undefined): void {
    const entry = {
      socket,
      until: this.#clock.monotonicMs() + (keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS) - KEEP_ALIVE_MARGIN_MS,
      drop: (): void => {
        const i = this.#idle.indexOf(entry);
        if (i !== -1) this.#idle.splice(i, 1);
        socket.destroy();
      },
    };
    // A kept connection must not keep the process alive, and the server may close it any time.
    socket.unref();
    socket.once('close', entry.drop);
    socket.once('error', entry.drop);
    this.#idle.push(entry);
  }
}

/** The request line and headers (and the body, which is short JSON). */
function requestHead(req: UnixRequest): string {
  // Only what encodeURIComponent and URLSearchParams make may reach the request line.
  if (!/^[A-Z]+$/u.test(req.method) || !/^\/[!-~]*$/u.test(req.path)) {
    throw codedError(`bad request line ${JSON.stringify(`${req.method} ${req.path}`)}`, 'ERR_INVALID_CHAR');
  }
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: bitsd\r\n`;
  if (!req.keepAlive) head += 'connection: close\r\n';
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (/[\r\n]/u.test(name) || /[\r\n]/u.test(value)) throw codedError(`bad header ${name}`, 'ERR_INVALID_CHAR');
    head += `${name}: ${value}\r\n`;
  }
  if (req.body !== undefined) return `${head}content-length: ${Buffer.byteLength(req.body)}\r\n\r\n${req.body}`;
  return req.method === 'GET' || req.method === 'HEAD' ? `${head}\r\n` : `${head}content-length: 0\r\n\r\n`;
}

interface ParseOutput {
  head?: { statusCode: number; headers: Record<string, string> };
  chunks: Buffer[];
  done: boolean;
}

/** Longest reply head accepted (the daemon's are well under 1 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;

/** The reply side of one exchange, fed the socket's bytes. Exported for its tests. */
export class ReplyParser {
  readonly #headOnly: boolean;
  #buffer: Buffer = Buffer.alloc(0);
  #state: 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done' = 'head';
  #left = 0;
  /** Whether the connection can carry another request once this reply ended. */
  reusable = false;
  /** The server's keep-alive timeout, when it said one. */
  keepAliveMs: number | undefined;

  constructor(headOnly = false) {
    this.#headOnly = headOnly;
  }

  /** True when the body runs to the end of the connection. */
  get endsAtClose(): boolean {
    return this.#state === 'close';
  }

  push(data: Buffer): ParseOutput {
    const out: ParseOutput = { chunks: [], done: false };
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
    for (;;) {
      const b = this.#buffer;
      if (this.#state === 'head') {
        const end = b.indexOf('\r\n\r\n');
        if (end === -1) {
          if (b.length > MAX_HEAD_BYTES) throw codedError('the reply head is too long', 'HPE_HEADER_OVERFLOW');
          return out;
        }
        const head = this.#parseHead(b.subarray(0, end).toString('latin1'));
        this.#buffer = b.subarray(end + 4);
        // An interim reply (100 Continue, 102, 103…) is followed by the final one; 101 ends HTTP.
        if (head.statusCode < 200 && head.statusCode !== 101) this.#state = 'head';
        else out.head = head;
      } else if (this.#state === 'length' || this.#state === 'chunk-data') {
        const n = Math.min(this.#left, b.length);
        if (n > 0) out.chunks.push(b.subarray(0, n));
        this.#left -= n;
        this.#buffer = b.subarray(n);
        if (this.#left > 0) return out;
        this.#state = this.#state === 'length' ? 'done' : 'chunk-end';
      } else if (this.#state === 'close') {
        if (b.length > 0) out.chunks.push(b);
        this.#buffer = Buffer.alloc(0);
        return out;
      } else if (this.#state === 'done') {
        out.done = true;
        // Bytes after the reply (none are expected): the connection is not reused.
        if (b.length > 0) this.reusable = false;
        return out;
      } else {
        const eol = b.indexOf('\r\n');
        if (eol === -1) {
          if (b.length > MAX_HEAD_BYTES) throw codedError('a chunk line is too long', 'HPE_INVALID_CHUNK_SIZE');
          return out;
        }
        const line = b.subarray(0, eol).toString('latin1');
        this.#buffer = b.subarray(eol + 2);
        if (this.#state === 'chunk-end') {
          if (line !== '') throw codedError('a chunk does not end with CRLF', 'HPE_INVALID_CHUNK_SIZE');
          this.#state = 'chunk-size';
        } else if (this.#state === 'trailers') {
          if (line === '') this.#state = 'done';
        } else {
          // Whitespace may precede a chunk extension (RFC 9112 §7.1.1: BWS before ";").
          const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/u.exec(line);
          if (size === null) throw codedError(`bad chunk size ${JSON.stringify(line)}`, 'HPE_INVALID_CHUNK_SIZE');
          this.#left = Number.parseInt(size[1] as string, 16);
          this.#state = this.#left === 0 ? 'trailers' : 'chunk-data';
        }
      }
    }
  }

  #parseHead(text: string): { statusCode: number; headers: Record<string, string> } {
    const lines = text.split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/u.exec(lines[0] ?? '');
    if (status === null) throw codedError('the reply is not HTTP/1.x', 'HPE_INVALID_CONSTANT');
    const statusCode = Number(status[2]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw codedError('a reply header has no name', 'HPE_INVALID_HEADER_TOKEN');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    // A list of tokens, any case: `close, foo` closes as `close` does.
    const connection = (headers.connection ?? '').split(',').map((t) => t.trim().toLowerCase());
    this.reusable = !connection.includes('close') && (status[1] === '1' || connection.includes('keep-alive'));
    const timeout = /timeout=(\d+)/u.exec(headers['keep-alive'] ?? '');
    this.keepAliveMs = timeout === null ? undefined : Number(timeout[1]) * 1000;
    const chunked = /(?:^|,)\s*chunked\s*$/iu.test(headers['transfer-encoding'] ?? '');
    const length = headers['content-length'];
    if (this.#headOnly || statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode < 200)) {
      this.#state = 'done';
    } else if (chunked) this.#state = 'chunk-size';
    else if (length !== undefined) {
      if (!/^\d{1,15}$/u.test(length)) throw codedError(`bad content-length ${length}`, 'HPE_INVALID_CONTENT_LENGTH');
      this.#left = Number(length);
      this.#state = this.#left === 0 ? 'done' : 'length';
    } else {
      this.#state = 'close';
      this.reusable = false;
    }
    return { statusCode, headers };
  }
}

/** The body's chunks, handed to one reader as they arrive. */
class BodyQueue implements AsyncIterable<Buffer> {
  readonly #chunks: Buffer[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  fail(err: Error): void {
    this.#error ??= err;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of this) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  }
}
