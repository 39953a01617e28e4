import { Hono } from 'hono';
import { type MetricsSource, mountMetrics } from '../api/metrics-route.ts';
import { listenTcp, parseListen } from '../api/tcp-listener.ts';
import type { FromRelay, ToRelay } from './metrics-relay.ts';

/** A scrape root does not answer within this fails with 503 rather than hanging the scraper. */
const SCRAPE_TIMEOUT_MS = 10_000;

function send(message: FromRelay): void {
  process.send?.(message);
}

/**
 * The metrics relay of `bitsd --system` (bin/openbits-worker.js starts it once it runs as
 * nobody): it serves `metrics.listen` over TCP and asks root for the text of each scrape over
 * the IPC channel, so the HTTP a scraper sends is parsed by an unprivileged process.
 */
export async function runMetricsRelay(): Promise<void> {
  const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let next = 0;
  const source: MetricsSource = {
    contentType: process.env.OPENBITS_METRICS_CONTENT_TYPE ?? 'text/plain; version=0.0.4; charset=utf-8',
    text: () =>
      new Promise<string>((resolve, reject) => {
        const id = next++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('bitsd did not answer the scrape'));
        }, SCRAPE_TIMEOUT_MS);
        pending.set(id, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        send({ t: 'scrape', id });
      }),
  };
  process.on('message', (message: ToRelay) => {
    if (message.t !== 'metrics') return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    waiting?.resolve(message.text);
  });
  // Root gone (stopped, killed): so is the relay.
  process.on('disconnect', () => process.exit(0));
  const app = new Hono();
  mountMetrics(app, source);
  app.onError(() => new Response('bitsd did not answer\n', { status: 503 }));
  app.notFound(() => new Response('metrics are at /metrics\n', { status: 404 }));
  try {
    const listener = await listenTcp(app, parseListen(process.env.OPENBITS_METRICS_LISTEN ?? ''), {
      loopbackOnly: false,
      what: 'metrics',
    });
    send({ t: 'listening', origin: listener.origin });
  } catch (err) {
    send({ t: 'failed', message: (err as Error).message });
    process.exit(1);
  }
}
