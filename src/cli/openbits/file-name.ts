import { basename } from 'node:path';

/** A server-chosen name made safe: its last path component, never `.`/`..`, hidden or empty. */
export function safeName(name: string): string | undefined {
  const base = basename(name.replaceAll('\\', '/').replaceAll('\0', '')).trim();
  if (base === '' || base === '.' || base === '..') return undefined;
  return base.replace(/^\.+/u, '') || undefined;
}

/** The file name a URL suggests (its last path segment, decoded), else `index.html` as wget. */
export function nameFromUrl(url: string): string {
  try {
    const segment = new URL(url).pathname.split('/').pop() ?? '';
    return safeName(decodeURIComponent(segment)) ?? 'index.html';
  } catch {
    return 'index.html';
  }
}

/**
 * The file name of a Content-Disposition header (RFC 6266): `filename*=UTF-8''…` wins over
 * `filename="…"`; the name is reduced to a safe last component.
 */
export function nameFromContentDisposition(header: string | null): string | undefined {
  if (header === null) return undefined;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/iu.exec(header);
  if (extended?.[2] !== undefined) {
    try {
      return safeName(decodeURIComponent(extended[2].trim()));
    } catch {
      // a bad escape: fall back to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/iu.exec(header);
  const value = plain?.[1]?.replace(/\\(.)/gu, '$1') ?? plain?.[2];
  return value === undefined ? undefined : safeName(value);
}

/** Asks the server (HEAD) which name it gives the file; undefined when it names none. */
export async function serverFileName(url: string, signal?: AbortSignal): Promise<string | undefined> {
  const res = await fetch(url, { method: 'HEAD', redirect: 'follow', ...(signal === undefined ? {} : { signal }) });
  return nameFromContentDisposition(res.headers.get('content-disposition'));
}
