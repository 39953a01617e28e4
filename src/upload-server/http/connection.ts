import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { SlabReader } from './receive-slabs.ts';
import { HeadError, type HeadLimits, parseRequestHead, type RequestHead } from './request-head.ts';
import { ResponseWriter } from './response-writer.ts';
import { BodyReader, ConnectionClosedError, SocketInput } from './socket-input.ts';

/** One parsed request as the router sees it. */
export interface IncomingRequest {
  readonly head: RequestHead;
  readonly body: BodyReader;
  readonly remoteAddress: string;
  /** Same number for every request of one connection (connection-oriented auth: NTLM, Negotiate). */
  readonly connectionId: number;
  /** True on a TLS connection. */
  readonly secure: boolean;
  /** Stop the idle timeout until the next request (the server, not the peer, is busy). */
  suspendIdleTimeout(): void;
}

/** What a router does with a request: answered (by writing `res`), or hand the connection off. */
export type RouteResult = 'done' | 'handoff';

export type Router = (req: IncomingRequest, res: ResponseWriter) => Promise<RouteResult>;

/** Called with the socket (request bytes put back in it) when the router hands a connection off. */
export type ConnectionFallback = (socket: Duplex) => void;

export interface ConnectionOptions {
  readonly router: Router;
  readonly clock: Clock;
  readonly limits: HeadLimits;
  /** No byte received for this long while waiting for input → the connection is dropped. */
  readonly idleTimeoutMs: number;
  /** A request head must be complete within this long of its first byte (slowloris). */
  readonly headersTimeoutMs: number;
  /** Bytes of an unread body the server still reads and drops to keep a connection alive. */
  readonly maxDiscard: number;
  readonly fallback?: ConnectionFallback | undefined;
  readonly onError?: ((err: unknown) => void) | undefined;
}

const INPUT_HIGH_WATER = 1024 * 1024;
const LINGER_MS = 5000;
let connectionCount = 0;
const HEAD_ERROR_HEADERS = [['Content-Type', 'text/plain']] as const;

/**
 * Serve HTTP/1.1 requests on one socket, one at a time (BITS keeps one request outstanding,
 * §1), with keep-alive, until the peer closes, an error ends it, or the router hands it off.
 * `slabs`: the socket was adopted to read through it (receive-slabs.ts).
 */
export async function serveConnection(
  socket: Duplex & { remoteAddress?: string },
  opts: ConnectionOptions,
  slabs?: SlabReader,
) {
  const connectionId = ++connectionCount;
  const secure = 'encrypted' in socket && socket.encrypted === true;
  const watchdog = new IdleWatchdog(opts.clock, opts.idleTimeoutMs, () => socket.destroy());
  const input = new SocketInput(socket, INPUT_HIGH_WATER, () => watchdog.touch(), slabs);
  socket.on('error', () => {
    // A reset from the peer ends the loop through 'close'; nothing else to do.
  });
  let headTimer: TimerHandle | undefined;
  const clearHeadTimer = () => {
    headTimer?.cancel();
    headTimer = undefined;
  };
  try {
    for (;;) {
      watchdog.arm();
      let raw: Buffer | undefined;
      try {
        raw = await input.readHead(opts.limits, () => {
          headTimer = opts.clock.setTimer(opts.headersTimeoutMs, () => socket.destroy());
        });
      } catch (err) {
        if (err instanceof HeadError) await answerAndClose(socket, input, opts.clock, err);
        else socket.destroy();
        return;
      } finally {
        clearHeadTimer();
      }
      if (raw === undefined) {
        socket.end();
        return;
      }
      let head: RequestHead;
      try {
        head = parseRequestHead(raw, opts.limits);
      } catch (err) {
        if (err instanceof HeadError) await answerAndClose(socket, input, opts.clock, err);
        else socket.destroy();
        return;
      }
      // curl and other generic clients wait for `100 Continue` before a large body; it is sent
      // only once the handler actually reads the body (never after an early final answer).
      const expectsContinue =
        head.minorVersion === 1 && head.headers.get('expect')?.[0]?.toLowerCase() === '100-continue';
      const body = new BodyReader(
        input,
        head.contentLength,
        expectsContinue ? () => socket.write('HTTP/1.1 100 Continue\r\n\r\n') : undefined,
      );
      const res = new ResponseWriter(socket, opts.clock, () => watchdog.touch());
      res.close = !head.keepAlive;
      const req: IncomingRequest = {
        head,
        body,
        remoteAddress: socket.remoteAddress ?? '',
        connectionId,
        secure,
        suspendIdleTimeout: () => watchdog.disarm(),
      };
      const result = await opts.router(req, res);
      if (result === 'handoff') {
        watchdog.disarm();
        handOff(socket, input, raw, opts.fallback);
        return;
      }
      if (!res.sent) throw new Error('router returned without answering');
      if (!res.close && body.remaining > 0) {
        // A client still waiting for 100 Continue may never send the body: close instead.
        if (body.remaining <= opts.maxDiscard && !body.awaitingContinue) await body.discard();
        else res.close = true;
      }
      if (res.close) {
        lingerClose(socket, input, opts.clock);
        return;
      }
    }
  } catch (err) {
    // A peer that vanished mid-request (or mid-response) is normal, not a server fault.
    if (!(err instanceof ConnectionClosedError) && !socket.destroyed) opts.onError?.(err);
    socket.destroy();
  } finally {
    watchdog.disarm();
    clearHeadTimer();
  }
}

/** Put the unread bytes back and give the socket to another HTTP server. */
function handOff(socket: Duplex, input: SocketInput, raw: Buffer, fallback: ConnectionFallback | undefined) {
  socket.pause();
  input.detach();
  const rest = input.drain();
  if (fallback === undefined) {
    socket.destroy();
    return;
  }
  socket.unshift(Buffer.concat([raw, rest]));
  fallback(socket);
}

async function answerAndClose(socket: Duplex, input: SocketInput, clock: Clock, err: HeadError): Promise<void> {
  input.detach();
  input.drain();
  const res = new ResponseWriter(socket, clock);
  res.close = true;
  try {
    await res.send(err.status, HEAD_ERROR_HEADERS, Buffer.from(`${err.message}\n`));
  } catch {
    // peer already gone
  }
  lingerAfterEnd(socket, clock);
}

function lingerAfterEnd(socket: Duplex, clock: Clock): void {
  socket.on('data', () => {});
  socket.end();
  socket.resume();
  const timer = clock.setTimer(LINGER_MS, () => socket.destroy());
  socket.once('close', () => timer.cancel());
}

/**
 * End our side but keep reading (and dropping) what the peer still sends, so the kernel does
 * not answer unread bytes with a RST that could destroy the response before the client reads it.
 */
function lingerClose(socket: Duplex, input: SocketInput, clock: Clock): void {
  input.detach();
  input.drain();
  lingerAfterEnd(socket, clock);
}

/** Drops the connection when no byte arrives for `ms` while armed (cheap: one timer at a time). */
class IdleWatchdog {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #expire: () => void;
  #armed = false;
  #last = 0;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, ms: number, expire: () => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#expire = expire;
  }

  touch(): void {
    this.#last = this.#clock.monotonicMs();
  }

  arm(): void {
    this.#armed = true;
    this.touch();
    if (this.#timer === undefined) this.#schedule(this.#ms);
  }

  disarm(): void {
    this.#armed = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(delay: number): void {
    this.#timer = this.#clock.setTimer(delay, () => {
      this.#timer = undefined;
      if (!this.#armed) return;
      const idle = this.#clock.monotonicMs() - this.#last;
      if (idle >= this.#ms) this.#expire();
      else this.#schedule(this.#ms - idle);
    });
  }
}
