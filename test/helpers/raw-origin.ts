import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

/** A raw HTTP/1.1 origin on node:net: `answer` writes the response to each request head it reads. */
export interface RawOrigin {
  readonly server: Server;
  url(path: string): string;
  /** Connections accepted, and request heads read, so far. */
  connections(): number;
  requests(): number;
}

/** Start one on 127.0.0.1 (for answers no well-behaved server gives: malformed heads, odd framing). */
export async function rawOrigin(answer: (socket: Socket, n: number) => void): Promise<RawOrigin> {
  let connections = 0;
  let requests = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
        answer(socket, ++requests);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    connections: () => connections,
    requests: () => requests,
  };
}
