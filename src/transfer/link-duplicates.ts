import { validateRemoteUrl } from '../core/index.ts';
import { headerValues, type RawHeaders } from './content-range.ts';
import { readQuotedString } from './quoted-string.ts';

/** The most mirrors one response may add (RFC 6249 lists are short; a long one is cut). */
export const MAX_OFFERED_MIRRORS = 8;
/** RFC 6249's default priority (1 is the highest). */
const DEFAULT_PRI = 999_999;

/**
 * The mirrors a response announces with RFC 6249 `Link: <url>; rel=duplicate` (docs/transfer.md,
 * mirrors), by `pri` (lowest first), at most `room` of them: resolved against `base` (the URL
 * asked), http(s) only and never from https to http, without userinfo, valid as a remote name,
 * and none already in `known`.
 */
export function offeredMirrors(headers: RawHeaders, base: URL, known: ReadonlySet<string>, room: number): string[] {
  const found: Array<{ url: string; pri: number; order: number }> = [];
  const seen = new Set(known);
  for (const link of parseLinks(headerValues(headers, 'link').join(','))) {
    const rel = (link.params.get('rel') ?? '').toLowerCase().split(/\s+/u);
    if (!rel.includes('duplicate')) continue;
    const url = acceptable(link.target, base);
    if (url === null || seen.has(url)) continue;
    seen.add(url);
    const pri = Number(link.params.get('pri'));
    found.push({ url, pri: Number.isInteger(pri) && pri >= 1 ? pri : DEFAULT_PRI, order: found.length });
  }
  found.sort((a, b) => a.pri - b.pri || a.order - b.order);
  return found.slice(0, Math.max(0, Math.min(room, MAX_OFFERED_MIRRORS))).map((f) => f.url);
}

function acceptable(target: string, base: URL): string | null {
  if (/[\s<>"\\]/u.test(target)) return null;
  let url: URL;
  try {
    url = new URL(target, base);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && (url.protocol !== 'http:' || base.protocol !== 'http:')) return null;
  if (url.username !== '' || url.password !== '') return null;
  url.hash = '';
  try {
    return validateRemoteUrl(url.href);
  } catch {
    return null;
  }
}

/** `<target>; name=value; name="quoted"` entries of a Link field value (RFC 8288). */
function parseLinks(value: string): Array<{ target: string; params: Map<string, string> }> {
  const out: Array<{ target: string; params: Map<string, string> }> = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < value.length && chars.includes(value[i] as string)) i++;
  };
  while (i < value.length) {
    skip(' \t,');
    if (value[i] !== '<') {
      // Not a link-value: skip to the next comma outside quotes.
      skipToComma();
      continue;
    }
    const close = value.indexOf('>', i);
    if (close < 0) break;
    const target = value.slice(i + 1, close).trim();
    i = close + 1;
    const params = new Map<string, string>();
    for (;;) {
      skip(' \t');
      if (value[i] !== ';') break;
      i++;
      skip(' \t');
      const name = /^[^=;,\s]*/u.exec(value.slice(i))?.[0] ?? '';
      i += name.length;
      skip(' \t');
      let v = '';
      if (value[i] === '=') {
        i++;
        skip(' \t');
        if (value[i] === '"') ({ text: v, end: i } = readQuotedString(value, i));
        else {
          v = /^[^;,\s]*/u.exec(value.slice(i))?.[0] ?? '';
          i += v.length;
        }
      }
      const key = name.toLowerCase();
      if (key !== '' && !params.has(key)) params.set(key, v);
    }
    out.push({ target, params });
    skipToComma();
  }
  return out;

  function skipToComma(): void {
    let inQuotes = false;
    while (i < value.length && (inQuotes || value[i] !== ',')) {
      if (value[i] === '"') inQuotes = !inQuotes;
      i++;
    }
  }
}
