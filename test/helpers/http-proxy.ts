import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { AuthChecker } from './http-auth.ts';

/**
 * A counting HTTP proxy on 127.0.0.1:0: forwards absolute-form requests (http targets) and
 * tunnels CONNECT (https targets), optionally demanding Basic or Digest proxy credentials.
 */
export interface CountingProxy {
  readonly url: string;
  /** Absolute-form requests and CONNECTs that were let through. */
  readonly forwarded: string[];
  readonly tunnels: string[];
  /** 407 answers sent. */
  challenges: number;
  close(): Promise<void>;
}

export async function startProxy(auth?: AuthChecker): Promise<CountingProxy> {
  const sockets = new Set<Socket>();
  const state: CountingProxy = {
    url: '',
    forwarded: [],
    tunnels: [],
    challenges: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const authorized = (req: IncomingMessage): boolean =>
    auth === undefined || auth.check(req.headers['proxy-authorization'], req.method ?? '', req.url ?? '');
  const server: Server = createServer((req, res) => {
    if (!authorized(req)) {
      state.challenges++;
      res.writeHead(407, { 'proxy-authenticate': auth?.challenge() ?? '', 'content-length': '0' }).end();
      return;
    }
    state.forwarded.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end();
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    if (!authorized(req)) {
      state.challenges++;
      client.end(
        `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${auth?.challenge()}\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    state.tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
