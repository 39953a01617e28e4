import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { BitsError } from '../core/bits-error.ts';
import { isLoopbackHost } from '../core/loopback.ts';

export { parseListen } from './listen-address.ts';

/** A Hono app listening on TCP. */
export interface TcpListener {
  /** `http://host:port` */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve `app` over plain HTTP on `host:port` (port 0 = any free port). With `loopbackOnly`, an
 * address outside 127.0.0.0/8, ::1 and localhost is refused (E_INVALIDARG).
 */
export async function listenTcp(
  app: Hono,
  listen: { host: string; port: number },
  options: { loopbackOnly: boolean; what: string },
): Promise<TcpListener> {
  if (options.loopbackOnly && !isLoopbackHost(listen.host)) {
    throw new BitsError('E_INVALIDARG', `${options.what} listens only on a loopback address, not ${listen.host}`);
  }
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // event streams stay open
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
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
