import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { BitsError } from '../core/bits-error.ts';
import { isLoopbackHost } from '../core/loopback.ts';

/** A listening dashboard. */
export interface DashboardListener {
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve the dashboard app on a loopback address (default 127.0.0.1, port 0 = any free port).
 * Any other address is refused: the dashboard is a local tool, plain HTTP, guarded by a token.
 */
export async function listenDashboard(app: Hono, listen: { host?: string; port?: number }): Promise<DashboardListener> {
  const host = listen.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new BitsError('E_INVALIDARG', `the dashboard listens only on a loopback address, not ${host}`);
  }
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // event streams stay open
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    origin: `http://${shown}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
