import type { Dispatcher } from 'undici';
import type { RawHeaders } from './content-range.ts';
import { type ShareSlot, shareStarted } from './turn-share.ts';

/**
 * What a body's reader does with one chunk, synchronously, as it comes off the socket: null to
 * take the next at once, a promise to pause the socket until it settles (a write slot, the rate
 * limiter), or false when it wants no more (the connection is closed, the pump resolves).
 * Throwing, or a rejected promise, stops the body with that error.
 */
export type TakeChunk = (chunk: Buffer) => Promise<void> | null | false;

/**
 * The free memory where the next body bytes would best land (the tail of a sink's write buffer),
 * or null. A chunk handed to `take` that starts exactly there needs no copy.
 */
export type ReadTarget = () => Uint8Array | null;

/** A response whose head arrived; its body is read with `pump` or dropped with `dump`/`destroy`. */
export interface DispatchedResponse {
  readonly status: number;
  readonly headers: RawHeaders;
  /**
   * Hand every body chunk to `take` (one call per socket read, no stream or promise in between);
   * resolves once the body ended and the last `take` settled, rejects on a socket error, an
   * abort, or `take`'s error. Once only. `target`, when given, offers the memory the next bytes
   * should be read into (the sink's write buffer: see plain-http.ts); a reader may ignore it.
   */
  pump(take: TakeChunk, target?: ReadTarget): Promise<void>;
  /** Read and drop up to `limit` bytes so the connection can be reused; a longer body closes it. Never rejects. */
  dump(limit: number): Promise<void>;
  /** Stop reading: the connection is closed unless the body already ended. */
  destroy(reason: Error): void;
}

/**
 * `dispatcher.dispatch()` with a handler that hands body chunks straight to the reader: undici's
 * `request()` pushes each chunk through a Readable, its async iterator and our generator — three
 * promise hops and a nextTick per 64 KiB, a third of bitsd's CPU on a big file. Resolves with the
 * response at its head (after 1xx), rejects when the request fails before it or `signal` aborts.
 */
export function dispatchRequest(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  fairShare = true,
): Promise<DispatchedResponse> {
  return new Promise((resolve, reject) => {
    const handler = new PumpHandler(signal, resolve, reject, fairShare);
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      handler.onResponseError(null, err as Error);
    }
  });
}

type Controller = Dispatcher.DispatchController;

/** Bytes held for a waiting reader before the socket is paused (a Readable's default). */
const QUEUE_HIGH_WATER = 64 * 1024;

/** The handler: head → resolve; body chunks → `take` (queued while paused); end/error → settle the pump. */
class PumpHandler implements Dispatcher.DispatchHandler, DispatchedResponse {
  status = 0;
  headers: RawHeaders = {};
  readonly #signal: AbortSignal;
  #resolveHead: ((r: DispatchedResponse) => void) | null;
  #rejectHead: ((err: unknown) => void) | null;
  #controller: Controller | null = null;
  #removeAbort: (() => void) | null = null;
  /** Chunks that arrived while no reader was attached or the reader was waiting, and their bytes. */
  #queue: Buffer[] = [];
  #queued = 0;
  /** Body bytes received, and the Content-Length (-1 when none). */
  #received = 0;
  #length = -1;
  #take: TakeChunk | null = null;
  #waiting = false;
  #ended = false;
  /** Set once: the error that ended the exchange (socket, abort, reader). */
  #error: unknown = null;
  #settled = false;
  #resolveBody: (() => void) | null = null;
  #rejectBody: ((err: unknown) => void) | null = null;
  /** Paused for the fair share until a later turn. */
  #yielding = false;
  /** Its place in the fair share (turn-share.ts), from pump() until settled. */
  #shareSlot: ShareSlot | null = null;
  /** Takes part in the turn's fair share (the segments of one file do not: see HttpSession). */
  readonly #fairShare: boolean;

  constructor(
    signal: AbortSignal,
    resolve: (r: DispatchedResponse) => void,
    reject: (err: unknown) => void,
    fairShare: boolean,
  ) {
    this.#fairShare = fairShare;
    this.#signal = signal;
    this.#resolveHead = resolve;
    this.#rejectHead = reject;
    if (!signal.aborted) {
      const onAbort = () => this.#abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
    }
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#error !== null) controller.abort(this.#error as Error);
    else if (this.#signal.aborted) controller.abort(this.#signal.reason);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, unknown>): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers as RawHeaders;
    const length = Number(headers['content-length'] ?? Number.NaN);
    if (Number.isSafeInteger(length) && headers['transfer-encoding'] === undefined) this.#length = length;
    // No reader yet: the first 64 KiB of the body are held here, the rest in the socket.
    const resolve = this.#resolveHead;
    this.#resolveHead = null;
    this.#rejectHead = null;
    resolve?.(this);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    // A resumed parser may report an empty body piece first: pausing on it would loop forever.
    if (this.#error !== null || chunk.byteLength === 0) return;
    this.#received += chunk.byteLength;
    this.#share(controller, chunk.byteLength);
    if (this.#take === null || this.#waiting || this.#queue.length > 0) {
      // Pausing is advisory (a closing socket still delivers what it holds): keep the rest.
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
      // Paused only past a high-water mark, and never on a body's last bytes: a parser paused
      // there has not seen the message end, and a keep-alive server that then closes the idle
      // connection would fail a complete response.
      if (this.#queued >= QUEUE_HIGH_WATER && this.#received !== this.#length) controller.pause();
      return;
    }
    this.#deliver(chunk);
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#take !== null && !this.#waiting && this.#queue.length === 0) this.#finish(null);
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    this.#fail(err);
  }

  pump(take: TakeChunk): Promise<void> {
    if (this.#take !== null) return Promise.reject(new Error('the body is already being read'));
    if (!this.#settled && this.#fairShare) {
      this.#shareSlot = shareStarted();
    }
    return new Promise((resolve, reject) => {
      this.#resolveBody = resolve;
      this.#rejectBody = reject;
      this.#take = take;
      if (this.#error !== null) this.#finish(this.#error);
      else this.#drain();
    });
  }

  async dump(limit: number): Promise<void> {
    if (this.#take !== null) {
      this.destroy(new Error('the body was dropped'));
      return;
    }
    let seen = 0;
    const tooLong = new Error('the body is longer than worth reading');
    await this.pump((chunk) => {
      seen += chunk.byteLength;
      if (seen > limit) throw tooLong;
      return null;
    }).catch(() => undefined);
  }

  destroy(reason: Error): void {
    if (this.#ended && this.#queue.length === 0 && !this.#waiting) {
      this.#finish(reason);
      return;
    }
    this.#abort(reason);
  }

  /** Count `bytes` in the fair share; past this turn's share (or too far ahead), pause until a later turn. */
  #share(controller: Controller, bytes: number): void {
    // Alone, a response is never paused (turn-share.ts counts its bytes only).
    // Never on a body's last bytes (see onResponseData): the parser must reach the message end.
    if (this.#shareSlot?.counted(bytes) !== true || this.#yielding || this.#received === this.#length) return;
    this.#yielding = true;
    controller.pause();
    this.#shareSlot.nextTurn(() => {
      this.#yielding = false;
      this.#drain();
    });
  }

  /** Give `chunk` to the reader; pause the socket while its promise is pending. */
  #deliver(chunk: Buffer): void {
    let wait: Promise<void> | null | false;
    try {
      wait = (this.#take as TakeChunk)(chunk);
    } catch (err) {
      this.#abort(err);
      return;
    }
    if (wait === null) return;
    if (wait === false) {
      this.#stop();
      return;
    }
    // The socket is not paused for this chunk, only for the next one should it come before the
    // reader is ready (as a Readable's high-water mark does): the parser so reaches the end of a
    // body it already holds, and a keep-alive server closing an idle connection is no error.
    this.#waiting = true;
    wait.then(
      () => {
        this.#waiting = false;
        this.#drain();
      },
      (err: unknown) => {
        this.#waiting = false;
        this.#abort(err);
      },
    );
  }

  /** Hand over what was queued, then finish or let the socket flow again. Never runs inside undici's parser. */
  #drain(): void {
    while (this.#error === null && !this.#waiting && this.#queue.length > 0) {
      const chunk = this.#queue.shift() as Buffer;
      this.#queued -= chunk.byteLength;
      this.#deliver(chunk);
    }
    if (this.#error !== null || this.#settled) return;
    if (!this.#ended) {
      if (this.#queued < QUEUE_HIGH_WATER && !this.#yielding) this.#controller?.resume();
    } else if (!this.#waiting && this.#queue.length === 0) this.#finish(null);
  }

  /** Stop the exchange with `err`: the connection is closed (undici then reports the error back here). */
  #abort(err: unknown): void {
    if (this.#error !== null) return;
    const controller = this.#controller;
    this.#fail(err);
    if (controller !== null && !this.#ended) controller.abort(err as Error);
  }

  /** The reader wants no more: resolve the pump and close the connection unless the body ended. */
  #stop(): void {
    const controller = this.#controller;
    const ended = this.#ended && this.#queue.length === 0;
    this.#error = new Error('the rest of the body was not wanted');
    this.#queue = [];
    this.#queued = 0;
    this.#finish(null);
    if (!ended) controller?.abort(this.#error as Error);
  }

  #fail(err: unknown): void {
    if (this.#error !== null) return;
    this.#error = err ?? new Error('the request failed');
    this.#queue = [];
    this.#queued = 0;
    if (this.#rejectHead !== null) {
      const reject = this.#rejectHead;
      this.#resolveHead = null;
      this.#rejectHead = null;
      this.#removeAbort?.();
      reject(this.#error);
      return;
    }
    if (this.#take !== null) this.#finish(this.#error);
  }

  #finish(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#shareSlot?.end();
    this.#removeAbort?.();
    this.#removeAbort = null;
    if (err === null) this.#resolveBody?.();
    else this.#rejectBody?.(err);
  }
}
