import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1:0 in front of a server that cuts each connection (RST) after a
 * byte budget, from a list consumed one connection at a time (Infinity = never cut).
 */
export interface CuttingProxy {
  readonly port: number;
  url(path: string): string;
  /** Connections cut so far. */
  cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(targetPort: number, budgets: number[]): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  const state = {
    port: 0,
    cuts: 0,
    url: (path: string) => `http://127.0.0.1:${state.port}${path}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((client) => {
    const budget = budgets.shift() ?? Number.POSITIVE_INFINITY;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let sent = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (sent + chunk.length <= budget) {
        sent += chunk.length;
        if (!client.write(chunk)) upstream.pause();
        return;
      }
      client.write(chunk.subarray(0, budget - sent), () => {
        state.cuts++;
        client.resetAndDestroy();
        upstream.destroy();
      });
      sent = budget;
      upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    upstream.on('end', () => client.end());
    client.on('close', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as AddressInfo).port;
  return state;
}
