import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * nginx from Debian as an independent HTTP implementation: found on PATH or installed with
 * apt-get (CI runs as root), started on 127.0.0.1 with a temp config (sendfile on) serving a
 * temp root, stopped on teardown. Throws — tests fail loudly — when it cannot be started.
 */
export interface Nginx {
  readonly root: string;
  readonly port: number;
  url(path: string): string;
  stop(): Promise<void>;
}

function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function installNginx(): string {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx-light'], { stdio: 'ignore', env });
  const found = findNginx();
  if (found === null) throw new Error('nginx-light installed but no nginx binary found');
  return found;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${log()}`);
}

/** Extra configuration (the upload-server farm uses nginx as a load balancer). */
export interface NginxOptions {
  /** Added at http level (e.g. an `upstream` and a `log_format`). */
  readonly http?: string;
  /** Replaces the static `location / { }` of the server block. */
  readonly locations?: string;
}

export async function startNginx(options: NginxOptions = {}): Promise<Nginx> {
  const bin = findNginx() ?? installNginx();
  const base = await mkdtemp(join(tmpdir(), 'openbits-nginx-'));
  const root = join(base, 'root');
  await chmod(base, 0o755);
  execFileSync('mkdir', ['-p', root, join(base, 'tmp')]);
  const port = await freePort();
  const conf = join(base, 'nginx.conf');
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  await writeFile(
    conf,
    `${user}daemon off;
worker_processes 1;
pid ${base}/nginx.pid;
error_log ${base}/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${base}/tmp/body;
  proxy_temp_path ${base}/tmp/proxy;
  fastcgi_temp_path ${base}/tmp/fastcgi;
  uwsgi_temp_path ${base}/tmp/uwsgi;
  scgi_temp_path ${base}/tmp/scgi;
  ${options.http ?? ''}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    ${options.locations ?? 'location / { }'}
  }
}
`,
  );
  const child = spawn(bin, ['-p', base, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitForPort(port, child, () => stderr);
  return {
    root,
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(base, { recursive: true, force: true });
    },
  };
}
