import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as the receiver read it: headers and the raw body (what a signature covers). */
export interface ReceivedHook {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A real webhook receiver on 127.0.0.1:0. `answer` decides each reply from the request and its
 * position (0 = first); it may leave `res` unanswered to play a receiver that hangs.
 */
export async function startWebhookReceiver(
  answer: (hook: ReceivedHook, index: number, res: ServerResponse) => void = (_h, _i, res) => res.end(),
  port = 0,
) {
  const received: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hook = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(hook);
      answer(hook, received.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    received,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
