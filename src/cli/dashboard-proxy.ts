/**
 * `openbits dashboard`: the web dashboard on a loopback port, its API calls forwarded to bitsd's
 * Unix socket. Runs as the user (it reads the user's token and reaches the user's socket), so the
 * dashboard works with any bitsd, even one that serves no TCP port itself.
 */

import { Agent, fetch } from 'undici';
import { createDashboardApp } from '../api/dashboard-app.ts';
import { type DashboardFiles, loadDashboardFiles } from '../api/dashboard-assets.ts';
import { dashboardToken } from '../api/dashboard-token.ts';
import { listenTcp, type TcpListener } from '../api/tcp-listener.ts';

export interface DashboardProxyOptions {
  readonly socketPath: string;
  /** Folder of the token file (bitsd's state folder). */
  readonly stateDir: string;
  readonly host?: string;
  readonly port?: number;
  /** Default: the built files (or a build from the checkout). */
  readonly files?: DashboardFiles;
}

export interface DashboardProxy {
  /** The address to open: the origin with the token in the fragment. */
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

export async function startDashboardProxy(options: DashboardProxyOptions): Promise<DashboardProxy> {
  const token = dashboardToken(options.stateDir);
  // No body or header deadline: the event stream stays open as long as the page does.
  const agent = new Agent({ connect: { socketPath: options.socketPath }, headersTimeout: 30_000, bodyTimeout: 0 });
  const app = createDashboardApp({
    token,
    files: options.files ?? (await loadDashboardFiles()),
    forward: async (req) => {
      const url = new URL(req.url);
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const res = await fetch(`http://bitsd${url.pathname}${url.search}`, {
        method: req.method,
        headers: [...req.headers],
        ...(hasBody ? { body: Buffer.from(await req.arrayBuffer()) } : {}),
        signal: req.signal,
        dispatcher: agent,
      });
      // Rebuilt as the runtime's own Response for the server adapter; the body keeps streaming.
      const upstream = res.body as ReadableStream<Uint8Array> | null;
      return new Response(upstream === null ? null : endsQuietly(upstream, req.signal), {
        status: res.status,
        headers: [...res.headers],
      });
    },
  });
  let listener: TcpListener;
  try {
    listener = await listenTcp(
      app,
      { host: options.host ?? '127.0.0.1', port: options.port ?? 0 },
      { loopbackOnly: true, what: 'the dashboard' },
    );
  } catch (err) {
    await agent.close();
    throw err;
  }
  return {
    url: `${listener.origin}/#token=${token}`,
    origin: listener.origin,
    async close() {
      await listener.close();
      await agent.destroy();
    },
  };
}

/**
 * The body of a forwarded reply, which ends instead of failing when the browser went away (the
 * event stream of a closed tab): that abort is the normal end of a stream, not a server error.
 */
function endsQuietly(body: ReadableStream<Uint8Array>, signal: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        if (signal.aborted) controller.close();
        else controller.error(err);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
