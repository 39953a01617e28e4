import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

/**
 * A private PostgreSQL server for a test that must stop and restart the database (the shared
 * one on :5432 serves other sessions and is never touched): Debian's binaries, initdb in a temp
 * folder, a free loopback port, run as the `postgres` user when we are root (PostgreSQL refuses
 * to run as root). Fails with an explanation when the binaries are missing.
 */
export interface PrivatePostgres {
  readonly url: string;
  start(): void;
  stop(): void;
  /** Stop it and delete its folder. */
  remove(): void;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => path.join(base, v, 'bin')).find((d) => fs.existsSync(path.join(d, 'initdb')));
  if (dir === undefined)
    throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return dir;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bits-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  if (asRoot) fs.chownSync(dir, ids.uid as number, ids.gid as number);
  const port = await freePort();
  const run = (file: string, args: string[]) => {
    const r = spawnSync(path.join(bin, file), args, { ...ids, cwd: dir, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pgCtl = (action: 'start' | 'stop') =>
    action === 'start'
      ? run('pg_ctl', [
          '-D',
          data,
          '-l',
          path.join(dir, 'log'),
          '-w',
          '-o',
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
          'start',
        ])
      : run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  pgCtl('start');
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      pgCtl('start');
      running = true;
    },
    stop() {
      pgCtl('stop');
      running = false;
    },
    remove() {
      if (running) pgCtl('stop');
      running = false;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
