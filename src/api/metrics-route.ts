import type { Hono } from 'hono';

/** A registry's text exposition and its Content-Type (prom-client's `metrics()` and `contentType`). */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

/** GET /metrics: the Prometheus text format. */
export function mountMetrics(app: Hono, metrics: MetricsSource): void {
  app.get('/metrics', async () => {
    const text = await metrics.text();
    return new Response(text, { status: 200, headers: { 'content-type': metrics.contentType } });
  });
}
