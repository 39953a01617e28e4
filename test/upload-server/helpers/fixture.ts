import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BITS_PROTOCOL_GUID } from '../../../src/core/upload-protocol.ts';
import type { BitsUploadServerOptions } from '../../../src/upload-server/server.ts';
import { type BitsUploadServer, startBitsUploadServer } from '../../../src/upload-server/server.ts';
import { TestClock } from '../../helpers/test-clock.ts';
import { bitsPost, type RawClient, type RawResponse } from './raw-client.ts';

/** A server on 127.0.0.1:0 over a fresh temp root, with a TestClock. */
export interface Fixture {
  readonly server: BitsUploadServer;
  readonly clock: TestClock;
  /** Temp folder holding `root/` (upload root) and room for canaries outside it. */
  readonly base: string;
  readonly root: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startFixture(
  options: Partial<BitsUploadServerOptions> = {},
  existing?: { base: string; clock: TestClock },
): Promise<Fixture> {
  const base = existing?.base ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'bits-up-')));
  const root = path.join(base, 'root');
  await fs.mkdir(root, { recursive: true });
  const clock = existing?.clock ?? new TestClock();
  const server = await startBitsUploadServer({ root, clock, ...options });
  return {
    server,
    clock,
    base,
    root,
    port: server.port,
    async close() {
      await server.close();
    },
  };
}

export async function removeFixture(f: Fixture): Promise<void> {
  await f.close();
  await fs.rm(f.base, { recursive: true, force: true });
}

/** Deterministic test bytes. */
export function payload(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export { sha256, sha256File } from '../../helpers/digest.ts';

/** Create-Session; returns the response and the session id. */
export async function createSession(c: RawClient, url: string, extra: Record<string, string> = {}) {
  const res = await c.request(
    bitsPost(url, { 'BITS-Packet-Type': 'Create-Session', 'BITS-Supported-Protocols': BITS_PROTOCOL_GUID, ...extra }),
  );
  return { res, id: res.get('BITS-Session-Id') ?? '' };
}

/** Send bytes [start, start+data.length) of a `total`-byte file as one Fragment. */
export function fragment(
  c: RawClient,
  url: string,
  id: string,
  start: number,
  data: Buffer,
  total: number,
): Promise<RawResponse> {
  return c.request(
    bitsPost(
      url,
      {
        'BITS-Packet-Type': 'Fragment',
        'BITS-Session-Id': id,
        'Content-Range': `bytes ${start}-${start + data.length - 1}/${total}`,
      },
      data,
    ),
  );
}

export function packet(c: RawClient, url: string, type: string, id?: string): Promise<RawResponse> {
  const h: Record<string, string> = { 'BITS-Packet-Type': type };
  if (id !== undefined) h['BITS-Session-Id'] = id;
  return c.request(bitsPost(url, h));
}

/** Upload `data` in fragments of `size` bytes and close the session. */
export async function uploadWhole(c: RawClient, url: string, data: Buffer, size = 64 * 1024): Promise<string> {
  const { id } = await createSession(c, url);
  for (let off = 0; off < data.length; off += size) {
    const res = await fragment(c, url, id, off, data.subarray(off, off + size), data.length);
    if (res.status !== 200) throw new Error(`fragment at ${off}: ${res.statusLine}`);
  }
  const res = await packet(c, url, 'Close-Session', id);
  if (res.status !== 200) throw new Error(`close: ${res.statusLine}`);
  return id;
}

/** Every file under a folder (relative paths), to prove nothing landed where it should not. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}
