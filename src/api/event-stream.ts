import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventFrames } from './event-frames.ts';
import { type EventStreams, type EventsOptions, eventsJobId, streamSet } from './events-route.ts';

/**
 * GET /v1/events on the socket's own node:http server: the frames of event-frames.ts written
 * to the response as they come (waiting for `drain` when the reader is slow), the same headers
 * as the Hono route. `serve` throws the BitsError of a bad `jobId` before anything is written.
 */
export function nodeEventStreams(options: EventsOptions & { readonly headers: () => Record<string, string> }): {
  readonly streams: EventStreams;
  serve(req: IncomingMessage, res: ServerResponse, query: Record<string, string>): void;
} {
  const streams = streamSet();
  return {
    streams,
    serve(req, res, query) {
      const jobId = eventsJobId(query.jobId);
      const frames = new EventFrames({ ...options, jobId, destroy: () => req.socket.destroy() });
      const end = (): void => frames.end();
      streams.add(end);
      res.once('close', end);
      res.writeHead(200, {
        ...options.headers(),
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      void (async () => {
        try {
          res.write(frames.ready);
          frames.start();
          for await (const frame of frames) {
            if (res.destroyed) break;
            if (!res.write(frame)) await drained(res);
          }
          if (!res.destroyed) res.end();
        } catch {
          res.destroy();
        } finally {
          frames.close();
          streams.delete(end);
        }
      })();
    },
  };
}

/** Until the reader took what was written, or the connection is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
