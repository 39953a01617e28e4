import { Agent, type Dispatcher } from 'undici';
import type { Operation, OperationName, OperationResult } from '../api/operation.ts';
import { checker } from '../api/operation.ts';
import { type DaemonStatus, StatusReply } from '../api/schemas.ts';
import { BitsError, type BitsErrorData } from '../core/bits-error.ts';

/** Connection codes that mean "nobody is listening": the request never reached a daemon. */
const NOT_RUNNING = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES']);

/** True when an error says no daemon answered (safe to start one and retry). */
export function isNotRunning(err: unknown): boolean {
  return err instanceof BitsError && err.name === 'RPC_S_SERVER_UNAVAILABLE';
}

export interface TransportOptions {
  readonly socketPath: string;
  /** Longest wait for a reply's headers and between body chunks (default 30 s). */
  readonly timeoutMs?: number;
}

const checkStatus = checker(StatusReply, 'status reply', 'E_FAIL');

/**
 * HTTP+JSON over the daemon's Unix socket with a keep-alive undici Agent. Failures come back
 * as BitsErrors: the daemon's envelope rebuilt, or RPC_S_SERVER_UNAVAILABLE when nobody
 * listens, or RPC_S_CALL_FAILED when the connection broke mid-call.
 */
export class Transport {
  readonly socketPath: string;
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  constructor(options: TransportOptions) {
    this.socketPath = options.socketPath;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({
      connect: { socketPath: options.socketPath, timeout: 5_000 },
      // Shorter than the server's 30 s so the client never reuses a socket the server is closing.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 10_000,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  get dispatcher(): Dispatcher {
    return this.#agent;
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
    const reply = await this.request(op.method, path, wire.body === undefined ? undefined : JSON.stringify(wire.body));
    // A method that answers nothing resolves to undefined (its result type is void).
    if (op.checkReply === undefined || op.decode === undefined) return undefined as OperationResult<K>;
    op.checkReply(reply);
    return op.decode(reply as never);
  }

  /** GET /v1/status: which daemon answers. */
  async status(): Promise<DaemonStatus> {
    const reply = await this.request('GET', '/v1/status', undefined);
    checkStatus(reply);
    return reply as DaemonStatus;
  }

  /** One request; resolves with the parsed JSON reply (undefined for 204). */
  async request(method: string, path: string, body: string | undefined): Promise<unknown> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#agent.request({
        origin: 'http://bitsd',
        path,
        method: method as Dispatcher.HttpMethod,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body ?? null,
      });
    } catch (err) {
      throw connectionError(err, this.socketPath);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw connectionError(err, this.socketPath);
    }
    if (res.statusCode === 204) return undefined;
    const parsed = parseJson(text);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (parsed === undefined) throw new BitsError('E_FAIL', `bitsd sent a reply that is not JSON (${path})`);
      return parsed;
    }
    const error = (parsed as { error?: Partial<BitsErrorData> } | undefined)?.error;
    if (typeof error?.name === 'string' && typeof error.message === 'string') {
      throw BitsError.from({ ...error, name: error.name, message: error.message });
    }
    throw new BitsError('E_FAIL', `bitsd answered HTTP ${res.statusCode} without an error envelope (${path})`);
  }

  async close(): Promise<void> {
    await this.#agent.close();
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

/** A socket-level failure as a BitsError that says what probably happened. */
export function connectionError(err: unknown, socketPath: string): BitsError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
    return new BitsError('E_FAIL', 'this openbits client is closed; connect() again', { cause: err });
  }
  if (NOT_RUNNING.has(code)) {
    return new BitsError('RPC_S_SERVER_UNAVAILABLE', `bitsd is not running (nothing answers at ${socketPath})`, {
      cause: err,
    });
  }
  const text = err instanceof Error ? err.message : String(err);
  return new BitsError(
    'RPC_S_CALL_FAILED',
    `the connection to bitsd failed during the call (${code || text}); the call may or may not have been applied`,
    { cause: err },
  );
}
