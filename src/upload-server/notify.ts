/**
 * The back-end notification (§8.2): once the last byte is held, POST the upload to the server
 * application — by reference (the file's path in BITS-Request-DataFile-Name, the reply path in
 * BITS-Response-DataFile-Name, empty body) or by value (the file as the body, the reply as the
 * response body) — and turn its answer into the reply the client downloads via BITS-Reply-URL.
 */
import { createReadStream, constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { NOTIFY_HEADERS, UPLOAD_LIMITS } from '../core/upload-protocol.ts';
import { badRequest, UploadError } from './ack.ts';
import type { ServerContext } from './context.ts';
import type { NotifyResult, SessionRecord } from './session-record.ts';
import { REPLY_FILE, SESSIONS_SEGMENT } from './url-path.ts';

/** The notification URL for a session: relative URLs resolve against the upload URL, and the
 * upload URL's query string is appended (§8.1 BITSServerNotificationURL). The upload URL is on
 * the configured public origin (options refuse a relative notification URL without one), so a
 * client's Host header never picks the address we POST to (SSRF, issue 12). */
export function notificationTarget(notificationUrl: string, originalUrl: string): URL {
  const upload = new URL(originalUrl);
  const url = new URL(notificationUrl, upload);
  const query = upload.search.slice(1);
  if (query !== '') url.search = url.search === '' ? `?${query}` : `${url.search}&${query}`;
  return url;
}

/**
 * The reply URL for a finished session: the app's static URL, or our reply file — absolute on
 * the public origin when one is configured (§10 prefers absolute), else path-absolute, which
 * the client resolves against its upload URL (never built from the request's Host).
 */
export function replyUrlFor(ctx: ServerContext, record: SessionRecord): string {
  if (record.notify?.staticReplyUrl !== undefined) return record.notify.staticReplyUrl;
  const path = `${ctx.opts.urlPrefix}${SESSIONS_SEGMENT}/Replies/${encodeURIComponent(record.id)}/${REPLY_FILE}`;
  return `${ctx.opts.publicOrigin ?? ''}${path}`;
}

/**
 * POST the notification and store the reply. Errors come back with context REMOTE_APPLICATION:
 * the app's own status (so the client classifies it, §6.2), 408 on timeout, 502 if unreachable.
 */
export async function notifyBackEnd(ctx: ServerContext, record: SessionRecord): Promise<NotifyResult> {
  const { opts, files } = ctx;
  const url = notificationTarget(opts.notificationUrl ?? '', record.originalUrl);
  const byValue = opts.notificationType === 'by-value';
  const dataFile = files.dataFile(record.id);
  const replyFile = files.replyFile(record.id);
  await fs.mkdir(files.replyDir(record.id), { recursive: true, mode: 0o755 });
  // A fresh, empty reply: an app that writes nothing gives an empty (legal) reply.
  await (await openReplyFile(replyFile)).close();

  const headers: Record<string, string> = {
    'user-agent': 'BITSExts 1.5 (openbits)',
    [NOTIFY_HEADERS.originalRequestUrl]: record.originalUrl,
  };
  if (byValue) {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = String(record.total ?? 0);
  } else {
    headers[NOTIFY_HEADERS.requestDataFileName] = dataFile;
    headers[NOTIFY_HEADERS.responseDataFileName] = replyFile;
    headers['content-length'] = '0';
  }

  const abort = new AbortController();
  const timer = opts.clock.setTimer(opts.notificationTimeoutMs, () => abort.abort());
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body: byValue ? createReadStream(dataFile) : '',
      signal: abort.signal,
      dispatcher: ctx.dispatcher,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new UploadError(res.statusCode, `BG_E_HTTP_ERROR_${res.statusCode}`, 'the server application failed', {
        context: 'REMOTE_APPLICATION',
      });
    }
    const staticUrl = firstHeader(res.headers[NOTIFY_HEADERS.staticResponseUrl.toLowerCase()]);
    const copyToDestination = res.headers[NOTIFY_HEADERS.copyFileToDestination.toLowerCase()] !== undefined;
    if (staticUrl !== undefined) {
      await res.body.dump();
      if (staticUrl.length > UPLOAD_LIMITS.replyUrl || !/^https?:\/\//i.test(staticUrl) || /[\r\n]/.test(staticUrl)) {
        throw badRequest('the application gave an invalid BITS-Static-Response-URL');
      }
      return { staticReplyUrl: staticUrl, copyToDestination };
    }
    if (byValue) {
      const out = await openReplyFile(replyFile);
      await pipeline(res.body, capBytes(opts.maxReplySize), out.createWriteStream());
    } else {
      await res.body.dump();
    }
    return { staticReplyUrl: undefined, copyToDestination };
  } catch (err) {
    if (err instanceof UploadError) throw err;
    if (abort.signal.aborted) {
      throw new UploadError(408, 'BG_E_HTTP_ERROR_408', 'the server application did not answer in time', {
        context: 'REMOTE_APPLICATION',
        cause: err,
      });
    }
    throw new UploadError(502, 'ERROR_INTERNET_CANNOT_CONNECT', 'the server application could not be reached', {
      context: 'REMOTE_APPLICATION',
      cause: err,
    });
  } finally {
    timer.cancel();
  }
}

/** Create or empty the reply file, never through a symlink. */
function openReplyFile(file: string): Promise<fs.FileHandle> {
  return fs.open(file, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o644);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function capBytes(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new UploadError(502, 'BG_E_TOO_LARGE', 'reply too large', { context: 'REMOTE_APPLICATION' }));
      else cb(null, chunk);
    },
  });
}
