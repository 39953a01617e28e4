/**
 * bitsd's TCP listeners, both off unless the policy file names an address (read at start):
 * `metrics.listen` serves GET /metrics for a scraper (loopback unless an address says otherwise;
 * the numbers name no job and no file), `dashboard.listen` the web dashboard (loopback only, its
 * API calls need the user's token and go to the same API app as the socket's).
 */
import type { MetricsSource } from '../api/metrics-route.ts';
import type { ApiLogger } from '../api/server.ts';
import type { TcpListener } from '../api/tcp-listener.ts';

export interface WebListenerOptions {
  readonly metricsListen: string | null;
  readonly dashboardListen: string | null;
  readonly metrics: MetricsSource | undefined;
  /** The API, in-process. */
  readonly api: (request: Request) => Promise<Response>;
  /** Where the dashboard token lives. */
  readonly stateDir: string;
  readonly logger: ApiLogger;
}

export interface WebListeners {
  readonly metricsUrl: string | null;
  readonly dashboardUrl: string | null;
  close(): Promise<void>;
}

/**
 * Hono, its node adapter and the dashboard load only when a listener is configured: most
 * daemons have none, and a start should not pay for them.
 */
export async function startWebListeners(o: WebListenerOptions): Promise<WebListeners> {
  const open: TcpListener[] = [];
  if (o.metricsListen === null && o.dashboardListen === null) {
    return { metricsUrl: null, dashboardUrl: null, close: async () => undefined };
  }
  const { listenTcp, parseListen } = await import('../api/tcp-listener.ts');
  const closeAll = async (): Promise<void> => {
    await Promise.all(open.map((l) => l.close()));
  };
  try {
    let metricsUrl: string | null = null;
    if (o.metricsListen !== null && o.metrics !== undefined) {
      const [{ Hono }, { mountMetrics }] = await Promise.all([import('hono'), import('../api/metrics-route.ts')]);
      const app = new Hono();
      mountMetrics(app, o.metrics);
      app.notFound(() => new Response('metrics are at /metrics\n', { status: 404 }));
      const l = await listenTcp(app, parseListen(o.metricsListen), { loopbackOnly: false, what: 'metrics' });
      open.push(l);
      metricsUrl = `${l.origin}/metrics`;
      o.logger.info({ url: metricsUrl }, 'metrics listening');
    }
    let dashboardUrl: string | null = null;
    if (o.dashboardListen !== null) {
      const [{ createDashboardApp }, { loadDashboardFiles }, { dashboardToken }] = await Promise.all([
        import('../api/dashboard-app.ts'),
        import('../api/dashboard-assets.ts'),
        import('../api/dashboard-token.ts'),
      ]);
      const app = createDashboardApp({
        token: dashboardToken(o.stateDir),
        files: await loadDashboardFiles(),
        forward: o.api,
      });
      const l = await listenTcp(app, parseListen(o.dashboardListen), { loopbackOnly: true, what: 'the dashboard' });
      open.push(l);
      dashboardUrl = l.origin;
      o.logger.info(
        { url: dashboardUrl },
        'dashboard listening (bitsadmin /util /dashboard prints the address with the token)',
      );
    }
    return { metricsUrl, dashboardUrl, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
