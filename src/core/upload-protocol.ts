/**
 * The BITS upload protocol ([MC-BUP]) as data: packet types, header names, the protocol GUID,
 * error-header formatting and parsing, and the server-application status table. Shared by the
 * upload server and the upload client (reference: bits-upload-protocol.md). Pure: no I/O.
 */
import { type ErrorContext, errorContextValue } from './bits-error.ts';

/** The only upload protocol: "BITS 1.5 Upload Protocol" (§3), as Windows sends it. */
export const BITS_PROTOCOL_GUID = '{7df0354d-249b-430f-820d-3d2a9bef4931}';

/** The extension method every upload packet uses (§2). */
export const BITS_POST = 'BITS_POST';

/** Request packet types in the casing Windows puts on the wire (§2: compare case-insensitively). */
export const PACKET_TYPES = ['Ping', 'Create-Session', 'Fragment', 'Close-Session', 'Cancel-Session'] as const;
export type PacketType = (typeof PACKET_TYPES)[number];

/** The one response packet type. */
export const ACK = 'Ack';

const PACKET_BY_LOWER: ReadonlyMap<string, PacketType> = new Map(PACKET_TYPES.map((p) => [p.toLowerCase(), p]));

/** Canonical packet type for a header value, whatever its case; undefined if unknown. */
export function parsePacketType(value: string | undefined): PacketType | undefined {
  if (value === undefined) return undefined;
  return PACKET_BY_LOWER.get(value.trim().toLowerCase());
}

/** Header names (§5). HTTP header names are case-insensitive: look them up lower-cased. */
export const BITS_HEADERS = {
  packetType: 'BITS-Packet-Type',
  supportedProtocols: 'BITS-Supported-Protocols',
  protocol: 'BITS-Protocol',
  sessionId: 'BITS-Session-Id',
  hostId: 'BITS-Host-Id',
  hostIdFallbackTimeout: 'BITS-Host-Id-Fallback-Timeout',
  receivedContentRange: 'BITS-Received-Content-Range',
  replyUrl: 'BITS-Reply-URL',
  errorCode: 'BITS-Error-Code',
  /** [MC-BUP]'s spelling of the error header; clients read it too (§10). */
  errorCodeSpec: 'BITS-Error',
  errorContext: 'BITS-Error-Context',
  contentName: 'Content-Name',
  contentRange: 'Content-Range',
  contentEncoding: 'Content-Encoding',
  acceptEncoding: 'Accept-Encoding',
  /** Non-Windows clients behind method-stripping proxies (§11); Windows never sends it. */
  methodOverride: 'X-Http-Method-Override',
} as const;

/**
 * Our server's own Ack header (not [MC-BUP]): the largest fragment it accepts, in bytes. The
 * protocol lets either side bound fragment sizes (§9.4) but gives no way to say so; without it a
 * client keeps to the Windows ceiling (13 MB, under IIS's 30 MB request filter), with it ours
 * may send more per round trip. Other clients ignore it.
 */
export const MAX_FRAGMENT_HEADER = 'X-Bits-Max-Fragment-Size';

/** Headers of the back-end notification (§8.2): the `DataFile` names the wire uses (§10). */
export const NOTIFY_HEADERS = {
  originalRequestUrl: 'BITS-Original-Request-URL',
  requestDataFileName: 'BITS-Request-DataFile-Name',
  responseDataFileName: 'BITS-Response-DataFile-Name',
  staticResponseUrl: 'BITS-Static-Response-URL',
  copyFileToDestination: 'BITS-Copy-File-To-Destination',
} as const;

/** Protocol limits (§2, §3, §5). */
export const UPLOAD_LIMITS = {
  /** Windows server rejects longer header values with 400 (note <2>). */
  headerValue: 4096,
  sessionId: 100,
  replyUrl: 2200,
  notificationUrl: 2200,
  hostId: 300,
  /** GUIDs accepted in BITS-Supported-Protocols. */
  supportedProtocols: 100,
  contentName: 260,
  /** Windows client fragment bounds (§9.4). */
  minFragment: 5 * 1024,
  maxWindowsFragment: 13 * 1024 * 1024,
} as const;

/** BITS-Error-Context values the server sends (§6.1). */
export const ERROR_CONTEXT_REMOTE_FILE = errorContextValue('REMOTE_FILE');
export const ERROR_CONTEXT_REMOTE_APPLICATION = errorContextValue('REMOTE_APPLICATION');

const GUID_BODY = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** Lower-case braced form of a GUID token, or undefined if it is not a GUID. */
export function normalizeGuid(token: string): string | undefined {
  const m = GUID_BODY.exec(token.trim());
  return m?.[1] === undefined ? undefined : `{${m[1].toLowerCase()}}`;
}

/** Split BITS-Supported-Protocols (space- or comma-separated, §3) into tokens; undefined if over the limit. */
export function parseSupportedProtocols(value: string): string[] | undefined {
  const tokens = value.split(/[\s,]+/).filter((t) => t.length > 0);
  return tokens.length > UPLOAD_LIMITS.supportedProtocols ? undefined : tokens;
}

/**
 * The first offered token that names our protocol (case- and brace-insensitive), verbatim as the
 * client spelled it so the echo in BITS-Protocol matches what it sent; undefined if none.
 */
export function selectProtocol(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const tokens = parseSupportedProtocols(value);
  return tokens?.find((t) => normalizeGuid(t) === BITS_PROTOCOL_GUID);
}

/** A fragment's `Content-Range: bytes S-E/T` (zero-based, inclusive, T = file size). */
export interface FragmentRange {
  readonly start: number;
  readonly end: number;
  readonly total: number;
}

const CONTENT_RANGE = /^bytes[ \t]+(\d{1,16})-(\d{1,16})\/(\d{1,16})$/i;

/** Parse a fragment Content-Range; undefined unless `0 ≤ S ≤ E < T` with safe integers. */
export function parseContentRange(value: string | undefined): FragmentRange | undefined {
  if (value === undefined) return undefined;
  const m = CONTENT_RANGE.exec(value.trim());
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = Number(m[3]);
  if (![start, end, total].every(Number.isSafeInteger)) return undefined;
  if (start > end || end >= total) return undefined;
  return { start, end, total };
}

/** `bytes S-E/T`. */
export function formatContentRange(range: FragmentRange): string {
  return `bytes ${range.start}-${range.end}/${range.total}`;
}

/** BITS-Received-Content-Range is one decimal offset (§5); undefined if not a safe non-negative integer. */
export function parseReceivedContentRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `0x8020001F`: the `0x%08X` form the reference recommends (§10). */
export function formatErrorCode(hresult: number): string {
  return `0x${(hresult >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * Parse a BITS-Error-Code value tolerantly (§10): `0x`-prefixed or bare hex in any case, or a
 * decimal (signed or unsigned) when it cannot be 32-bit hex. Returns the unsigned HRESULT.
 */
export function parseErrorCode(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let n: number;
  if (/^0x[0-9a-f]{1,8}$/i.test(text)) n = Number.parseInt(text.slice(2), 16);
  else if (/^[0-9a-f]{1,8}$/i.test(text)) n = Number.parseInt(text, 16);
  else if (/^-?\d{1,10}$/.test(text)) n = Number(text);
  else return undefined;
  if (n < -0x80000000 || n > 0xffffffff) return undefined;
  return n >>> 0;
}

/** `0x5`-style context, as IIS writes it. */
export function formatErrorContext(context: ErrorContext | number): string {
  const n = typeof context === 'number' ? context : errorContextValue(context);
  return `0x${n.toString(16).toUpperCase()}`;
}

/** Parse BITS-Error-Context (hex with or without `0x`, §10); undefined if malformed. */
export function parseErrorContext(value: string | undefined): number | undefined {
  const n = parseErrorCode(value);
  return n !== undefined && n <= 0xff ? n : undefined;
}

/** A server session id is any HTTP-legal visible string of at most 100 characters ([W32]). */
export function isValidSessionId(value: string): boolean {
  return value.length > 0 && value.length <= UPLOAD_LIMITS.sessionId && /^[\x21-\x7e]+$/.test(value);
}

/** IIS's session id form: upper-case braced GUID (`{A0FF5911-4144-45B3-BF27-27AFC8EC8A67}`). */
export function formatSessionId(uuid: string): string {
  return `{${uuid.toUpperCase()}}`;
}

/** Content-Name: a file name without path, ≤ 260 chars, none of `\ / : * ? " < > |` (note <3>). */
export function isValidContentName(value: string): boolean {
  return value.length > 0 && value.length <= UPLOAD_LIMITS.contentName && !/[\\/:*?"<>|\x00-\x1f]/.test(value);
}

/** The BITS fields of an Ack, read with any header-name case (§14.2 item 2). */
export interface AckFields {
  readonly packetType: string | undefined;
  readonly sessionId: string | undefined;
  readonly protocol: string | undefined;
  readonly receivedContentRange: number | undefined;
  readonly replyUrl: string | undefined;
  readonly hostId: string | undefined;
  /** Seconds; undefined when absent (= never fall back). */
  readonly hostIdFallbackTimeoutS: number | undefined;
  readonly errorCode: number | undefined;
  readonly errorContext: number | undefined;
  /** `X-Bits-Max-Fragment-Size` (our server's advertisement); undefined when absent or invalid. */
  readonly maxFragmentSize: number | undefined;
}

/** Header lookup for any header-bag shape: a Headers-like getter or a plain record. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | null | undefined }).get(name) ?? undefined;
  }
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (k.toLowerCase() === lower) return typeof v === 'string' ? v : v?.[0];
  }
  return undefined;
}

/** Read an Ack's BITS headers; tolerant of case and of the spec's `BITS-Error` name (§10). */
export function parseAck(headers: HeaderSource): AckFields {
  const fallback = headerValue(headers, BITS_HEADERS.hostIdFallbackTimeout);
  const timeout = parseReceivedContentRange(fallback);
  return {
    packetType: headerValue(headers, BITS_HEADERS.packetType)?.trim(),
    sessionId: headerValue(headers, BITS_HEADERS.sessionId)?.trim(),
    protocol: headerValue(headers, BITS_HEADERS.protocol)?.trim(),
    receivedContentRange: parseReceivedContentRange(headerValue(headers, BITS_HEADERS.receivedContentRange)),
    replyUrl: headerValue(headers, BITS_HEADERS.replyUrl)?.trim(),
    hostId: headerValue(headers, BITS_HEADERS.hostId)?.trim(),
    hostIdFallbackTimeoutS: timeout,
    errorCode: parseErrorCode(
      headerValue(headers, BITS_HEADERS.errorCode) ?? headerValue(headers, BITS_HEADERS.errorCodeSpec),
    ),
    errorContext: parseErrorContext(headerValue(headers, BITS_HEADERS.errorContext)),
    maxFragmentSize: parseReceivedContentRange(headerValue(headers, MAX_FRAGMENT_HEADER)),
  };
}

/**
 * Resolve a BITS-Reply-URL against the upload URL (§10): IIS sends it relative with backslashes;
 * map `\` to `/`, percent-encode braces, resolve against the upload URL's directory.
 */
export function resolveReplyUrl(uploadUrl: string, replyUrl: string): string {
  const cleaned = replyUrl.trim().replaceAll('\\', '/').replaceAll('{', '%7B').replaceAll('}', '%7D');
  return new URL(cleaned, uploadUrl).href;
}
