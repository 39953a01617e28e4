import { badRequest } from './ack.ts';

/** The URL segment of the session folder: replies are served below it, uploads may not use it. */
export const SESSIONS_SEGMENT = 'BITS-Sessions';
/** Reply file name inside `Replies/<session>/`, as IIS names it (§7.2). */
export const REPLY_FILE = 'responsefile.bin';

/** Where a request target points. */
export type Target =
  /** Not under the server's prefix (another app's URL when mounted). */
  | { readonly kind: 'outside' }
  /** The prefix itself or a folder below it. */
  | { readonly kind: 'directory' }
  /** A reply file: `<prefix>BITS-Sessions/Replies/<session>/responsefile.bin`. */
  | { readonly kind: 'reply'; readonly sessionId: string }
  /** Anything else under the reserved session folder. */
  | { readonly kind: 'reserved' }
  /** A file below the root: decoded, validated path segments. */
  | { readonly kind: 'file'; readonly segments: readonly string[]; readonly path: string; readonly query: string };

const NAME_MAX = 255;

function decodeSegment(raw: string): string {
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    throw badRequest('malformed percent-encoding in the URL');
  }
  // Checked after decoding so %2e%2e, %2f and %5c cannot smuggle a traversal past the check.
  if (s === '.' || s === '..') throw badRequest('dot segment in the URL');
  if (/[/\\\x00-\x1f\x7f]/.test(s)) throw badRequest('slash, backslash or control character in a URL segment');
  if (Buffer.byteLength(s) > NAME_MAX) throw badRequest('URL segment too long');
  return s;
}

/**
 * Map a request target (origin or absolute form) under `prefix` to a Target; `reserved` first
 * segments (the session folder when it lies under the root) are never upload targets. Throws a 400
 * UploadError for traversal attempts (`..`, `%2e%2e`, encoded slashes, empty segments as in
 * `//etc/passwd`) under the prefix; targets outside the prefix are not judged here.
 */
export function parseTarget(target: string, prefix: string, reserved: readonly string[] = []): Target {
  let pathAndQuery = target;
  // Absolute form: keep the raw path (URL() would resolve dot segments and hide a traversal).
  const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
  if (absolute !== null) {
    const rest = absolute[1] ?? '';
    pathAndQuery = rest.startsWith('/') ? rest : `/${rest}`;
  }
  if (!pathAndQuery.startsWith('/') || pathAndQuery.includes('#')) throw badRequest('malformed request target');
  const q = pathAndQuery.indexOf('?');
  const rawPath = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q === -1 ? '' : pathAndQuery.slice(q + 1);
  if (!rawPath.startsWith(prefix) && `${rawPath}/` !== prefix) return { kind: 'outside' };
  const rest = rawPath.slice(prefix.length);
  if (rest === '') return { kind: 'directory' };
  const parts = rest.split('/');
  const last = parts.length - 1;
  const segments: string[] = [];
  for (let i = 0; i <= last; i++) {
    const raw = parts[i] ?? '';
    if (raw === '') {
      if (i === last) return { kind: 'directory' };
      throw badRequest('empty segment in the URL');
    }
    segments.push(decodeSegment(raw));
  }
  if (segments[0]?.toLowerCase() === SESSIONS_SEGMENT.toLowerCase()) {
    const [, replies, id, file] = segments;
    if (segments.length === 4 && replies?.toLowerCase() === 'replies' && file === REPLY_FILE && id !== undefined) {
      return { kind: 'reply', sessionId: id };
    }
    return { kind: 'reserved' };
  }
  const first = segments[0]?.toLowerCase();
  if (reserved.some((r) => r.toLowerCase() === first)) return { kind: 'reserved' };
  return { kind: 'file', segments, path: segments.join('/'), query };
}
