import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import type { Clock } from '../core/index.ts';
import { type AuthResponder, parseChallenges } from './auth.ts';
import { classifyHttpStatus } from './failure-table.ts';
import { needsManualVerification, verifyPeer } from './tls-verify.ts';
import { TransferError } from './transfer-error.ts';
import { undici } from './undici-module.ts';

/**
 * undici connectors: TLS verified per the job's security flags (tls-verify.ts), and for https
 * targets behind a proxy a CONNECT tunnel written here, so the tunnel gets the same TLS checks
 * and can answer a proxy's Basic or Digest challenge.
 */

/** How a connector reaches the origin and checks its certificate. */
export interface ConnectorOptions {
  readonly securityFlags: number;
  readonly connectTimeoutMs: number;
  /** Tunnel through this proxy (https targets only). */
  readonly proxy: URL | null;
  readonly proxyAuth: AuthResponder | null;
  /** The proxy connect timeout runs on it; certificate dates are checked against its wall time. */
  readonly clock: Clock;
}

const MAX_PROXY_HEAD = 64 * 1024;

/** An undici connector: TLS checked per the flags; through a CONNECT tunnel when `proxy` is set. */
export function makeConnector(o: ConnectorOptions): buildConnector.connector {
  const manual = needsManualVerification(o.securityFlags);
  const base = undici().buildConnector({
    timeout: o.connectTimeoutMs,
    allowH2: false,
    // A resumed session carries no peer chain to check: no session cache when checking by hand.
    ...(manual ? { rejectUnauthorized: false, checkServerIdentity: () => undefined, maxCachedSessions: 0 } : {}),
  });
  const verified = (opts: buildConnector.Options, cb: buildConnector.Callback): void => {
    base(opts, (err, socket) => {
      if (err !== null || socket === null) return cb(err ?? new Error('connect failed'), null);
      if (manual && opts.protocol === 'https:') {
        const host = (opts.servername || opts.hostname).replace(/^\[|\]$/gu, '');
        const bad = verifyPeer(socket as TLSSocket, host, o.securityFlags, o.clock.wallMs());
        if (bad !== null) {
          socket.destroy();
          return cb(bad, null);
        }
      }
      cb(null, socket);
    });
  };
  const proxy = o.proxy;
  if (proxy === null) return verified;
  return (opts, cb) => {
    openTunnel(proxy, opts.hostname, opts.port || '443', o).then(
      (socket) => verified({ ...opts, httpSocket: socket }, cb),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}

async function openTunnel(proxy: URL, hostname: string, port: string, o: ConnectorOptions): Promise<Socket> {
  const authority = `${hostname}:${port}`;
  for (let challenge = 0; ; challenge++) {
    const socket = await connectToProxy(proxy, o.connectTimeoutMs, o.clock);
    const auth = o.proxyAuth?.header('CONNECT', authority) ?? null;
    socket.write(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth === null ? '' : `Proxy-Authorization: ${auth}\r\n`}\r\n`,
    );
    const head = await readHead(socket);
    if (head.status === 200) {
      if (head.rest.length > 0) socket.unshift(head.rest);
      return socket;
    }
    socket.destroy();
    if (head.status === 407 && challenge === 0 && o.proxyAuth?.accept(parseChallenges(head.proxyAuthenticate))) {
      continue;
    }
    throw new TransferError(classifyHttpStatus(head.status));
  }
}

function connectToProxy(proxy: URL, timeoutMs: number, clock: Clock): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
    const host = proxy.hostname.replace(/^\[|\]$/gu, '');
    const socket: Socket =
      proxy.protocol === 'https:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    const timer = clock.setTimer(timeoutMs, () => {
      socket.destroy(Object.assign(new Error('proxy connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    });
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      timer.cancel();
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      timer.cancel();
      reject(err);
    });
  });
}

function readHead(socket: Socket): Promise<{ status: number; proxyAuthenticate: string[]; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_PROXY_HEAD)
          done(Object.assign(new Error('proxy headers too large'), { code: 'UND_ERR_HEADERS_OVERFLOW' }));
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/u.exec(lines[0] ?? '')?.[1] ?? 0);
      const proxyAuthenticate = lines
        .slice(1)
        .filter((l) => /^proxy-authenticate:/iu.test(l))
        .map((l) => l.slice(l.indexOf(':') + 1).trim());
      done(null, { status, proxyAuthenticate, rest: buf.subarray(end + 4) });
    };
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(Object.assign(new Error('proxy closed the connection'), { code: 'ECONNRESET' }));
    const done = (err: Error | null, value?: { status: number; proxyAuthenticate: string[]; rest: Buffer }): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      // Stop flowing: the TLS layer takes the socket over from here.
      socket.pause();
      if (err !== null || value === undefined) reject(err);
      else resolve(value);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
