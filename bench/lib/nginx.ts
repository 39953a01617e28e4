import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from './exec.ts';

/** One access-log line: the URI, status and body bytes nginx sent. */
export interface AccessEntry {
  readonly uri: string;
  readonly status: number;
  readonly bytesSent: number;
  readonly bodyBytesSent: number;
}

/** A running nginx on 127.0.0.1. */
export interface Nginx {
  readonly port: number;
  readonly baseUrl: string;
  readonly accessLog: string;
  /** Current size of the access log; pass it to `entriesSince` later. */
  logOffset(): number;
  /** Access-log entries written after `offset`. */
  entriesSince(offset: number): AccessEntry[];
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (there is a small race until nginx binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Per-server options: `limit_rate` per connection (e.g. `8m`); `putDir`: `PUT /put/NAME` stores NAME there. */
export interface NginxShaping {
  readonly limitRate?: string;
  readonly putDir?: string | null;
}

function config(dir: string, root: string, port: number, shaping: NginxShaping = {}): string {
  const putDir = shaping.putDir ?? null;
  // WebDAV PUT into putDir (the curl -T peer of S7 uploads); its temp files on the same disk.
  const put =
    putDir === null
      ? ''
      : `
    location /put/ {
      alias ${putDir}/;
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
      client_body_temp_path ${putDir}.tmp;
    }`;
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  log_format bench '$request_uri $status $bytes_sent $body_bytes_sent $request_time';
  access_log ${dir}/access.log bench;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};${put}${
      shaping.limitRate === undefined
        ? ''
        : `
    limit_rate ${shaping.limitRate};`
    }
  }
}
`;
}

/** Start nginx (pinned to `cpu`) serving `root`, with its config, logs and pid in `dir`. */
export async function startNginx(dir: string, root: string, cpu: string, shaping: NginxShaping = {}): Promise<Nginx> {
  mkdirSync(dir, { recursive: true });
  const putDir = shaping.putDir ?? null;
  // The workers run as an unprivileged user: they must be able to write both folders.
  for (const d of putDir === null ? [] : [putDir, `${putDir}.tmp`]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o777);
  }
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config(dir, root, port, shaping));
  const accessLog = join(dir, 'access.log');
  writeFileSync(accessLog, '');
  const child: ChildProcess = spawn(
    'taskset',
    ['-c', cpu, 'nginx', '-e', join(dir, 'error.log'), '-p', dir, '-c', conf],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-500)}`);
    try {
      const res = await fetch(`${baseUrl}/`, { method: 'HEAD' });
      await res.body?.cancel();
      break;
    } catch {
      if (i > 100) throw new Error('nginx did not answer within 5 s');
      await sleep(50);
    }
  }
  return {
    port,
    baseUrl,
    accessLog,
    logOffset: () => statSync(accessLog).size,
    entriesSince(offset) {
      return readFileSync(accessLog)
        .subarray(offset)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((line) => {
          const [uri = '', status, bytesSent, bodyBytesSent] = line.split(' ');
          return { uri, status: Number(status), bytesSent: Number(bytesSent), bodyBytesSent: Number(bodyBytesSent) };
        });
    },
    async stop() {
      if (exited) return;
      const done = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGQUIT');
      await Promise.race([done, sleep(3000)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
