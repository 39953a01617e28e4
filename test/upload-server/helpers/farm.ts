import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BITS_PROTOCOL_GUID } from '../../../src/core/upload-protocol.ts';
import { type Nginx, startNginx } from '../../helpers/nginx.ts';
import { type ServerProcess, startServerProcess } from './server-process.ts';

/**
 * An upload-server farm on this machine: N `bits-upload-server` processes on loopback ports,
 * one shared upload root (the "shared storage"), sessions in one PostgreSQL database, and nginx
 * as a round-robin load balancer forwarding BITS_POST, logging which instance took each packet.
 */
export interface Farm {
  readonly root: string;
  readonly instances: ServerProcess[];
  readonly nginx: Nginx;
  /** `http://127.0.0.1:<nginx port>` */
  readonly url: string;
  /** Access log lines: `<session id or -> <upstream address> <status>`. */
  log(): Promise<Array<{ session: string; upstream: string; status: number }>>;
  /** Start instance `i` again (after a kill) on its old port. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFarm(options: {
  readonly instances: number;
  readonly databaseUrl: string;
  readonly args?: readonly string[];
}): Promise<Farm> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-farm-'));
  const root = path.join(base, 'root');
  await fs.mkdir(root);
  const argsFor = (port: number) => [
    '--root',
    root,
    '--anonymous',
    '--database-url',
    options.databaseUrl,
    '--database-pool-size',
    '8',
    ...(options.args ?? []),
    ...(port === 0 ? [] : ['--port', String(port)]),
  ];
  const instances: ServerProcess[] = [];
  try {
    for (let i = 0; i < options.instances; i++) instances.push(await startServerProcess(argsFor(0)));
  } catch (err) {
    for (const p of instances) p.child.kill('SIGKILL');
    throw err;
  }
  const accessLog = path.join(base, 'access.log');
  const nginx = await startNginx({
    http: `
  log_format farm '$http_bits_session_id $upstream_addr $status';
  upstream bits { ${instances.map((p) => `server 127.0.0.1:${p.port} max_fails=0;`).join(' ')} keepalive 16; }`,
    locations: `
    location / {
      access_log ${accessLog} farm;
      client_max_body_size 0;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout;
      proxy_pass http://bits;
    }`,
  });
  return {
    root,
    instances,
    nginx,
    url: `http://127.0.0.1:${nginx.port}`,
    async log() {
      const text = await fs.readFile(accessLog, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [session = '-', upstream = '-', status = '0'] = l.split(' ');
          return { session, upstream, status: Number(status) };
        });
    },
    async restart(i) {
      const old = instances[i];
      if (old === undefined) throw new Error(`no instance ${i}`);
      instances[i] = await startServerProcess(argsFor(old.port));
    },
    async stop() {
      await nginx.stop();
      for (const p of instances) {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGTERM');
          await p.exited;
        }
      }
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** One BITS packet over node:http (which sends BITS_POST as given): status and lower-case headers. */
function post(
  agent: http.Agent,
  url: URL,
  headers: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'BITS_POST', agent, headers: { ...headers, 'Content-Length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * An independent raw-HTTP BITS client (not openbits' engine): Create-Session, fragments from
 * the server's BITS-Received-Content-Range, Close-Session. Transport errors and 5xx other than
 * session-not-found are retried after a short pause, as a BITS client resumes; returns the
 * number of retries.
 */
export async function rawUpload(
  base: string,
  urlPath: string,
  data: Buffer,
  fragment: number,
  onAck: (offset: number, fragmentMs: number) => void = () => {},
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(urlPath, base);
  let retries = 0;
  const send = async (headers: Record<string, string>, body?: Buffer) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await post(agent, url, headers, body);
        if (res.status < 500 || res.headers['bits-error-code'] === '0x8020001F' || attempt >= 200) return res;
      } catch (err) {
        if (attempt >= 200) throw err;
      }
      retries++;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    const created = await send({
      'BITS-Packet-Type': 'Create-Session',
      'BITS-Supported-Protocols': BITS_PROTOCOL_GUID,
    });
    const id = String(created.headers['bits-session-id'] ?? '');
    if (created.status !== 200 || id === '') throw new Error(`Create-Session: ${created.status}`);
    let offset = 0;
    while (offset < data.length) {
      const end = Math.min(offset + fragment, data.length);
      const started = performance.now();
      const res = await send(
        {
          'BITS-Packet-Type': 'Fragment',
          'BITS-Session-Id': id,
          'Content-Range': `bytes ${offset}-${end - 1}/${data.length}`,
        },
        data.subarray(offset, end),
      );
      const r = Number(res.headers['bits-received-content-range']);
      if ((res.status !== 200 && res.status !== 416) || !Number.isSafeInteger(r)) {
        throw new Error(`fragment at ${offset}: ${res.status} ${String(res.headers['bits-error-code'])}`);
      }
      offset = r;
      onAck(offset, performance.now() - started);
    }
    const closed = await send({ 'BITS-Packet-Type': 'Close-Session', 'BITS-Session-Id': id });
    if (closed.status !== 200) throw new Error(`Close-Session: ${closed.status}`);
    return retries;
  } finally {
    agent.destroy();
  }
}
