/**
 * GET/HEAD of reply files (and of uploads when enabled) the way a BITS download client needs
 * (§13): real Content-Length on HEAD, 206 + Content-Range for one range, multipart/byteranges in
 * request order for several, 200 for a Range-less GET, 416 when unsatisfiable, 412 when
 * If-Unmodified-Since fails, a stable Last-Modified and ETag, never any compression.
 */
import { randomBytes } from 'node:crypto';
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import { type ByteRange, parseRange } from './byte-ranges.ts';
import { header, type RequestHead } from './http/request-head.ts';
import type { HeaderList, ResponseWriter } from './http/response-writer.ts';

/** Answer a GET or HEAD with the file at `file` (opened without following a symlink). */
export async function serveFile(head: RequestHead, res: ResponseWriter, file: string): Promise<void> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, FS.O_RDONLY | FS.O_NOFOLLOW);
  } catch {
    await sendStatus(res, 404);
    return;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await sendStatus(res, 404);
      return;
    }
    const size = st.size;
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const common: Array<readonly [string, string]> = [
      ['Last-Modified', lastModified],
      ['ETag', etag],
      ['Accept-Ranges', 'bytes'],
    ];
    const ius = header(head, 'if-unmodified-since');
    if (ius !== undefined) {
      const since = Date.parse(ius);
      if (!Number.isNaN(since) && Math.floor(st.mtimeMs / 1000) * 1000 > since) {
        await sendStatus(res, 412, common);
        return;
      }
    }
    const ifRange = header(head, 'if-range');
    const rangeOk = ifRange === undefined || ifRange === etag || ifRange === lastModified;
    const wanted = parseRange(rangeOk ? header(head, 'range') : undefined, size);
    const bodyWanted = head.method === 'GET';
    if (wanted.kind === 'unsatisfiable') {
      await res.send(416, [...common, ['Content-Range', `bytes */${size}`]]);
      return;
    }
    if (wanted.kind === 'full') {
      const headers: HeaderList = [...common, ['Content-Type', 'application/octet-stream']];
      await res.sendStream(200, headers, size, bodyWanted ? readRange(fh, 0, size - 1) : undefined);
      return;
    }
    if (wanted.ranges.length === 1) {
      const r = wanted.ranges[0] as ByteRange;
      const headers: HeaderList = [
        ...common,
        ['Content-Type', 'application/octet-stream'],
        ['Content-Range', `bytes ${r.start}-${r.end}/${size}`],
      ];
      await res.sendStream(206, headers, r.end - r.start + 1, bodyWanted ? readRange(fh, r.start, r.end) : undefined);
      return;
    }
    const boundary = randomBytes(12).toString('hex');
    const parts = wanted.ranges.map((r) => ({
      r,
      head: Buffer.from(
        `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
      ),
    }));
    const tail = Buffer.from(`--${boundary}--\r\n`);
    const length = parts.reduce((n, p) => n + p.head.length + (p.r.end - p.r.start + 1) + 2, 0) + tail.length;
    async function* multipart(): AsyncGenerator<Buffer> {
      for (const p of parts) {
        yield p.head;
        yield* readRange(fh, p.r.start, p.r.end);
        yield Buffer.from('\r\n');
      }
      yield tail;
    }
    const headers: HeaderList = [...common, ['Content-Type', `multipart/byteranges; boundary=${boundary}`]];
    await res.sendStream(206, headers, length, bodyWanted ? multipart() : undefined);
  } finally {
    await fh.close();
  }
}

async function* readRange(fh: fs.FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = start;
  while (pos <= end) {
    const buf = Buffer.allocUnsafe(Math.min(256 * 1024, end - pos + 1));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) throw new Error('file shrank while being served');
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** A short plain answer (404, 405, 412…). */
export async function sendStatus(res: ResponseWriter, status: number, headers: HeaderList = []): Promise<void> {
  await res.send(status, [...headers, ['Content-Type', 'text/plain']], Buffer.from(`${status}\n`));
}
