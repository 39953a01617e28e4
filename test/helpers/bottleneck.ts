import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * (nginx's worker runs as root when the test does: the files are in the test's private temp dir.)
 *
 * A real bottleneck (issue 15): two network namespaces joined by a veth pair, the server side's
 * egress shaped with `tc … tbf` (20 Mbit/s, a 50 ms queue by default), nginx serving a large
 * file in the server namespace. Clients run in the client namespace (`spawnIn`).
 * Needs root (netns, tc). Names start with the given prefix, so parallel users never clash.
 */
export interface Bottleneck {
  readonly serverNs: string;
  readonly clientNs: string;
  readonly serverIp: string;
  /** The client side's veth (its counters carry every download). */
  readonly clientIf: string;
  /** The shaped rate in bytes per second (payload plus headers). */
  readonly rateBytes: number;
  /** `http://SERVER:8080/big.bin`: a sparse file larger than any run will read. */
  readonly bigUrl: string;
  /** Start a process in the client namespace. */
  spawnIn(argv: readonly string[], options?: { env?: NodeJS.ProcessEnv; stdio?: 'ignore' | 'pipe' }): ChildProcess;
  /** Ping round trips (ms) through the link for `seconds`, one every 200 ms. */
  ping(seconds: number): Promise<number[]>;
  close(): Promise<void>;
}

export interface BottleneckOptions {
  readonly prefix: string;
  /** Where nginx's files, config and logs go. */
  readonly dir: string;
  readonly rateMbit?: number;
  readonly queueMs?: number;
}

const ip = (args: readonly string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export async function startBottleneck(options: BottleneckOptions): Promise<Bottleneck> {
  const id = randomBytes(2).toString('hex');
  const serverNs = `${options.prefix}-s${id}`;
  const clientNs = `${options.prefix}-c${id}`;
  // Interface names are at most 15 bytes.
  const serverIf = `${options.prefix.slice(0, 6)}${id}s`;
  const clientIf = `${options.prefix.slice(0, 6)}${id}c`;
  const net = `10.${Number.parseInt(id.slice(0, 2), 16)}.${Number.parseInt(id.slice(2), 16)}`;
  const serverIp = `${net}.1`;
  const rateMbit = options.rateMbit ?? 20;
  const queueMs = options.queueMs ?? 50;
  let nginx: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = once(nginx, 'exit');
      nginx.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    for (const ns of [serverNs, clientNs]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // Not created.
      }
    }
  };
  try {
    ip(['netns', 'add', serverNs]);
    ip(['netns', 'add', clientNs]);
    ip(['link', 'add', serverIf, 'type', 'veth', 'peer', 'name', clientIf]);
    ip(['link', 'set', serverIf, 'netns', serverNs]);
    ip(['link', 'set', clientIf, 'netns', clientNs]);
    ip(['-n', serverNs, 'addr', 'add', `${serverIp}/24`, 'dev', serverIf]);
    ip(['-n', clientNs, 'addr', 'add', `${net}.2/24`, 'dev', clientIf]);
    for (const [ns, dev] of [
      [serverNs, serverIf],
      [clientNs, clientIf],
      [serverNs, 'lo'],
      [clientNs, 'lo'],
    ] as const) {
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
    // The downstream (server → client) is the bottleneck: a token bucket whose queue holds queueMs.
    execFileSync('ip', [
      'netns',
      'exec',
      serverNs,
      'tc',
      'qdisc',
      'add',
      'dev',
      serverIf,
      'root',
      'tbf',
      'rate',
      `${rateMbit}mbit`,
      'burst',
      '20kb',
      'latency',
      `${queueMs}ms`,
    ]);
    const www = join(options.dir, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'big.bin'), '');
    truncateSync(join(www, 'big.bin'), 4 * 1024 ** 3);
    writeFileSync(join(www, 'small.bin'), 'ok');
    const conf = join(options.dir, 'nginx.conf');
    const temp = (name: string) => `${name}_temp_path ${join(options.dir, name)};`;
    writeFileSync(
      conf,
      `worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
pid ${join(options.dir, 'nginx.pid')};
error_log ${join(options.dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  sendfile on;
  access_log off;
  default_type application/octet-stream;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server { listen ${serverIp}:8080; root ${www}; }
}
`,
    );
    nginx = spawn(
      'ip',
      ['netns', 'exec', serverNs, 'nginx', '-e', join(options.dir, 'error.log'), '-p', options.dir, '-c', conf],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await run('ip', [
          'netns',
          'exec',
          clientNs,
          'curl',
          '-sf',
          '-o',
          '/dev/null',
          `http://${serverIp}:8080/small.bin`,
        ]);
        break;
      } catch {
        if (Date.now() > deadline || nginx.exitCode !== null) {
          let log = '';
          try {
            log = readFileSync(join(options.dir, 'error.log'), 'utf8');
          } catch {}
          throw new Error(`nginx did not answer in the server namespace: ${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    serverNs,
    clientNs,
    serverIp,
    clientIf,
    rateBytes: (rateMbit * 1e6) / 8,
    bigUrl: `http://${serverIp}:8080/big.bin`,
    spawnIn: (argv, opts = {}) =>
      spawn('ip', ['netns', 'exec', clientNs, ...argv], {
        env: opts.env ?? process.env,
        stdio: opts.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'ignore',
      }),
    async ping(seconds) {
      const count = String(Math.max(1, Math.round(seconds * 5)));
      const { stdout } = await run('ip', ['netns', 'exec', clientNs, 'ping', '-n', '-i', '0.2', '-c', count, serverIp]);
      return [...stdout.matchAll(/time=([\d.]+) ms/gu)].map((m) => Number(m[1]));
    },
    close,
  };
}
