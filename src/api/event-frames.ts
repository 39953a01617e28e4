import type { Clock, TimerHandle } from '../core/clock.ts';
import type { BitsManager, ManagerEvent } from './bits-manager.ts';
import { EventQueue } from './event-queue.ts';
import type { ApiLogger } from './server.ts';

/**
 * A reader further behind than this many bytes of frames is cut off: its socket is destroyed (a
 * write to it may be waiting for a reader that stopped) and it reconnects. 300 readers that stop
 * reading hold at most this much each, plus the socket's own buffers.
 */
export const MAX_BACKLOG_BYTES = 64 * 1024;

/**
 * An event's JSON, made once for all the streams it goes to (the hub hands every subscriber the
 * same object), so a frame queued for each of 300 readers shares one text.
 */
const jsonOf = (() => {
  const texts = new WeakMap<ManagerEvent, string>();
  return (event: ManagerEvent): string => {
    let text = texts.get(event);
    if (text === undefined) {
      text = JSON.stringify(event);
      texts.set(event, text);
    }
    return text;
  };
})();

/** Queued between events when the stream has been idle for heartbeatMs. */
const HEARTBEAT = ': heartbeat\n\n';

export interface EventFramesOptions {
  readonly manager: BitsManager;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  readonly heartbeatMs: number;
  /** Backlog at which a reader is cut off (default MAX_BACKLOG_BYTES). */
  readonly maxBacklogBytes?: number;
  /** Only this job's events (canonical id), or all. */
  readonly jobId: string | undefined;
  /** Cut off: destroy the connection (a write may be waiting on a reader that stopped). */
  readonly destroy: () => void;
}

/**
 * One GET /v1/events stream's frames, whatever serves it (the socket's server, or the Hono app
 * for in-process fetches): the subscription, a queue bounded in bytes, heartbeats while idle,
 * and the cut-off of a reader that falls too far behind. Pull `ready` first, `start()` the
 * heartbeats, then iterate (each chunk is every frame queued by then, to be written at once:
 * a burst of events is one write, not one per frame); `close()` when done.
 */
export class EventFrames implements AsyncIterable<string> {
  readonly ready: string;
  readonly #o: EventFramesOptions;
  readonly #queue: EventQueue<string>;
  readonly #unsubscribe: () => void;
  #timer: TimerHandle | undefined;
  #cut = false;

  constructor(o: EventFramesOptions) {
    this.#o = o;
    this.ready = `event: ready\ndata: ${JSON.stringify({ heartbeatMs: o.heartbeatMs })}\n\n`;
    this.#queue = new EventQueue<string>({ maxBytes: o.maxBacklogBytes ?? MAX_BACKLOG_BYTES, sizeOf: (f) => f.length });
    let seq = 0;
    this.#unsubscribe = o.manager.subscribe(
      (event) => {
        seq++;
        if (!this.#queue.push(`event: ${event.type}\ndata: ${jsonOf(event)}\nid: ${seq}\n\n`)) this.#cutOff();
      },
      o.jobId === undefined ? undefined : { jobId: o.jobId },
    );
  }

  /** Heartbeats from now on (after `ready` went out). */
  start(): void {
    const beat = (): void => {
      if (this.#queue.size === 0) this.#queue.push(HEARTBEAT);
      this.#timer = this.#o.clock.setTimer(this.#o.heartbeatMs, beat);
    };
    this.#timer = this.#o.clock.setTimer(this.#o.heartbeatMs, beat);
  }

  /** Ending (server stop, client gone) still sends what is queued. */
  end(): void {
    this.#queue.end();
  }

  get cut(): boolean {
    return this.#cut;
  }

  close(): void {
    this.#unsubscribe();
    this.#timer?.cancel();
  }

  /** Chunks of frames: all those queued when the reader gets to them, joined (one write each). */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for await (const frame of this.#queue) {
      const more = this.#queue.takeAll();
      yield more.length === 0 ? frame : frame + more.join('');
    }
  }

  #cutOff(): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#o.logger.warn(
      { jobId: this.#o.jobId, backlogBytes: this.#queue.bytes },
      'event stream reader too slow; closing it',
    );
    this.#queue.end({ drop: true });
    this.#o.destroy();
  }
}
