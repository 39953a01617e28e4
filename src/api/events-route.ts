import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { BitsError } from '../core/bits-error.ts';
import type { Clock } from '../core/clock.ts';
import { normalizeJobId } from '../core/validate.ts';
import type { BitsManager } from './bits-manager.ts';
import { EventFrames } from './event-frames.ts';
import type { ApiLogger } from './server.ts';

export { MAX_BACKLOG_BYTES } from './event-frames.ts';

/** Open event streams, so a shutting-down server can end them. */
export interface EventStreams {
  closeAll(): void;
  readonly size: number;
}

export interface EventsOptions {
  readonly manager: BitsManager;
  readonly clock: Clock;
  readonly logger: ApiLogger;
  readonly heartbeatMs: number;
  /** Backlog at which a reader is cut off (default MAX_BACKLOG_BYTES). */
  readonly maxBacklogBytes?: number;
}

/** The stream's `jobId` query parameter: any spelling of a job id, canonical (E_INVALIDARG else). */
export function eventsJobId(raw: string | undefined): string | undefined {
  // Events carry the canonical id (lower case, no braces); accept any spelling of it here.
  const jobId = raw === undefined ? undefined : normalizeJobId(raw);
  if (jobId === null) throw new BitsError('E_INVALIDARG', 'query parameter jobId is not a job id (GUID)');
  return jobId;
}

/** A set of open streams' enders. */
export function streamSet(): EventStreams & { add(end: () => void): void; delete(end: () => void): void } {
  const enders = new Set<() => void>();
  return {
    add: (end) => enders.add(end),
    delete: (end) => enders.delete(end),
    closeAll() {
      for (const end of [...enders]) end();
    },
    get size() {
      return enders.size;
    },
  };
}

/** The connection under a request served by @hono/node-server (none for an in-process fetch). */
function socketOf(c: Context): Socket | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
}

/**
 * GET /v1/events[?jobId=] in the Hono app (the dashboard's in-process calls; the socket's own
 * server answers it on node:http, event-stream.ts): server-sent events from manager.subscribe.
 * The first message is `ready` (the subscription is live from then on); each event is
 * `event: <type>` with the event as JSON in `data:`; an idle stream gets a `: heartbeat`
 * comment every heartbeatMs (event-frames.ts).
 */
export function mountEvents(app: Hono, options: EventsOptions): EventStreams {
  const streams = streamSet();
  app.get('/v1/events', (c) => {
    const jobId = eventsJobId(c.req.query('jobId'));
    return streamSSE(c, async (stream) => {
      const frames = new EventFrames({
        ...options,
        jobId,
        destroy: () => {
          socketOf(c)?.destroy();
          stream.abort();
        },
      });
      const end = (): void => frames.end();
      streams.add(end);
      stream.onAbort(end);
      try {
        await stream.write(frames.ready);
        frames.start();
        for await (const frame of frames) {
          if (stream.aborted) break;
          await stream.write(frame);
        }
      } finally {
        frames.close();
        streams.delete(end);
      }
    });
  });
  return streams;
}
