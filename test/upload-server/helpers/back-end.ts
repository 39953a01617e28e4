import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One notification as the back-end application received it. */
export interface ReceivedNotification {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type BackEndReply = (n: ReceivedNotification, res: http.ServerResponse) => unknown;

/** A small server application on 127.0.0.1:0 that records notifications and answers them. */
export async function startBackEnd(reply: BackEndReply) {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(n);
      Promise.resolve(reply(n, res)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    received,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
