import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { BitsError } from '../core/bits-error.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { normalizeJobId } from '../core/validate.ts';
import type { BitsManager, ManagerEvent } from './bits-manager.ts';
import { EventQueue } from './event-queue.ts';
import type { ApiLogger } from './server.ts';

/** A client that reads slower than events arrive is cut off past this backlog (it reconnects). */
const MAX_BACKLOG = 10_000;

/** Queued between events when the stream has been idle for heartbeatMs. */
const HEARTBEAT = Symbol('heartbeat');

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
}

/**
 * GET /v1/events[?jobId=]: server-sent events from manager.subscribe. The first message is
 * `ready` (the subscription is live from then on); each event is `event: <type>` with the
 * event as JSON in `data:`; an idle stream gets a `: heartbeat` comment every heartbeatMs.
 * Progress arrives already coalesced by the manager (≤ 10 per second per job).
 */
export function mountEvents(app: Hono, options: EventsOptions): EventStreams {
  const { manager, clock, logger, heartbeatMs } = options;
  const enders = new Set<() => void>();

  app.get('/v1/events', (c) => {
    const raw = c.req.query('jobId');
    // Events carry the canonical id (lower case, no braces); accept any spelling of it here.
    const jobId = raw === undefined ? undefined : normalizeJobId(raw);
    if (jobId === null) throw new BitsError('E_INVALIDARG', 'query parameter jobId is not a job id (GUID)');
    return streamSSE(c, async (stream) => {
      const queue = new EventQueue<ManagerEvent | typeof HEARTBEAT>();
      // Ending (server stop, client gone) still sends what is queued; an overflow drops it.
      const end = (): void => queue.end();
      let heartbeatQueued = false;
      let timer: TimerHandle | undefined;
      const beat = (): void => {
        if (!heartbeatQueued) {
          heartbeatQueued = true;
          queue.push(HEARTBEAT);
        }
        timer = clock.setTimer(heartbeatMs, beat);
      };
      const unsubscribe = manager.subscribe(
        (event) => {
          if (queue.size >= MAX_BACKLOG) {
            logger.warn({ jobId }, 'event stream reader too slow; closing it');
            queue.end({ drop: true });
            return;
          }
          queue.push(event);
        },
        jobId === undefined ? undefined : { jobId },
      );
      enders.add(end);
      stream.onAbort(end);
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ heartbeatMs }) });
        timer = clock.setTimer(heartbeatMs, beat);
        let seq = 0;
        for await (const item of queue) {
          if (stream.aborted) break;
          if (item === HEARTBEAT) {
            heartbeatQueued = false;
            await stream.write(': heartbeat\n\n');
            continue;
          }
          seq++;
          await stream.writeSSE({ event: item.type, data: JSON.stringify(item), id: String(seq) });
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
