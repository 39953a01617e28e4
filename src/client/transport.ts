import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Operation, OperationName, OperationResult } from '../api/operation.ts';
import { checker, VERSION_HEADER } from '../api/operation.ts';
import type { DaemonStatus } from '../api/schemas.ts';
import { BitsError, type BitsErrorData } from '../core/bits-error.ts';
import { OPENBITS_VERSION } from '../core/version.ts';
import { UnixHttpClient, type UnixReply } from './unix-http.ts';

/** Connection codes that mean "nobody is listening": the request never reached a daemon. */
const NOT_RUNNING = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

/** True when an error says no daemon answered (safe to start one and retry). */
export function isNotRunning(err: unknown): boolean {
  return err instanceof BitsError && err.name === 'RPC_S_SERVER_UNAVAILABLE';
}

export interface TransportOptions {
  readonly socketPath: string;
  /** Longest wait for a reply's headers and between body chunks (default 30 s). */
  readonly timeoutMs?: number;
}

/** A streamed reply (the event stream). */
export interface StreamReply {
  readonly statusCode: number;
  readonly body: AsyncIterable<Buffer>;
  /** Reads the rest of the body as text. */
  text(): Promise<string>;
}

const checkStatus = checker('StatusReply', 'status reply', 'E_FAIL');

/** A JSON reply and whether it came from a daemon of this very version. */
interface Reply {
  readonly body: unknown;
  readonly sameVersion: boolean;
}

/**
 * HTTP+JSON over the daemon's Unix socket, spoken on node:net by unix-http.ts (not node:http,
 * whose client costs a CLI process more than the call itself, nor undici). Replies of
 * a daemon of another version are checked against the API schemas (TypeBox, loaded then); a
 * daemon of this version runs the same code, so its replies are trusted and a CLI call never
 * loads TypeBox. Failures
 * come back as BitsErrors: the daemon's envelope rebuilt, RPC_S_SERVER_UNAVAILABLE when nobody
 * listens, E_ACCESSDENIED when the socket belongs to someone else, or RPC_S_CALL_FAILED when
 * the connection broke mid-call.
 */
export class Transport {
  readonly socketPath: string;
  readonly #http: UnixHttpClient;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: TransportOptions) {
    this.socketPath = options.socketPath;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    // Idle connections are kept for as long as the server's Keep-Alive header allows, less a second.
    this.#http = new UnixHttpClient(options.socketPath);
  }

  /** Run one operation. */
  async call<K extends OperationName>(op: Operation<K>, args: unknown[]): Promise<OperationResult<K>> {
    const wire = (op.encode as (...a: unknown[]) => ReturnType<typeof op.encode>)(...args);
    let path = op.path;
    for (const [name, value] of Object.entries(wire.params ?? {})) {
      path = path.replace(`:${name}`, encodeURIComponent(value));
    }
    const query = new URLSearchParams(wire.query ?? {}).toString();
    if (query !== '') path += `?${query}`;
    const reply = await this.#exchange(
      op.method,
      path,
      wire.body === undefined ? undefined : JSON.stringify(wire.body),
    );
    // A method that answers nothing resolves to undefined (its result type is void).
    if (op.checkReply === undefined || op.decode === undefined) return undefined as OperationResult<K>;
    // A daemon of this very version runs the same schemas: its reply's shape is trusted.
    if (!reply.sameVersion) await op.checkReply(reply.body);
    return op.decode(reply.body as never);
  }

  /** GET /v1/status: which daemon answers. */
  async status(): Promise<DaemonStatus> {
    const reply = await this.#exchange('GET', '/v1/status', undefined);
    if (!reply.sameVersion) await checkStatus(reply.body);
    return reply.body as DaemonStatus;
  }

  /** One request; resolves with the parsed JSON reply (undefined for 204). */
  async request(method: string, path: string, body: string | undefined): Promise<unknown> {
    return (await this.#exchange(method, path, body)).body;
  }

  async #exchange(method: string, path: string, body: string | undefined): Promise<Reply> {
    const res = await this.#send(method, path, body, { keepAlive: true, timeoutMs: this.#timeoutMs });
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw connectionError(err, this.socketPath);
    }
    const sameVersion = res.headers[VERSION_HEADER] === OPENBITS_VERSION;
    if (res.statusCode === 204) return { body: undefined, sameVersion };
    const parsed = parseJson(text);
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      if (parsed === undefined) throw new BitsError('E_FAIL', `bitsd sent a reply that is not JSON (${path})`);
      return { body: parsed, sameVersion };
    }
    const error = (parsed as { error?: Partial<BitsErrorData> } | undefined)?.error;
    if (typeof error?.name === 'string' && typeof error.message === 'string') {
      throw BitsError.from({ ...error, name: error.name, message: error.message });
    }
    throw new BitsError('E_FAIL', `bitsd answered HTTP ${status} without an error envelope (${path})`);
  }

  /**
   * A long-lived GET (the event stream) on a connection of its own, ended by `signal`; a body
   * silent for `idleTimeoutMs` fails.
   */
  async stream(path: string, signal: AbortSignal, idleTimeoutMs: number): Promise<StreamReply> {
    const res = await this.#send('GET', path, undefined, {
      keepAlive: false,
      timeoutMs: idleTimeoutMs,
      signal,
      headers: { accept: 'text/event-stream' },
    });
    return { statusCode: res.statusCode, body: res.body, text: () => res.text() };
  }

  #send(
    method: string,
    path: string,
    body: string | undefined,
    options: { keepAlive: boolean; timeoutMs: number; signal?: AbortSignal; headers?: Record<string, string> },
  ): Promise<UnixReply> {
    if (this.#closed) {
      return Promise.reject(new BitsError('E_FAIL', 'this openbits client is closed; connect() again'));
    }
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.#http
      .request({
        method,
        path,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: options.timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        keepAlive: options.keepAlive,
      })
      .catch((err: unknown) => {
        throw connectionError(err, this.socketPath);
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#http.close();
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Who owns the socket (or, when its folder cannot be entered, the folder). */
function ownerOf(socketPath: string): number | undefined {
  for (const path of [socketPath, dirname(socketPath)]) {
    try {
      return lstatSync(path).uid;
    } catch {
      // not visible to us; try the folder
    }
  }
  return undefined;
}

/** A socket-level failure as a BitsError that says what probably happened. */
export function connectionError(err: unknown, socketPath: string): BitsError {
  if (err instanceof BitsError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (NOT_RUNNING.has(code)) {
    return new BitsError('RPC_S_SERVER_UNAVAILABLE', `bitsd is not running (nothing answers at ${socketPath})`, {
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    const owner = ownerOf(socketPath);
    const me = process.getuid?.();
    const whose =
      owner !== undefined && owner !== me ? `it belongs to uid ${owner}, not to you (uid ${me})` : 'no access';
    return new BitsError(
      'E_ACCESSDENIED',
      `permission denied on the bitsd socket ${socketPath} (${whose}); run your own bitsd with OPENBITS_HOME=DIR or XDG_RUNTIME_DIR`,
      { cause: err },
    );
  }
  const text = err instanceof Error ? err.message : String(err);
  return new BitsError(
    'RPC_S_CALL_FAILED',
    `the connection to bitsd failed during the call (${code || text}); the call may or may not have been applied`,
    { cause: err },
  );
}
