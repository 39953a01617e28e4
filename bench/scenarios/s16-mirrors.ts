import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DownloadItem } from '../adapters/ours.ts';
import type { Scenario } from '../lib/context.ts';
import { type Nginx, startNginx } from '../lib/nginx.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import type { RatioRow } from '../lib/types.ts';
import { OURS, type Tool, timeIntoDest, withPeers } from './download-tools.ts';

/** Per-connection rate of every mirror: what a mirror gives one connection. */
const LIMIT_RATE = '8m';
const LIMIT_BPS = 8 * 1024 * 1024;
const MIRRORS = 4;
const CONNECTIONS = 4;
const PIECE = 1024 * 1024;

const ARIA = ['-q', '--summary-interval=0', '--file-allocation=none', '--allow-overwrite=true'];
const ariaOut = (dest: string) => [...ARIA, '--auto-file-renaming=false', '-d', dirname(dest), '-o', basename(dest)];

/** Four shaped nginx instances serving `root` (each its own process), stopped by the caller. */
async function mirrors(scratch: string, roots: readonly string[]): Promise<Nginx[]> {
  return Promise.all(
    roots.map((root, i) => startNginx(join(scratch, `nginx-s16-${i}`), root, '0', { limitRate: LIMIT_RATE })),
  );
}

const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Ours as a tool: the file from the first mirror with the others as mirrors, over `connections`. */
function ours(
  ctx: Parameters<Scenario['run']>[0],
  name: string,
  item: DownloadItem,
  connections: number,
  onDone?: (dropped: readonly string[]) => void,
): Tool {
  return {
    tool: name,
    async run() {
      const m = await ctx.ours.download([item], { mode: 'one-job', cpu: ctx.clientCpu, maxConnections: connections });
      onDone?.(m.dropped ?? []);
      return { wallMs: m.wallMs, cpuMs: m.cpuMs, peakRssKiB: m.peakRssKiB };
    },
  };
}

/**
 * S16: one big file from 4 nginx mirrors, each shaped to 8 MiB/s per connection (`limit_rate`):
 * openbits with 4 connections over the mirrors vs `aria2c -x4 -s4` with the same 4 URLs vs curl
 * from one mirror. Target: ours at least as fast as aria2c.
 */
export const s16: Scenario = {
  id: 'S16',
  title: 'Big file from 4 rate-limited mirrors: segments + mirrors vs aria2c -x4 -s4',
  async run(ctx) {
    const file = ctx.corpus.big;
    const servers = await mirrors(
      ctx.ws.scratch,
      Array.from({ length: MIRRORS }, () => ctx.ws.served),
    );
    try {
      const urls = servers.map((s) => `${s.baseUrl}${file.urlPath}`);
      const dest = join(ctx.ws.tmpDest, 's16.bin');
      const item: DownloadItem = { url: urls[0] as string, dest, size: file.size, mirrors: urls.slice(1) };
      const tools = withPeers(ctx, ours(ctx, OURS, item, CONNECTIONS), [
        { tool: 'aria2c -x4 -s4', bin: 'aria2c', argv: ['aria2c', '-x4', '-s4', '-k1M', ...ariaOut(dest), ...urls] },
        { tool: 'curl (one mirror)', bin: 'curl', argv: ['curl', '-s', '-f', '-o', dest, urls[0] as string] },
      ]);
      const notes = [
        `${(file.size / 2 ** 20).toFixed(0)} MiB; ${MIRRORS} nginx processes on loopback, each \`limit_rate ${LIMIT_RATE}\` (per connection); ours: maxConnections ${CONNECTIONS}, the first URL as remote name and the other ${MIRRORS - 1} as mirrors; aria2c gets the same ${MIRRORS} URLs.`,
        `Ceiling: ${CONNECTIONS} connections × ${LIMIT_BPS / 2 ** 20} MiB/s = ${((CONNECTIONS * LIMIT_BPS) / 1e6).toFixed(1)} MB/s.`,
      ];
      const { wall } = await timeIntoDest(ctx, tools, dest, notes);
      const measurements = [...wall].flatMap(([tool, s]) => [
        measurement(tool, 'time', 's', 'lower', s),
        measurement(
          tool,
          'throughput',
          'MB/s',
          'higher',
          s.map((sec) => file.size / 1e6 / sec),
        ),
      ]);
      const t = (tool: string) => medianOf(measurements, tool, 'time');
      const ratios: RatioRow[] = [
        ratioRow('throughput ours / aria2c -x4 -s4', t('aria2c -x4 -s4') / t(OURS), { op: '>=', value: 1.0 }),
        ratioRow('throughput ours / curl (one mirror)', t('curl (one mirror)') / t(OURS)),
      ];
      return { status: 'ok', measurements, ratios, notes };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
};

/** A copy of `src` with one byte flipped at the start of each quarter's first piece. */
function liarCopy(src: string, dest: string, size: number): number[] {
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
  const fd = openSync(dest, 'r+');
  const pieces: number[] = [];
  try {
    for (let q = 0; q < 4; q++) {
      const piece = Math.ceil(Math.floor((size * q) / 4) / PIECE);
      const at = piece * PIECE + 4096;
      if (at >= size) continue;
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, at);
      byte[0] = (byte[0] ?? 0) ^ 0xff;
      writeSync(fd, byte, 0, 1, at);
      pieces.push(piece);
    }
  } finally {
    closeSync(fd);
  }
  return pieces;
}

/** sha-256 of every PIECE of a file. */
function pieceHashes(path: string): string[] {
  const data = readFileSync(path);
  const out: string[] = [];
  for (let at = 0; at < data.length; at += PIECE) {
    out.push(
      createHash('sha256')
        .update(data.subarray(at, at + PIECE))
        .digest('hex'),
    );
  }
  return out;
}

/**
 * S16F: the same mirrors, one of which serves corrupted bytes (one flipped byte in one piece of
 * whatever part it serves). Ours has the file's piece digests (as a Metalink gives them); aria2c
 * gets the same piece digests in a .meta4. Both must end with the right sha-256; ours must name
 * the mirror that lied (file:source-dropped).
 */
export const s16f: Scenario = {
  id: 'S16F',
  title: 'A lying mirror among 4: piece digests catch it, the bad piece comes again',
  async run(ctx) {
    const file = ctx.corpus.big;
    const liarRoot = join(ctx.ws.scratch, 's16f-liar');
    const liarPath = join(liarRoot, file.urlPath);
    const corrupted = liarCopy(file.path, liarPath, file.size);
    const roots = [ctx.ws.served, ctx.ws.served, liarRoot, ctx.ws.served];
    const servers = await mirrors(ctx.ws.scratch, roots);
    const want = sha256File(file.path);
    try {
      const urls = servers.map((s) => `${s.baseUrl}${file.urlPath}`);
      const liarUrl = urls[2] as string;
      const dest = join(ctx.ws.tmpDest, 's16f.bin');
      const hashes = pieceHashes(file.path);
      const item: DownloadItem = {
        url: urls[0] as string,
        dest,
        size: file.size,
        mirrors: urls.slice(1),
        pieces: { algorithm: 'sha-256', length: PIECE, hashes },
      };
      const meta4 = join(ctx.ws.scratch, 's16f.meta4');
      writeFileSync(
        meta4,
        `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="${basename(dest)}"><size>${file.size}</size>
<hash type="sha-256">${want}</hash>
<pieces length="${PIECE}" type="sha-256">${hashes.map((h) => `<hash>${h}</hash>`).join('')}</pieces>
${urls.map((u) => `<url priority="1">${u}</url>`).join('\n')}
</file></metalink>`,
      );
      /** Per run of ours: the URLs it dropped. */
      const named: string[][] = [];
      const reasons: string[] = [];
      const bad: string[] = [];
      const check = (tool: string) => {
        if (sha256File(dest) !== want) bad.push(tool);
      };
      const oursTool = ours(ctx, OURS, item, CONNECTIONS, (dropped) => {
        named.push([...new Set(dropped.map((d) => d.slice(0, d.indexOf(': '))))]);
        reasons.push(...dropped.slice(0, 1));
      });
      const tools = withPeers(ctx, oursTool, [
        {
          tool: 'aria2c -x4 -s4 (meta4)',
          bin: 'aria2c',
          argv: ['aria2c', '-x4', '-s4', '-k1M', ...ARIA, '-d', dirname(dest), '-M', meta4],
        },
      ]);
      const notes = [
        `${(file.size / 2 ** 20).toFixed(0)} MiB from ${MIRRORS} mirrors (limit_rate ${LIMIT_RATE} each); mirror 3 (${liarUrl}) serves a copy with one byte flipped in pieces ${corrupted.join(', ')} of ${hashes.length} (1 MiB, sha-256), so whichever part it serves holds a bad piece.`,
      ];
      const { wall } = await timeIntoDest(ctx, tools, dest, notes, check);
      notes.push(
        bad.length === 0
          ? 'Every run of every tool ended with the right sha-256.'
          : `Wrong sha-256: ${bad.join(', ')}.`,
        `Sources ours dropped (file:source-dropped), per run: ${named.map((n) => n.join(' ') || 'none').join('; ')}; e.g. "${reasons[0] ?? ''}".`,
      );
      const measurements = [...wall].map(([tool, s]) => measurement(tool, 'time', 's', 'lower', s));
      const ratios: RatioRow[] = [
        ratioRow(
          'time ours / aria2c (meta4)',
          medianOf(measurements, OURS, 'time') / medianOf(measurements, 'aria2c -x4 -s4 (meta4)', 'time'),
        ),
        ratioRow('runs with a wrong sha-256', bad.length, { op: '<=', value: 0 }),
        ratioRow(
          'share of ours runs that named the liar, and only it',
          named.filter((n) => n.length === 1 && n[0] === liarUrl).length / Math.max(1, named.length),
          { op: '>=', value: 1 },
        ),
      ];
      return { status: 'ok', measurements, ratios, notes };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(liarRoot, { recursive: true, force: true });
    }
  },
};
