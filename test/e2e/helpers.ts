import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { DaemonProcess } from '../daemon/helpers.ts';
import { sha256, sha256File } from '../helpers/digest.ts';
import { type Handler, type ServeOptions, serve } from '../helpers/origin-server.ts';

/**
 * End-to-end helpers: the real `bitsadmin` CLI as a child process against a real `bitsd` in a
 * temp OPENBITS_HOME (on tmpfs when there is one, so 256 MiB files cost no disk I/O).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BITSADMIN = join(ROOT, 'bin', 'bitsadmin.js');
/** node_modules/.bin first, so `node` is the project's Node 24 (as a user's shell would find it). */
const PATH = [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);

/** tmpfs when available: big files stay in memory. */
export const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export const MiB = 1024 * 1024;

/** A temp folder; `remove()` deletes it. */
export async function scratchDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(SCRATCH, prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `bitsadmin` process: its output so far, and its end. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly done: Promise<CliResult>;
}

/**
 * Start `node bin/bitsadmin.js …args` with OPENBITS_HOME=home; it never starts a daemon itself
 * unless `autoStart` (then it may leave a detached bitsd behind: the caller stops it).
 */
export function spawnCli(home: string, args: readonly string[], options: { autoStart?: boolean } = {}): CliProcess {
  const { OPENBITS_NO_AUTOSTART: _inherited, ...inherited } = process.env;
  const env = {
    ...inherited,
    PATH,
    OPENBITS_HOME: home,
    ...(options.autoStart === true ? {} : { OPENBITS_NO_AUTOSTART: '1' }),
  };
  const child = spawn('node', [BITSADMIN, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const done = once(child, 'close').then(([code]) => ({ code: (code as number | null) ?? -1, stdout, stderr }));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Run `node bin/bitsadmin.js …args` to its end. */
export function cli(home: string, args: readonly string[], options: { autoStart?: boolean } = {}): Promise<CliResult> {
  return spawnCli(home, args, options).done;
}

/** `cli` that must exit 0; returns stdout. */
export async function cliOk(home: string, args: readonly string[]): Promise<string> {
  const r = await cli(home, args);
  assert.equal(r.code, 0, `bitsadmin ${args.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `/rawreturn /create [type] name` → the `{GUID}` (checked to be nothing else). */
export async function createJob(home: string, name: string, type?: '/upload' | '/upload-reply'): Promise<string> {
  const out = await cliOk(home, ['/rawreturn', '/create', ...(type === undefined ? [] : [type]), name]);
  assert.match(out, /^\{[0-9A-F]{8}(?:-[0-9A-F]{4}){3}-[0-9A-F]{12}\}$/u, 'the bare GUID, no line ending');
  return out;
}

/** `/rawreturn /getstate job`. */
export async function stateOf(home: string, job: string): Promise<string> {
  return cliOk(home, ['/rawreturn', '/getstate', job]);
}

/**
 * Poll `/rawreturn /getstate` until the job is in `want`; fails at once on ERROR (unless wanted)
 * and after `timeoutMs`, with the daemon's log.
 */
export async function waitForState(
  home: string,
  job: string,
  want: string,
  options: { timeoutMs?: number; daemon?: DaemonProcess } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let state = '';
  while (Date.now() < deadline) {
    state = await stateOf(home, job);
    if (state === want) return;
    if (state === 'ERROR') {
      const error = await cli(home, ['/geterror', job]);
      assert.fail(`job ${job} went into ERROR waiting for ${want}:\n${error.stdout}${options.daemon?.stderr() ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`job ${job} still ${state} after waiting for ${want}\n${options.daemon?.stderr() ?? ''}`);
}

export { sha256, sha256File };

/** Write `size` random bytes to `path` in 8 MiB pieces; returns their sha256. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'wx', 0o600);
  try {
    for (let at = 0; at < size; ) {
      const piece = randomBytes(Math.min(8 * MiB, size - at));
      hash.update(piece);
      await file.write(piece, 0, piece.length, at);
      at += piece.length;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** kill -9 and wait until the process is gone. */
export async function killDaemon(daemon: DaemonProcess): Promise<void> {
  daemon.child.kill('SIGKILL');
  assert.equal(await daemon.exited, 'SIGKILL');
}

/** One answered request of a counting origin route. */
export interface ServedRequest {
  readonly range: string | undefined;
  /** Body bytes the kernel accepted (write callbacks fired) for this request. */
  sent: number;
}

/**
 * An origin handler serving `body` with serve() (Range, If-Range, validators; `options(n)` for the
 * n-th request, e.g. a drip) that counts the body bytes handed to the kernel per request.
 */
export function countingRoute(
  body: Buffer,
  requests: ServedRequest[],
  options: (n: number) => ServeOptions,
  onSent?: (total: number) => void,
): Handler {
  return (req, res, n) => {
    const record: ServedRequest = { range: req.headers.range, sent: 0 };
    requests.push(record);
    const write = res.write.bind(res) as (chunk: Buffer, cb: (err?: Error | null) => void) => boolean;
    (res as { write: unknown }).write = (chunk: Buffer, cb: (err?: Error | null) => void): boolean =>
      write(chunk, (err) => {
        if (err == null) {
          record.sent += chunk.length;
          onSent?.(requests.reduce((sum, r) => sum + r.sent, 0));
        }
        cb(err);
      });
    return serve(req, res as ServerResponse, body, {
      etag: `"${sha256(body).slice(0, 16)}"`,
      lastModified: new Date(0).toUTCString(),
      ...options(n),
    });
  };
}

/**
 * A TCP relay on 127.0.0.1:0 in front of `target` (movable) that counts the bytes going up
 * (client → server), calls `onUp` with the running total, and can reset every connection.
 */
export class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  target: number;
  port = 0;
  upBytes = 0;
  resets = 0;
  onUp: (total: number) => void = () => undefined;

  constructor(target: number) {
    this.target = target;
    this.#server = createServer((client) => {
      const upstream = netConnect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        this.upBytes += chunk.length;
        if (!upstream.write(chunk)) client.pause();
        this.onUp(this.upBytes);
      });
      upstream.on('drain', () => client.resume());
      upstream.on('data', (chunk: Buffer) => {
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      // A server that goes away (or resets) resets the client too.
      upstream.on('close', () => (client.destroyed ? undefined : client.resetAndDestroy()));
      client.on('close', () => upstream.destroy());
    });
  }

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** TCP RST on every open client connection. */
  resetAll(): void {
    this.resets++;
    for (const s of this.#sockets) {
      if (s.destroyed) continue;
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s.destroy();
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#server.close();
    await once(this.#server, 'close');
  }
}

/** The jobs database under a bitsd home. */
export async function findDatabase(dir: string): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === 'jobs.db') return join(entry.parentPath, entry.name);
  }
  throw new Error(`no jobs.db under ${dir}`);
}
