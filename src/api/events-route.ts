import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { BitsError } from '../core/bits-error.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { normalizeJobId } from '../core/validate.ts';
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

/** Open event streams, so a shutting-down server can end them. */
export interface EventStreams {
  closeAll(): void;
  readonly size: number;
}

interface EventsOptions {
  readonly manager: BitsManager;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  readonly heartbeatMs: number;
  /** Backlog at which a reader is cut off (default MAX_BACKLOG_BYTES). */
  readonly maxBacklogBytes?: number;
}

/** The connection under a request served by @hono/node-server (none for an in-process fetch). */
function socketOf(c: Context): Socket | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
}

/**
 * GET /v1/events[?jobId=]: server-sent events from manager.subscribe. The first message is
 * `ready` (the subscription is live from then on); each event is `event: <type>` with the
 * event as JSON in `data:`; an idle stream gets a `: heartbeat` comment every heartbeatMs.
 * Progress arrives already coalesced by the manager (≤ 10 per second per job). Frames wait in a
 * queue bounded in bytes; a reader that falls that far behind is cut off, its socket destroyed.
 */
export function mountEvents(app: Hono, options: EventsOptions): EventStreams {
  const { manager, clock, logger, heartbeatMs } = options;
  const maxBytes = options.maxBacklogBytes ?? MAX_BACKLOG_BYTES;
  const enders = new Set<() => void>();

  app.get('/v1/events', (c) => {
    const raw = c.req.query('jobId');
    // Events carry the canonical id (lower case, no braces); accept any spelling of it here.
    const jobId = raw === undefined ? undefined : normalizeJobId(raw);
    if (jobId === null) throw new BitsError('E_INVALIDARG', 'query parameter jobId is not a job id (GUID)');
    return streamSSE(c, async (stream) => {
      const queue = new EventQueue<string>({ maxBytes, sizeOf: (frame) => frame.length });
      // Ending (server stop, client gone) still sends what is queued; a cut-off drops it.
      const end = (): void => queue.end();
      let timer: TimerHandle | undefined;
      const beat = (): void => {
        if (queue.size === 0) queue.push(HEARTBEAT);
        timer = clock.setTimer(heartbeatMs, beat);
      };
      let seq = 0;
      let cut = false;
      const cutOff = (): void => {
        if (cut) return;
        cut = true;
        logger.warn({ jobId, backlogBytes: queue.bytes }, 'event stream reader too slow; closing it');
        queue.end({ drop: true });
        // A write may be waiting on a reader that stopped: only destroying the socket ends it.
        socketOf(c)?.destroy();
        stream.abort();
      };
      const unsubscribe = manager.subscribe(
        (event) => {
          seq++;
          if (!queue.push(`event: ${event.type}\ndata: ${jsonOf(event)}\nid: ${seq}\n\n`)) cutOff();
        },
        jobId === undefined ? undefined : { jobId },
      );
      enders.add(end);
      stream.onAbort(end);
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ heartbeatMs }) });
        timer = clock.setTimer(heartbeatMs, beat);
        for await (const frame of queue) {
          if (stream.aborted) break;
          await stream.write(frame);
        }
      } finally {
        unsubscribe();
        timer?.cancel();
        enders.delete(end);
      }
    });
  });

  return {
    closeAll() {
      for (const end of [...enders]) end();
    },
    get size() {
      return enders.size;
    },
  };
}
