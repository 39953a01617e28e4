import net from 'node:net';
import tls from 'node:tls';
import { type BitsUploadHandler, createBitsUploadHandler } from './handler.ts';
import { listenMetrics, type MetricsListener } from './metrics-listener.ts';
import type { BitsUploadOptions } from './options.ts';

/** Options of the standalone server: the handler's, plus TLS material for HTTPS. */
export interface BitsUploadServerOptions extends BitsUploadOptions {
  /** PEM certificate chain and private key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /**
   * Serve Prometheus metrics at `http://host:port/metrics` on a listener of their own (host
   * default 127.0.0.1; port 0 = any free port). Absent: no metrics listener (the counters still
   * run: `handler.metrics`).
   */
  readonly metricsListen?: { readonly port?: number; readonly host?: string };
}

/** A running standalone upload server. */
export interface BitsUploadServer {
  readonly handler: BitsUploadHandler;
  readonly server: net.Server;
  /** Bound address (after listen). */
  readonly port: number;
  readonly host: string;
  /** `http(s)://host:port` */
  readonly url: string;
  /** `http://host:port/metrics` when `metricsListen` was given. */
  readonly metricsUrl: string | undefined;
  /** Stop accepting, drop open connections, stop the cleanup timer. */
  close(): Promise<void>;
}

/**
 * Start a standalone BITS upload server on `net.Server` (or `tls.Server`): every request goes
 * through our own HTTP/1.1 parser, because Node's rejects BITS_POST (§11).
 */
export async function startBitsUploadServer(
  options: BitsUploadServerOptions,
  listen: { port?: number; host?: string } = {},
): Promise<BitsUploadServer> {
  const handler = await createBitsUploadHandler(options);
  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, (socket) => handler.handleConnection(socket))
    : // Accepted paused: the handler adopts the socket to read bodies into its slabs.
      net.createServer({ pauseOnConnect: true }, (socket) => handler.handleConnection(socket));
  if (options.tls) server.on('tlsClientError', () => {});
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let metrics: MetricsListener | undefined;
  try {
    if (options.metricsListen !== undefined) metrics = await listenMetrics(handler.metrics, options.metricsListen);
  } catch (err) {
    server.close();
    await handler.close();
    throw err;
  }
  const address = server.address() as net.AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    handler,
    server,
    port: address.port,
    host: address.address,
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    metricsUrl: metrics?.url,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.close();
      await metrics?.close();
      await closed;
    },
  };
}
