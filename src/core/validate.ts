import { BitsError } from './bits-error.ts';
import {
  AUTH_SCHEMES,
  AUTH_TARGETS,
  type Credentials,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type FileDigest,
  type FileRange,
  LENGTH_TO_EOF,
  MIN_RETRY_DELAY_FLOOR,
  NOTIFY_FLAGS_MASK,
  type NotifyCmdLine,
  type PieceDigests,
  type ProxySettings,
  SECURITY_FLAGS_MASK,
} from './job.ts';
import { JOB_PRIORITIES, JOB_TYPES, type JobPriority, type JobType, PROXY_USAGES } from './job-state.ts';
import { INTEGER_RANGES, inIntegerRange, LIMITS } from './limits.ts';

/**
 * Validation of every value a caller hands in, with BITS's limits and error codes
 * (bits-client.md §4, §5, §9.2, §18 item 20). Pure: paths are checked for shape here; whether
 * the caller may write there is the transfer layer's check.
 */

const invalid = (message: string): BitsError => new BitsError('E_INVALIDARG', message);
const tooLong = (what: string, max: number): BitsError =>
  new BitsError('BG_E_STRING_TOO_LONG', `${what} is longer than ${max} characters`);

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  if (value.includes('\0')) throw invalid(`${what} must not contain NUL`);
  return value;
}

/** CreateJob/SetDisplayName: non-null, ≤ 256 chars, else E_INVALIDARG (§4). */
export function validateDisplayName(value: unknown): string {
  const s = requireString(value, 'display name');
  if (s.length > LIMITS.displayName) throw invalid(`display name is longer than ${LIMITS.displayName} characters`);
  return s;
}

/** SetDescription: ≤ 1,024 chars, else BG_E_STRING_TOO_LONG. */
export function validateDescription(value: unknown): string {
  const s = requireString(value, 'description');
  if (s.length > LIMITS.description) throw tooLong('description', LIMITS.description);
  return s;
}

export function validateJobType(value: unknown): JobType {
  if (typeof value === 'string' && (JOB_TYPES as readonly string[]).includes(value)) return value as JobType;
  throw invalid(`job type must be one of ${JOB_TYPES.join(', ')}`);
}

/** SetPriority: an undefined value → E_NOTIMPL. */
export function validatePriority(value: unknown): JobPriority {
  if (typeof value === 'string' && (JOB_PRIORITIES as readonly string[]).includes(value)) return value as JobPriority;
  throw new BitsError('E_NOTIMPL', `priority must be one of ${JOB_PRIORITIES.join(', ')}`);
}

/** SetNotifyFlags: unknown bits → E_NOTIMPL (range first: `&` would wrap 2^32 to 0). */
export function validateNotifyFlags(value: unknown): number {
  if (!inIntegerRange(value, INTEGER_RANGES.notifyFlags) || (value & ~NOTIFY_FLAGS_MASK) !== 0) {
    throw new BitsError('E_NOTIMPL', `notify flags must be a combination of 0x${NOTIFY_FLAGS_MASK.toString(16)}`);
  }
  return value as number;
}

/** SetSecurityFlags: unsupported bit → E_NOTIMPL. */
export function validateSecurityFlags(value: unknown): number {
  const n = value as number;
  if (!inIntegerRange(n, INTEGER_RANGES.securityFlags) || (n & ~SECURITY_FLAGS_MASK) !== 0 || (n & 0x0300) === 0x0300) {
    throw new BitsError('E_NOTIMPL', 'security flags contain an unsupported bit');
  }
  return n;
}

/** A duration in whole seconds (0 … 2^32-1, as BITS's ULONG). */
export function validateSeconds(value: unknown, what: string): number {
  if (!inIntegerRange(value, INTEGER_RANGES.seconds)) {
    throw invalid(`${what} must be a whole number of seconds between 0 and 4294967295`);
  }
  return value as number;
}

/** SetMinimumRetryDelay: values under 5 s are clamped to 5 s. */
export function validateMinimumRetryDelay(value: unknown): number {
  return Math.max(MIN_RETRY_DELAY_FLOOR, validateSeconds(value, 'minimum retry delay'));
}

export function validateBandwidth(value: unknown): number {
  if (!inIntegerRange(value, INTEGER_RANGES.bandwidth))
    throw invalid('bandwidth must be a whole number of bytes per second ≥ 0');
  return value as number;
}

/** Beyond BITS: the most connections one download file may use (aria2's -x allows 16 too). */
export const MAX_CONNECTIONS = INTEGER_RANGES.maxConnections.max;

export function validateMaxConnections(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_CONNECTIONS) {
    throw invalid(`max connections must be a whole number from 1 to ${MAX_CONNECTIONS}`);
  }
  return value as number;
}

/** Beyond BITS: the most mirrors one file may list. */
export const MAX_MIRRORS = 16;

/** A file's mirror list: at most MAX_MIRRORS distinct http(s) URLs, each a valid remote name. */
export function validateMirrors(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_MIRRORS) {
    throw invalid(`mirrors must be a list of at most ${MAX_MIRRORS} URLs`);
  }
  const list = value.map((v: unknown) => validateRemoteUrl(v));
  for (const url of list) {
    if (!/^https?:/iu.test(url)) throw invalid(`a mirror must be an http or https URL: ${url}`);
  }
  if (new Set(list).size !== list.length) throw invalid('mirrors name the same URL twice');
  return list;
}

/** Hex digits of each algorithm's digest. */
const DIGEST_HEX: Record<DigestAlgorithm, number> = { 'sha-256': 64, 'sha-512': 128, 'sha-1': 40, md5: 32 };
/** The most piece digests one file may carry. */
export const MAX_PIECES = 1_000_000;

function digestValue(algorithm: unknown, value: unknown, what: string): { algorithm: DigestAlgorithm; value: string } {
  if (typeof algorithm !== 'string' || !(DIGEST_ALGORITHMS as readonly string[]).includes(algorithm.toLowerCase())) {
    throw invalid(`${what}: the algorithm must be one of ${DIGEST_ALGORITHMS.join(', ')}`);
  }
  const alg = algorithm.toLowerCase() as DigestAlgorithm;
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${DIGEST_HEX[alg]}}$`, 'u').test(value)) {
    throw invalid(`${what}: a ${alg} digest is ${DIGEST_HEX[alg]} hex digits`);
  }
  return { algorithm: alg, value: value.toLowerCase() };
}

/** A file's whole-file digests: at most one per algorithm, hex of the right length. */
export function validateDigests(value: unknown): FileDigest[] {
  if (!Array.isArray(value) || value.length > DIGEST_ALGORITHMS.length) {
    throw invalid(`digests must be a list of at most ${DIGEST_ALGORITHMS.length} { algorithm, value }`);
  }
  const list = value.map((d: unknown) => {
    const { algorithm, value: v } = (d ?? {}) as Record<string, unknown>;
    return digestValue(algorithm, v, 'digest');
  });
  if (new Set(list.map((d) => d.algorithm)).size !== list.length) throw invalid('one digest per algorithm');
  return list;
}

/** Piece digests: an algorithm, a piece length of 16 KiB to 1 GiB, and the hex digests in order. */
export function validatePieces(value: unknown): PieceDigests | null {
  if (value === null) return null;
  const { algorithm, length, hashes } = (value ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(length) || (length as number) < 16 * 1024 || (length as number) > 2 ** 30) {
    throw invalid('pieces: the piece length must be 16 KiB to 1 GiB');
  }
  if (!Array.isArray(hashes) || hashes.length === 0 || hashes.length > MAX_PIECES) {
    throw invalid(`pieces: 1 to ${MAX_PIECES} piece digests`);
  }
  const checked = hashes.map((h: unknown) => digestValue(algorithm, h, 'pieces'));
  return {
    algorithm: checked[0]?.algorithm as DigestAlgorithm,
    length: length as number,
    hashes: checked.map((h) => h.value),
  };
}

/**
 * A published file's mode: permission bits only (0 to 0o777; no setuid, setgid or sticky bit,
 * which a download must never get), or null for "follow the umask".
 */
export function validateFileMode(value: unknown): number | null {
  if (value === null) return null;
  if (!inIntegerRange(value, INTEGER_RANGES.fileMode)) {
    throw invalid('file mode must be permission bits from 0 to 0777 (e.g. 0600), or null to follow the umask');
  }
  return value as number;
}

const REMOTE_SCHEMES = new Set(['http:', 'https:', 'file:']);

/**
 * A remote name: ≤ 2,200 chars, http/https/file only, no wildcards, only legal URL characters
 * (BITS performs no escaping), userinfo allowed (the store moves it into the job's credentials:
 * splitUrlCredentials). Returns the string as given.
 */
export function validateRemoteUrl(value: unknown, options: { uploadOnly?: boolean } = {}): string {
  const s = requireString(value, 'remote name');
  if (s.length === 0) throw invalid('remote name is empty');
  if (s.length > LIMITS.url) throw invalid(`remote name is longer than ${LIMITS.url} characters`);
  if (/[\s<>"{}|\\^`*?]/u.test(s.replace(/\?.*$/u, '')) || /[\s\u0000-\u001f\u007f]/u.test(s)) {
    throw invalid(`remote name contains characters that are not legal in a URL: ${JSON.stringify(s)}`);
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw invalid(`remote name is not a valid URL: ${s}`);
  }
  if (!REMOTE_SCHEMES.has(url.protocol))
    throw invalid(`unsupported protocol ${url.protocol} (http, https and file are supported)`);
  if (options.uploadOnly === true && url.protocol === 'file:') throw invalid('upload jobs need an http or https URL');
  // WHATWG parsing turns `http:///x` into host "x": require the authority in the text itself.
  if (url.protocol !== 'file:' && (url.hostname === '' || !/^https?:\/\/[^/?#]/iu.test(s))) {
    throw invalid(`remote name has no host: ${s}`);
  }
  if (url.protocol === 'file:' && (url.host !== '' || !url.pathname.startsWith('/'))) {
    throw invalid('file URLs must name a local absolute path (file:///path)');
  }
  return s;
}

/** What `splitUrlCredentials` found: the URL without userinfo, and the userinfo if any. */
export interface UrlWithoutCredentials {
  readonly url: string;
  readonly credentials: { readonly userName: string; readonly password: string } | null;
}

/**
 * A remote name's userinfo (`http://user:pw@host/…`) split off: the URL text without it
 * (otherwise as given) and the user name and password, percent-decoded. BITS keeps them as the
 * job's server credentials, never in the stored or shown URL. `url` must be a valid URL.
 */
export function splitUrlCredentials(url: string): UrlWithoutCredentials {
  // The authority ends at the first / ? #; userinfo ends at the last @ before it.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/u.exec(url);
  if (m === null) return { url, credentials: null };
  const parsed = new URL(url);
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const userName = decode(parsed.username);
  const password = decode(parsed.password);
  return {
    url: `${m[1]}${url.slice(m[0].length)}`,
    credentials: userName === '' && password === '' ? null : { userName, password },
  };
}

/** A `.` or `..` segment of a path (every segment follows a slash). */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/u;

/** A local name: absolute, normalised (no `.`/`..` segments), no NUL or newline, ≤ PATH_MAX. */
export function validateLocalPath(value: unknown, what = 'local name'): string {
  const s = requireString(value, what);
  if (!s.startsWith('/')) throw invalid(`${what} must be an absolute path: ${JSON.stringify(s)}`);
  if (s.length > LIMITS.localPath) throw invalid(`${what} is longer than ${LIMITS.localPath} characters`);
  if (/[\n\r]/u.test(s)) throw invalid(`${what} must not contain a line break`);
  if (/[*?]/u.test(s)) throw invalid(`${what} must not contain wildcards`);
  // Tested without splitting the path: no array per name (AddFileSet checks 1,000 at once).
  if (DOT_SEGMENT.test(s)) throw invalid(`${what} must not contain . or .. segments`);
  if (s.endsWith('/')) throw invalid(`${what} must name a file, not a folder`);
  return s;
}

/** Names the daemon owns; a caller may not set them (reliability-security-performance.md §3.3). */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'range',
  'if-range',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-connection',
  'expect',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/u;

/**
 * SetCustomHeaders: CRLF-separated `Name: value` lines, ≤ 16,384 chars including the
 * terminator (BG_E_STRING_TOO_LONG); names are RFC 9110 tokens; values carry no CR, LF or NUL.
 * Accepts an array of lines too. Returns the canonical CRLF-joined text (null clears).
 */
export function validateCustomHeaders(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const lines = Array.isArray(value) ? value : requireString(value, 'custom headers').split('\r\n');
  const kept: string[] = [];
  for (const raw of lines) {
    if (typeof raw !== 'string') throw invalid('custom headers must be strings');
    if (raw === '') continue;
    if (/[\r\n\0]/u.test(raw)) throw invalid('a custom header must not contain CR, LF or NUL');
    const colon = raw.indexOf(':');
    if (colon <= 0) throw invalid(`custom header is not "Name: value": ${JSON.stringify(raw)}`);
    const name = raw.slice(0, colon);
    if (!TOKEN.test(name)) throw invalid(`custom header name is not a valid token: ${JSON.stringify(name)}`);
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      throw invalid(`custom header ${name} is set by openbits and cannot be overridden`);
    kept.push(`${name}: ${raw.slice(colon + 1).trim()}`);
  }
  if (kept.length === 0) return null;
  const text = `${kept.join('\r\n')}\r\n`;
  if (text.length + 1 > LIMITS.customHeaders) throw tooLong('custom headers', LIMITS.customHeaders);
  return text;
}

/** Parse stored custom headers into pairs. */
export function parseCustomHeaders(text: string | null): Array<[string, string]> {
  if (text === null) return [];
  return text
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
}

/** AddFileWithRanges ranges (bits-client.md §5.4). */
export function validateRanges(value: unknown): FileRange[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('at least one range is required');
  const ranges: FileRange[] = value.map((r: unknown) => {
    const { offset, length } = (r ?? {}) as { offset?: unknown; length?: unknown };
    if (offset === LENGTH_TO_EOF) throw new BitsError('BG_E_INVALID_RANGE', 'a range cannot start at BG_LENGTH_TO_EOF');
    if (!Number.isSafeInteger(offset) || (offset as number) < 0)
      throw new BitsError('BG_E_INVALID_RANGE', 'range offset must be a whole number ≥ 0');
    if (length !== LENGTH_TO_EOF && (!Number.isSafeInteger(length) || (length as number) <= 0)) {
      throw new BitsError('BG_E_INVALID_RANGE', 'range length must be > 0 or BG_LENGTH_TO_EOF');
    }
    return { offset: offset as number, length: length as number };
  });
  // BITS sorts by offset only; any overlap, duplicate or range after a to-EOF range is rejected.
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as FileRange;
    const cur = sorted[i] as FileRange;
    if (prev.length === LENGTH_TO_EOF || prev.offset + prev.length > cur.offset || prev.offset === cur.offset) {
      throw new BitsError('BG_E_OVERLAPPING_RANGES', `ranges overlap at offset ${cur.offset}`);
    }
  }
  return ranges;
}

/** SetProxySettings (bits-client.md §5.9). */
export function validateProxySettings(value: unknown): ProxySettings {
  const { usage, proxyList = null, bypassList = null } = (value ?? {}) as Partial<Record<keyof ProxySettings, unknown>>;
  if (typeof usage !== 'string' || !(PROXY_USAGES as readonly string[]).includes(usage)) {
    throw new BitsError('E_NOTIMPL', `proxy usage must be one of ${PROXY_USAGES.join(', ')}`);
  }
  const list = proxyList === null ? null : requireString(proxyList, 'proxy list');
  const bypass = bypassList === null ? null : requireString(bypassList, 'proxy bypass list');
  if (usage === 'OVERRIDE') {
    if (list === null || list.trim() === '') throw invalid('OVERRIDE needs a proxy list');
  } else if (list !== null || bypass !== null) {
    throw invalid(`proxy and bypass lists must be NULL unless usage is OVERRIDE`);
  }
  if (list !== null && list.length > LIMITS.proxyList) throw new BitsError('BG_E_PROXY_LIST_TOO_LARGE');
  if (bypass !== null && bypass.length > LIMITS.proxyList) throw new BitsError('BG_E_PROXY_BYPASS_LIST_TOO_LARGE');
  if (list !== null) {
    for (const entry of list.split(/[\s,;]+/u).filter(Boolean)) {
      if (!/^((https?)=)?((https?):\/\/)?[A-Za-z0-9.\-_[\]:]+(:\d{1,5})?$/u.test(entry)) {
        throw invalid(`proxy entry is not [scheme=][scheme://]server[:port]: ${entry}`);
      }
    }
  }
  return { usage: usage as ProxySettings['usage'], proxyList: list, bypassList: bypass };
}

/** SetCredentials (bits-client.md §5.3). */
/** The schemes the transfer engines answer; NTLM, NEGOTIATE and PASSPORT are refused with E_NOTIMPL. */
export const ANSWERED_AUTH_SCHEMES = ['BASIC', 'DIGEST'] as const;

export function validateCredentials(value: unknown): Credentials {
  const {
    target,
    scheme,
    userName = null,
    password = null,
  } = (value ?? {}) as Partial<Record<keyof Credentials, unknown>>;
  if (typeof target !== 'string' || !(AUTH_TARGETS as readonly string[]).includes(target)) {
    throw new BitsError('BG_E_INVALID_AUTH_TARGET', `auth target must be one of ${AUTH_TARGETS.join(', ')}`);
  }
  if (typeof scheme !== 'string' || !(AUTH_SCHEMES as readonly string[]).includes(scheme)) {
    throw new BitsError('BG_E_INVALID_AUTH_SCHEME', `auth scheme must be one of ${AUTH_SCHEMES.join(', ')}`);
  }
  if (!(ANSWERED_AUTH_SCHEMES as readonly string[]).includes(scheme)) {
    // Accepting them would store credentials no request ever sends (the challenge fails later).
    throw new BitsError(
      'E_NOTIMPL',
      `${scheme} authentication is not implemented: openbits answers Basic and Digest challenges only`,
    );
  }
  const user = userName === null ? null : requireString(userName, 'user name');
  const pass = password === null ? null : requireString(password, 'password');
  if ((scheme === 'BASIC' || scheme === 'DIGEST') && (user === null || pass === null)) {
    throw invalid(`${scheme} credentials need a user name and a password`);
  }
  if (user !== null && user.length > LIMITS.userName) throw new BitsError('BG_E_USERNAME_TOO_LARGE');
  if (pass !== null && pass.length > LIMITS.password) throw new BitsError('BG_E_PASSWORD_TOO_LARGE');
  return {
    target: target as Credentials['target'],
    scheme: scheme as Credentials['scheme'],
    userName: user,
    password: pass,
  };
}

/**
 * SetNotifyCmdLine: program is an absolute path (no search-path lookup); parameters ≤ 4,000
 * chars; both null removes; program null with parameters fails.
 */
export function validateNotifyCmdLine(program: unknown, parameters: unknown): NotifyCmdLine | null {
  if ((program === null || program === undefined) && (parameters === null || parameters === undefined)) return null;
  if (program === null || program === undefined) throw invalid('a notify command line needs a program');
  const prog = requireString(program, 'notify program');
  if (prog.length > LIMITS.notifyProgram) throw tooLong('notify program', LIMITS.notifyProgram);
  validateLocalPath(prog, 'notify program');
  const params =
    parameters === null || parameters === undefined ? null : requireString(parameters, 'notify parameters');
  if (params !== null && params.length > LIMITS.notifyParameters)
    throw tooLong('notify parameters', LIMITS.notifyParameters);
  return { program: prog, parameters: params };
}

/** Most of a caller's value an error message echoes (a bad id may be megabytes long). */
export const ECHO_LIMIT = 100;

/** A caller's value quoted for an error message: its first ECHO_LIMIT characters at most. */
export function quoted(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return s.length <= ECHO_LIMIT
    ? JSON.stringify(s)
    : `${JSON.stringify(s.slice(0, ECHO_LIMIT))}… (${s.length} characters)`;
}

/** A job id is a GUID in braces or bare; returned lower-case without braces. */
export function normalizeJobId(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/u.exec(value);
  return m?.[1]?.toLowerCase() ?? null;
}

/** `{GUID}` as bitsadmin prints it. */
export function formatJobId(id: string): string {
  return `{${id.toUpperCase()}}`;
}
