import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import type { Clock, Credentials } from '../../core/index.ts';
import { type AckFields, BITS_HEADERS, BITS_POST, type PacketType, parseAck } from '../../core/upload-protocol.ts';
import { AuthResponder, parseChallenges } from '../auth.ts';
import { parseRetryAfter } from '../failure-table.ts';
import { PhaseTimer } from '../phase-timer.ts';
import { selectProxy } from '../proxy.ts';
import { abortError } from '../transfer-error.ts';
import { uploadAgentFor } from './bits-agent.ts';
import { DEFAULT_UPLOAD_USER_AGENT, type UploadOptions } from './upload-request.ts';

/**
 * One BITS_POST packet and its Ack (bits-upload-protocol.md §2, §4): Windows header casing,
 * `Content-Length` always (0 without a body), `Connection: Keep-Alive`, one request at a time,
 * 401/407 answered once with the job's credentials, the request-send (2 min) and response (5 min)
 * timers of [MC-BUP] §3.1.2 run on the injected Clock.
 */

/** Defaults of [MC-BUP] §3.1.2. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2 * 60_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** Ack bodies are empty; an error page bigger than this is not read (the connection is dropped). */
const MAX_ACK_BODY = 64 * 1024;

/** Headers only the engine sets; custom headers with these names are not sent. */
const OWN_HEADERS = new Set(
  [
    'accept',
    'authorization',
    'connection',
    'content-length',
    'content-name',
    'content-range',
    'content-encoding',
    'host',
    'proxy-authorization',
    'transfer-encoding',
    'user-agent',
    ...Object.values(BITS_HEADERS),
  ].map((h) => h.toLowerCase()),
);

/** A fragment body: `length` bytes produced chunk by chunk (re-creatable for an auth retry). */
export interface PacketBody {
  readonly length: number;
  chunks(): AsyncIterable<Buffer>;
  /** Called once the socket no longer needs `chunk` (its write finished or failed): reusable. */
  done?(chunk: Buffer): void;
}

export interface PacketAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly ack: AckFields;
  readonly retryAfterMs: number | null;
}

/** The packets of one upload call: shared auth state, options and timers. */
export class PacketExchange {
  readonly #options: UploadOptions;
  readonly #clock: Clock;
  readonly #signal: AbortSignal;
  readonly #serverAuth: AuthResponder;
  readonly #proxyAuth: AuthResponder;
  readonly #credentials: readonly Credentials[];

  constructor(options: UploadOptions, clock: Clock, signal: AbortSignal) {
    this.#options = options;
    this.#clock = clock;
    this.#signal = signal;
    // The store moved URL userinfo into the job's credentials (the URL sent never carries any).
    const creds = options.credentials;
    this.#credentials = creds;
    this.#serverAuth = new AuthResponder('SERVER', creds);
    this.#proxyAuth = new AuthResponder('PROXY', creds);
  }

  /**
   * Send `packet` to `url` with the BITS headers in `bits` (in wire order) and an optional body;
   * resolves with the first answer that is not an auth challenge we can still answer.
   */
  async send(
    packet: PacketType,
    url: URL,
    bits: ReadonlyArray<readonly [string, string]>,
    body: PacketBody | null,
  ): Promise<PacketAnswer> {
    let serverChallenges = 0;
    let proxyChallenges = 0;
    for (let stale = 0; ; ) {
      let answer: PacketAnswer;
      try {
        answer = await this.#once(packet, url, bits, body);
      } catch (err) {
        // A keep-alive socket the server closed while it sat idle fails at once: Node's
        // documented race (`req.reusedSocket`). Resend once on a fresh connection; any other
        // network failure ends the attempt (Windows suspends and resumes with a Ping, §9.3).
        if (stale++ === 0 && isStaleSocketError(err) && !this.#signal.aborted) continue;
        throw err;
      }
      if (answer.status === 401 && serverChallenges++ === 0) {
        if (this.#serverAuth.accept(parseChallenges(values(answer.headers['www-authenticate'])))) continue;
      }
      if (answer.status === 407 && proxyChallenges++ === 0) {
        if (this.#proxyAuth.accept(parseChallenges(values(answer.headers['proxy-authenticate'])))) continue;
      }
      return answer;
    }
  }

  async #once(
    packet: PacketType,
    url: URL,
    bits: ReadonlyArray<readonly [string, string]>,
    body: PacketBody | null,
  ): Promise<PacketAnswer> {
    if (this.#signal.aborted) throw abortError(this.#signal);
    const proxy = selectProxy(this.#options.proxy, url);
    const kind = proxy === null ? 'direct' : url.protocol === 'https:' ? 'tunnel' : 'forward';
    const path = `${url.pathname}${url.search}`;
    const headers: Record<string, string> = { Accept: '*/*', 'BITS-Packet-Type': packet };
    for (const [name, value] of bits) headers[name] = value;
    for (const [name, value] of this.#options.customHeaders) {
      if (!OWN_HEADERS.has(name.toLowerCase())) headers[name] = value;
    }
    headers['User-Agent'] = this.#options.userAgent ?? DEFAULT_UPLOAD_USER_AGENT;
    const auth = this.#serverAuth.header(BITS_POST, path);
    if (auth !== null) headers.Authorization = auth;
    if (kind === 'forward') {
      const pa = this.#proxyAuth.header(BITS_POST, url.href);
      if (pa !== null) headers['Proxy-Authorization'] = pa;
    }
    headers.Host = url.host;
    headers['Content-Length'] = String(body?.length ?? 0);
    headers.Connection = 'Keep-Alive';
    const to = kind === 'forward' && proxy !== null ? proxy : url;
    const agent = uploadAgentFor({
      kind,
      protocol: to.protocol === 'https:' ? 'https:' : 'http:',
      proxy,
      securityFlags: this.#options.securityFlags,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      proxyCredentials: this.#credentials.filter((c) => c.target === 'PROXY'),
    });
    const req = request({
      agent,
      host: to.hostname.replace(/^\[|\]$/g, ''),
      port: to.port || (to.protocol === 'https:' ? 443 : 80),
      method: BITS_POST,
      path: kind === 'forward' ? url.href : path,
      headers,
      setHost: false,
    });
    return this.#exchange(req, body);
  }

  #exchange(req: ClientRequest, body: PacketBody | null): Promise<PacketAnswer> {
    const clock = this.#clock;
    const signal = this.#signal;
    const requestMs = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const responseMs = this.#options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    return new Promise<PacketAnswer>((resolve, reject) => {
      let settled = false;
      // Covers connecting and sending; classified like undici's connect timeout (ERROR_INTERNET_TIMEOUT).
      let sendTimer: PhaseTimer | null = new PhaseTimer(clock, requestMs, 'UND_ERR_CONNECT_TIMEOUT', (e) =>
        req.destroy(e),
      );
      let responseTimer: PhaseTimer | null = null;
      const stopTimers = (): void => {
        sendTimer?.cancel();
        responseTimer?.cancel();
        sendTimer = null;
        responseTimer = null;
      };
      const onAbort = (): void => {
        req.destroy(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (err: unknown, answer?: PacketAnswer): void => {
        if (settled) return;
        settled = true;
        stopTimers();
        signal.removeEventListener('abort', onAbort);
        if (answer !== undefined) resolve(answer);
        else reject(signal.aborted ? abortError(signal) : err);
      };
      req.on('error', (err) => finish(markStale(req, err, clock)));
      req.on('response', (res: IncomingMessage) => {
        stopTimers();
        const early = !req.writableFinished;
        readAck(res, clock).then(
          (answer) => {
            stampIdle(req, clock);
            // The server answered before taking the whole body (413, 401…): the connection
            // cannot carry another request.
            if (early) req.destroy();
            finish(null, answer);
          },
          (err: unknown) => finish(err),
        );
      });
      const startResponseTimer = (): void => {
        sendTimer?.cancel();
        sendTimer = null;
        if (!settled) {
          responseTimer = new PhaseTimer(clock, responseMs, 'UND_ERR_HEADERS_TIMEOUT', (e) => req.destroy(e));
        }
      };
      if (body === null) {
        req.end(startResponseTimer);
        return;
      }
      writeBody(req, body, () => {
        sendTimer?.touch();
        return settled || req.destroyed;
      }).then(
        () => {
          if (!settled && !req.destroyed) req.end(startResponseTimer);
        },
        (err: unknown) => {
          req.destroy(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}

async function writeBody(req: ClientRequest, body: PacketBody, progress: () => boolean): Promise<void> {
  for await (const chunk of body.chunks()) {
    if (progress()) return;
    // The write callback runs once the socket is done with the chunk (written, or failed on a
    // destroyed request): only then may the body reuse its memory.
    const written = body.done === undefined ? undefined : () => body.done?.(chunk);
    if (!req.write(chunk, written)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          req.off('drain', done);
          req.off('close', done);
          resolve();
        };
        req.on('drain', done);
        req.on('close', done);
      });
    }
  }
}

async function readAck(res: IncomingMessage, clock: Clock): Promise<PacketAnswer> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > MAX_ACK_BODY) res.destroy();
  else {
    let read = 0;
    for await (const chunk of res) {
      read += (chunk as Buffer).length;
      if (read > MAX_ACK_BODY) {
        res.destroy();
        break;
      }
    }
  }
  const headers = res.headers;
  return {
    status: res.statusCode ?? 0,
    headers,
    ack: parseAck(headers),
    retryAfterMs: parseRetryAfter(values(headers['retry-after'])[0] ?? null, clock.wallMs()),
  };
}

/** A socket idle at least this long may have been closed by the server unseen (stale). */
const STALE_IDLE_MS = 1_000;
const IDLE_SINCE = Symbol('bitsIdleSince');
const STALE = Symbol('bitsStaleSocket');

type StampedSocket = { [IDLE_SINCE]?: number };

/** Remember when the socket went back to the pool (on the injected clock). */
function stampIdle(req: ClientRequest, clock: Clock): void {
  const socket = req.socket as (typeof req.socket & StampedSocket) | null;
  if (socket !== null) socket[IDLE_SINCE] = clock.monotonicMs();
}

/** Tag a reset/EPIPE on a socket that was reused after sitting idle: the stale-socket race. */
function markStale(req: ClientRequest, err: Error, clock: Clock): Error {
  const socket = req.socket as (typeof req.socket & StampedSocket) | null;
  const code = (err as NodeJS.ErrnoException).code;
  const since = socket?.[IDLE_SINCE];
  if (
    req.reusedSocket &&
    (code === 'ECONNRESET' || code === 'EPIPE') &&
    since !== undefined &&
    clock.monotonicMs() - since >= STALE_IDLE_MS
  ) {
    Object.defineProperty(err, STALE, { value: true });
  }
  return err;
}

function isStaleSocketError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [STALE]?: boolean })[STALE] === true;
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
