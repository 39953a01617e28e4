import { connect, type Socket } from 'node:net';
import type { DispatchedResponse, ReadTarget, TakeChunk } from './dispatch-response.ts';
import { parseResponseHead, type ResponseHead, UNUSUAL } from './response-head.ts';
import { type ShareSlot, shareStarted, sharing, TURN_QUOTA } from './turn-share.ts';

/**
 * GET over plain `http:` (no proxy) on `node:net`, for the bodies of big files: the socket reads
 * straight into the sink's write buffer (`onread` with a buffer chosen per read), so a body byte
 * is copied once by the kernel into the memory that goes to the file — no Buffer per read, no
 * copy into undici's wasm parser, no copy into the write buffer. Measured on 1 GiB from nginx to
 * tmpfs, this process alone: 0.5 s CPU against 2.0–2.8 s through undici's dispatch.
 *
 * The head is parsed strictly (response-head.ts); anything unusual (1xx, Transfer-Encoding, a
 * body delimited by the close) makes the caller send the request again through undici, and that
 * origin then goes to undici from the start. Idle connections are kept per origin
 * (MAX_IDLE_PER_ORIGIN); a request on a kept connection that the server closed before any byte
 * of the answer (EOF, ECONNRESET, EPIPE) is sent once more on a new one. Any other failure of a
 * kept connection fails the request, as undici does: the server may have read the request.
 */

/** Head reads, and body reads when the reader offers no target (or a small one). */
const SCRATCH_BYTES = 64 * 1024;
/** A target smaller than this is not worth its own read: the scratch buffer takes it (one copy). */
const MIN_TARGET_BYTES = 16 * 1024;
const DEFAULT_IDLE_MS = 4000;
const MAX_IDLE_MS = 60_000;
/**
 * Kept connections per origin (a connect per small file cost more than its GET). Reuse once
 * failed test/service/manager-download.test.ts '§18.8 503' under load: any error on a kept
 * connection before its answer (a local read error such as ENOBUFS included) was taken for the
 * server closing it, and the GET was sent again — the origin counted a hit whose answer (the
 * 503) was lost. Only the server's close (EOF, ECONNRESET, EPIPE) before any answer byte counts
 * as stale now (Connection.#closedByServer); any other error fails the request.
 */
const MAX_IDLE_PER_ORIGIN = 8;
/** Origins remembered as needing undici (they answered with something this reader leaves to it). */
const MAX_UNDICI_ORIGINS = 256;

/** OPENBITS_PLAIN_HTTP=0 sends everything through undici (to compare, or to rule this reader out). */
const enabled = process.env.OPENBITS_PLAIN_HTTP !== '0';

const idle = new Map<string, Connection[]>();
const undiciOrigins = new Set<string>();

/** What to send. */
export interface PlainRequest {
  readonly url: URL;
  /** origin-form: path and query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  /** Take part in the event loop's fair share (dispatch-response.ts). */
  readonly fairShare: boolean;
}

/**
 * Request headers a job may not set (undici refuses them; a GET that declared a body would leave
 * the server waiting for it): such a request goes to undici, which fails it as before.
 */
const UNDICI_REFUSES = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'keep-alive',
  'te',
]);

/** RFC 9110 token; field values as undici accepts them. */
const NAME_OK = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/u;
const VALUE_BAD = /[^\t\x20-\x7e\x80-\xff]/u;
const PATH_BAD = /[^\x21-\x7e\x80-\xff]/u;

/** The request this reader takes: plain http, a well-formed request, an origin not left to undici. */
export function plainEligible(url: URL): boolean {
  return enabled && url.protocol === 'http:' && url.username === '' && !undiciOrigins.has(originKey(url));
}

/**
 * Send `r`; resolves with the response at its head, or null when the answer is one to leave to
 * undici (the caller sends the request again there) or the request is one undici should refuse
 * itself. Rejects as undici would (same error codes) on a connect or head failure or an abort.
 */
export async function plainRequest(r: PlainRequest, signal: AbortSignal): Promise<DispatchedResponse | null> {
  const text = requestText(r);
  if (text === null) return null;
  const key = originKey(r.url);
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    const kept = attempt === 0 ? takeIdle(key) : null;
    const conn = kept ?? new Connection(key, r.url, r.connectTimeoutMs);
    try {
      const res = await conn.send(text, signal, r.fairShare);
      if (res === null) rememberUndici(key);
      return res;
    } catch (err) {
      // The server closed the kept connection as the request went out: try a new one, once.
      if (err === STALE && attempt === 0) continue;
      throw err === STALE ? socketError('other side closed') : err;
    }
  }
}

/** Close every idle connection (tests, daemon shutdown). */
export function closePlainConnections(): void {
  for (const list of idle.values()) for (const c of list) c.close();
  idle.clear();
}

/** Idle connections kept now (tests). */
export function idlePlainConnections(): number {
  let n = 0;
  for (const list of idle.values()) n += list.length;
  return n;
}

function originKey(url: URL): string {
  return `${url.hostname}:${url.port || '80'}`;
}

function rememberUndici(key: string): void {
  if (undiciOrigins.size >= MAX_UNDICI_ORIGINS) undiciOrigins.clear();
  undiciOrigins.add(key);
}

function requestText(r: PlainRequest): string | null {
  if (PATH_BAD.test(r.path) || !r.path.startsWith('/')) return null;
  let text = `GET ${r.path} HTTP/1.1\r\nhost: ${r.url.host}\r\nconnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(r.headers)) {
    const lower = name.toLowerCase();
    if (!NAME_OK.test(name) || VALUE_BAD.test(value) || UNDICI_REFUSES.has(lower)) return null;
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

function takeIdle(key: string): Connection | null {
  const list = idle.get(key);
  while (list !== undefined && list.length > 0) {
    const c = list.pop() as Connection;
    if (list.length === 0) idle.delete(key);
    if (c.reusable()) return c;
    c.close();
  }
  return null;
}

function socketError(message: string): Error {
  return Object.assign(new Error(message), { code: 'UND_ERR_SOCKET' });
}

/** A kept connection that the server closed before any byte of the answer. */
const STALE = new Error('the kept connection was closed');

type Phase = 'head' | 'body' | 'idle' | 'closed';

/** One socket, one exchange at a time. */
class Connection {
  readonly #key: string;
  readonly #socket: Socket;
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  #phase: Phase = 'idle';
  #headFill = 0;
  /** Exchanges served; a connection that served one is a kept one. */
  #served = 0;
  #onHead: ((res: PlainResponse | null) => void) | null = null;
  #onHeadError: ((err: unknown) => void) | null = null;
  #response: PlainResponse | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  #connectTimer: NodeJS.Timeout | null = null;
  /** The fair-share choice of the exchange being sent. */
  #fairShareNext = true;
  /** The server closed the connection (EOF, ECONNRESET, EPIPE), not a local failure. */
  #closedByServer = false;

  constructor(key: string, url: URL, connectTimeoutMs: number) {
    this.#key = key;
    this.#socket = connect({
      host: url.hostname.replace(/^\[|\]$/gu, ''),
      port: Number(url.port || 80),
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      onread: { buffer: () => this.#nextBuffer(), callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf) },
    });
    this.#connectTimer = setTimeout(() => {
      this.#socket.destroy(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, connectTimeoutMs);
    this.#connectTimer.unref();
    this.#socket.once('connect', () => this.#clearConnectTimer());
    this.#socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.#closedByServer = true;
      this.#closed(err);
    });
    this.#socket.on('end', () => {
      this.#closedByServer = true;
      this.#closed(null);
    });
    this.#socket.on('close', () => this.#closed(null));
  }

  reusable(): boolean {
    return this.#phase === 'idle' && !this.#socket.destroyed && this.#served > 0;
  }

  send(text: string, signal: AbortSignal, fairShare: boolean): Promise<PlainResponse | null> {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#phase = 'head';
    this.#headFill = 0;
    this.#response = null;
    this.#fairShareNext = fairShare;
    return new Promise((resolve, reject) => {
      // Bound to this exchange: once its body is read the connection may serve another one.
      let res: PlainResponse | null = null;
      const onAbort = (): void => {
        if (res === null) this.#fail(signal.reason);
        else res.abortWith(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const unwatch = (): void => signal.removeEventListener('abort', onAbort);
      this.#onHead = (r) => {
        res = r;
        if (r === null) unwatch();
        else r.onSettled(unwatch);
        resolve(r);
      };
      this.#onHeadError = (err) => {
        unwatch();
        reject(err);
      };
      this.#socket.ref();
      this.#socket.write(text, 'latin1');
      this.#socket.resume();
    });
  }

  /** The body ended: keep the connection for the next request, or close it. */
  release(keepAlive: boolean, keepAliveSeconds: number | null): void {
    this.#response = null;
    this.#served++;
    if (!keepAlive || this.#socket.destroyed || this.#phase === 'closed') {
      this.close();
      return;
    }
    const list = idle.get(this.#key) ?? [];
    if (list.length >= MAX_IDLE_PER_ORIGIN) {
      this.close();
      return;
    }
    this.#phase = 'idle';
    // Well before the server's own timeout (2 s, as undici), so it does not close under a
    // request of ours; read on while idle, so a close is seen before the connection is taken.
    const ms = Math.min(keepAliveSeconds === null ? DEFAULT_IDLE_MS : (keepAliveSeconds - 2) * 1000, MAX_IDLE_MS);
    this.#socket.resume();
    if (ms <= 0) {
      this.close();
      return;
    }
    this.#idleTimer = setTimeout(() => this.close(), ms);
    this.#idleTimer.unref();
    // A kept connection does not hold the process open (as undici's do not).
    this.#socket.unref();
    list.push(this);
    idle.set(this.#key, list);
  }

  close(): void {
    if (this.#phase === 'idle') this.#dropIdle();
    this.#phase = 'closed';
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#socket.destroy();
  }

  /** Out of the idle list (it closed, or timed out, while idle). */
  #dropIdle(): void {
    const list = idle.get(this.#key);
    const at = list?.indexOf(this) ?? -1;
    if (list === undefined || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) idle.delete(this.#key);
  }

  /** Stop reading until `resume` (the reader is busy, or yields the turn). */
  resume(): void {
    if (!this.#socket.destroyed) this.#socket.resume();
  }

  get scratch(): Buffer {
    return this.#scratch;
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
  }

  #nextBuffer(): Uint8Array {
    if (this.#phase === 'head') return this.#scratch.subarray(this.#headFill);
    if (this.#phase === 'body' && this.#response !== null) return this.#response.region();
    return this.#scratch;
  }

  #onRead(n: number, buf: Uint8Array): boolean {
    if (this.#phase === 'body' && this.#response !== null) return this.#response.onBody(buf, n);
    if (this.#phase !== 'head') {
      // Bytes nobody asked for on an idle connection: it cannot be trusted for the next request.
      this.close();
      return false;
    }
    this.#headFill += n;
    let head: ResponseHead | typeof UNUSUAL | null;
    try {
      head = parseResponseHead(this.#scratch, this.#headFill);
    } catch (err) {
      this.#fail(err);
      return false;
    }
    if (head === null) return true;
    const onHead = this.#onHead as (res: PlainResponse | null) => void;
    this.#onHead = null;
    this.#onHeadError = null;
    if (head === UNUSUAL) {
      this.close();
      onHead(null);
      return false;
    }
    this.#phase = 'body';
    const leftover = this.#scratch.subarray(head.headBytes, this.#headFill);
    const res = new PlainResponse(this, head, leftover, this.#fairShareNext);
    this.#response = res;
    onHead(res);
    // Paused until the body is asked for (the leftover waits in the scratch buffer).
    return res.onHeadDelivered();
  }

  /** The socket failed or closed. */
  #closed(err: Error | null): void {
    this.#clearConnectTimer();
    const phase = this.#phase;
    if (phase === 'idle') {
      this.close();
      return;
    }
    this.#phase = 'closed';
    if (phase === 'head') {
      // Stale only when the server closed a kept connection before any byte of the answer;
      // a local error (ENOBUFS, a timeout…) may come after the server read the request.
      const stale = this.#served > 0 && this.#headFill === 0 && this.#closedByServer;
      this.#fail(stale ? STALE : (err ?? socketError('other side closed')));
      return;
    }
    if (phase === 'body') this.#fail(err ?? socketError('other side closed'));
  }

  /** End the exchange in progress with `err` and close. */
  #fail(err: unknown): void {
    const onHeadError = this.#onHeadError;
    const res = this.#response;
    this.#onHead = null;
    this.#onHeadError = null;
    this.#response = null;
    this.close();
    onHeadError?.(err);
    res?.fail(err);
  }

  /** The response gives up on its body (destroy, stop, abort): the connection is closed. */
  abandon(err: unknown): void {
    this.#fail(err);
  }
}

/** A response read by a Connection: its body goes to `take`, into `target` memory when offered. */
class PlainResponse implements DispatchedResponse {
  readonly status: number;
  readonly headers: ResponseHead['headers'];
  readonly #conn: Connection;
  readonly #head: ResponseHead;
  readonly #fairShare: boolean;
  /** Body bytes still to read from the socket. */
  #remaining: number;
  /** Body bytes that came with the head (in the connection's scratch buffer), until pumped. */
  #leftover: Buffer | null;
  #take: TakeChunk | null = null;
  #target: ReadTarget | null = null;
  #waiting = false;
  #yielding = false;
  /** Every body byte was read from the socket. */
  #ended = false;
  /** The connection went back (or was closed): once ended and no reader holds a chunk. */
  #released = false;
  #settled = false;
  #error: unknown = null;
  #resolve: (() => void) | null = null;
  #reject: ((err: unknown) => void) | null = null;
  #onSettled: (() => void) | null = null;
  /** Its place in the fair share (turn-share.ts), from pump() until settled. */
  #share: ShareSlot | null = null;

  constructor(conn: Connection, head: ResponseHead, leftover: Buffer, fairShare: boolean) {
    this.#conn = conn;
    this.#head = head;
    this.status = head.status;
    this.headers = head.headers;
    this.#fairShare = fairShare;
    // Bytes past the body (a server that runs on): the connection is not kept.
    if (leftover.byteLength > head.length) {
      leftover = leftover.subarray(0, head.length);
      this.#head = { ...head, keepAlive: false };
    }
    this.#leftover = leftover.byteLength > 0 ? leftover : null;
    this.#remaining = head.length - leftover.byteLength;
  }

  /**
   * Called once the head was handed over: false pauses the socket while body bytes wait in the
   * scratch buffer; a body-less answer releases the connection at once (it reads on, idle).
   */
  onHeadDelivered(): boolean {
    if (this.#remaining === 0 && this.#leftover === null) this.#endBody();
    return this.#ended;
  }

  /** The request's signal aborted: stop the body (or fail a pump still waiting on its reader). */
  abortWith(reason: unknown): void {
    if (this.#settled || this.#error !== null) return;
    if (!this.#ended) {
      this.#abort(reason);
      return;
    }
    this.#error = reason;
    this.#leftover = null;
    if (this.#take !== null) this.#finish(reason);
  }

  onSettled(fn: () => void): void {
    if (this.#settled) fn();
    else this.#onSettled = fn;
  }

  pump(take: TakeChunk, target?: ReadTarget): Promise<void> {
    if (this.#take !== null) return Promise.reject(new Error('the body is already being read'));
    // Ended before anyone read it (an abort between the head and the pump): settle at once.
    if (this.#settled) return this.#error === null ? Promise.resolve() : Promise.reject(this.#error);
    if (this.#fairShare && !this.#settled) {
      this.#share = shareStarted();
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#take = take;
      this.#target = target ?? null;
      if (this.#error !== null) {
        this.#finish(this.#error);
        return;
      }
      const leftover = this.#leftover;
      this.#leftover = null;
      if (leftover !== null) {
        const go = this.#deliver(leftover);
        // The reader took the scratch bytes synchronously: the connection may go idle now.
        if (this.#remaining === 0) this.#endBody();
        if (!go) return;
      }
      if (this.#ended) {
        if (!this.#waiting) this.#finish(null);
      } else if (!this.#waiting) this.#conn.resume();
    });
  }

  async dump(limit: number): Promise<void> {
    if (this.#take !== null || this.#head.length > limit) {
      this.destroy(new Error('the body was dropped'));
      return;
    }
    await this.pump(() => null).catch(() => undefined);
  }

  destroy(reason: Error): void {
    if (this.#ended) {
      // Not yet released (a reader held a chunk): closed instead, never kept.
      if (!this.#released) {
        this.#released = true;
        this.#conn.close();
      }
      this.#leftover = null;
      this.#finish(this.#take === null ? null : reason);
      return;
    }
    this.#conn.abandon(reason);
  }

  /** Where the next read lands: the reader's target when it is ready for one, else scratch. */
  region(): Uint8Array {
    let max = this.#remaining;
    // Nothing more to read: a later read is stray bytes (or the next answer, once released) and
    // goes to scratch; a zero-length buffer would fail that read with ENOBUFS.
    if (max === 0) return this.#conn.scratch;
    // Beside other bodies a read takes at most a turn's share (turn-share.ts keeps the rates even).
    if (this.#share !== null && sharing() && max > TURN_QUOTA) max = TURN_QUOTA;
    if (this.#target !== null && !this.#waiting && !this.#yielding && this.#error === null) {
      const t = this.#target();
      if (t !== null && t.byteLength >= Math.min(MIN_TARGET_BYTES, max))
        return t.byteLength > max ? t.subarray(0, max) : t;
    }
    const s = this.#conn.scratch;
    return max < s.byteLength ? s.subarray(0, max) : s;
  }

  /** One socket read of `n` bytes into `buf` (the region given): hand it over; false pauses the socket. */
  onBody(buf: Uint8Array, n: number): boolean {
    if (this.#take === null || this.#error !== null) {
      // Read while no reader may be (a region handed out before a pause): cannot happen unread.
      this.#conn.abandon(socketError('body bytes read with no reader'));
      return false;
    }
    this.#remaining -= n;
    const chunk = buf.byteLength === n && buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, n);
    const go = this.#deliver(chunk);
    if (this.#remaining === 0) {
      // Released: the connection reads on while idle (a close or stray bytes end it); still
      // held by a waiting reader: paused until it is released.
      this.#endBody();
      return this.#released;
    }
    // Every read counts toward the share, also one the reader makes wait (a write slot): else a
    // body whose reader often waited could be resumed and read again within one turn.
    if (this.#share?.counted(n) === true && !this.#yielding) {
      this.#yielding = true;
      this.#share.nextTurn(() => {
        this.#yielding = false;
        this.#resumeIfReady();
      });
      return false;
    }
    return go;
  }

  fail(err: unknown): void {
    if (this.#error !== null || this.#settled) return;
    this.#error = err ?? socketError('the request failed');
    if (this.#take !== null) this.#finish(this.#error);
  }

  /** Give `chunk` to the reader: true when the next may follow at once. */
  #deliver(chunk: Buffer): boolean {
    let wait: Promise<void> | null | false;
    try {
      wait = (this.#take as TakeChunk)(chunk);
    } catch (err) {
      this.#abort(err);
      return false;
    }
    if (wait === null) return true;
    if (wait === false) {
      this.#stop();
      return false;
    }
    this.#waiting = true;
    wait.then(
      () => {
        this.#waiting = false;
        if (this.#ended) {
          this.#release();
          this.#finish(null);
        } else this.#resumeIfReady();
      },
      (err: unknown) => {
        this.#waiting = false;
        if (this.#ended) this.#release();
        this.#abort(err);
      },
    );
    return false;
  }

  #resumeIfReady(): void {
    if (!this.#ended && !this.#waiting && !this.#yielding && this.#error === null && !this.#settled) {
      this.#conn.resume();
    }
  }

  /** Every body byte is read: the connection goes back (or closes); the pump ends once the reader is. */
  #endBody(): void {
    if (this.#ended) return;
    this.#ended = true;
    // A reader waiting (the limiter, a write slot) may still hold a chunk that lies in the
    // connection's scratch buffer: the connection goes back only once it let go, or the next
    // answer read into that buffer would be taken for this body's last bytes.
    if (!this.#waiting) this.#release();
    if (this.#take !== null && !this.#waiting && this.#error === null) this.#finish(null);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#conn.release(this.#head.keepAlive, this.#head.keepAliveSeconds);
  }

  #abort(err: unknown): void {
    if (this.#error !== null) return;
    this.#error = err;
    if (!this.#ended) this.#conn.abandon(err);
    this.#finish(err);
  }

  /** The reader wants no more: the pump resolves; the connection closes unless the body ended. */
  #stop(): void {
    if (this.#error !== null) return;
    this.#error = new Error('the rest of the body was not wanted');
    if (!this.#ended) this.#conn.abandon(this.#error);
    this.#finish(null);
  }

  #finish(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#share?.end();
    this.#onSettled?.();
    this.#onSettled = null;
    if (err === null) this.#resolve?.();
    else this.#reject?.(err);
  }
}
