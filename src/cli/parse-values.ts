import {
  AUTH_SCHEMES,
  AUTH_TARGETS,
  type AuthScheme,
  type AuthTarget,
  BitsError,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type FileDigest,
  type FileRange,
  INTEGER_RANGES,
  type IntegerRange,
  JOB_PRIORITIES,
  type JobPriority,
  type JobType,
  LENGTH_TO_EOF,
  MAX_CONNECTIONS,
  PROXY_USAGES,
  type ProxyUsage,
  parseTransferPolicy,
} from './bits-vocabulary.ts';
import { UsageError } from './usage-error.ts';

/**
 * Parsers for the argument values bitsadmin takes. Each throws a UsageError naming the switch
 * for text it cannot read; a well-formed integer outside its range (core's INTEGER_RANGES) is the
 * BITS error the manager would answer. State checks stay with the manager.
 */

/** Throws unless `args` has between `min` and `max` entries. */
export function expectArgs(command: string, args: readonly string[], min: number, max = min): void {
  if (args.length < min) throw new UsageError(`missing argument (expected ${min}, got ${args.length})`, command);
  if (args.length > max) throw new UsageError(`too many arguments: ${args.slice(max).join(' ')}`, command);
}

/** `/bogus`: a slash and a word (an absolute path has a second slash or a dot). */
export function isSwitchToken(token: string): boolean {
  return /^\/[A-Za-z?][A-Za-z0-9_-]*$/u.test(token);
}

/** A switch where a job name, a URL or a known switch belongs. */
export function unknownSwitch(token: string, command: string): UsageError {
  return new UsageError(`unknown switch: ${token}`, command);
}

/** The index-th argument, which expectArgs has already checked is there. */
export function arg(args: readonly string[], index: number): string {
  return args[index] ?? '';
}

/** bitsadmin spells "no value" as NULL (any case). */
export function nullable(value: string | undefined): string | null {
  return value === undefined || value.toUpperCase() === 'NULL' ? null : value;
}

function keyword<T extends string>(command: string, value: string, allowed: readonly T[], what: string): T {
  const upper = value.toUpperCase().replaceAll('-', '_');
  const found = allowed.find((a) => a === upper);
  if (found === undefined) throw new UsageError(`${what} must be one of ${allowed.join(', ')}; got ${value}`, command);
  return found;
}

/** FOREGROUND, HIGH, NORMAL or LOW, any case. */
export function parsePriority(command: string, value: string): JobPriority {
  return keyword(command, value, JOB_PRIORITIES, 'priority');
}

/** PRECONFIG, NO_PROXY, OVERRIDE or AUTODETECT, any case (NO-PROXY too). */
export function parseProxyUsage(command: string, value: string): ProxyUsage {
  return keyword(command, value, PROXY_USAGES, 'proxy usage');
}

/** SERVER or PROXY, any case. */
export function parseAuthTarget(command: string, value: string): AuthTarget {
  return keyword(command, value, AUTH_TARGETS, 'target');
}

/** BASIC, DIGEST, NTLM, NEGOTIATE or PASSPORT, any case. */
export function parseAuthScheme(command: string, value: string): AuthScheme {
  return keyword(command, value, AUTH_SCHEMES, 'scheme');
}

/** `/download`, `/upload`, `/upload-reply` (case-insensitive), or undefined if not a type switch. */
export function jobTypeSwitch(token: string): JobType | undefined {
  switch (token.toLowerCase()) {
    case '/download':
      return 'DOWNLOAD';
    case '/upload':
      return 'UPLOAD';
    case '/upload-reply':
      return 'UPLOAD_REPLY';
    default:
      return undefined;
  }
}

/** A whole number read from text that parsed, checked against `range` (or just for precision). */
function checked(command: string, text: string, n: number, what: string, range?: IntegerRange): number {
  if (range === undefined) {
    if (!Number.isSafeInteger(n)) throw new UsageError(`${what} is too large: ${text}`, command);
    return n;
  }
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new BitsError(range.error, `${what} must be a whole number from ${range.min} to ${range.max}; got ${text}`);
  }
  return n;
}

/** A whole number of seconds (or any count) ≥ 0, decimal; within `range` when given. */
export function parseCount(command: string, value: string, what: string, range?: IntegerRange): number {
  if (!/^\d+$/u.test(value)) throw new UsageError(`${what} must be a whole number ≥ 0; got ${value}`, command);
  return checked(command, value, Number(value), what, range);
}

/** Flags, decimal or 0x-hex, within `range`. */
export function parseFlags(command: string, value: string, what: string, range: IntegerRange): number {
  const n = /^0x[0-9a-f]+$/iu.test(value)
    ? Number.parseInt(value.slice(2), 16)
    : /^\d+$/u.test(value)
      ? Number(value)
      : Number.NaN;
  if (Number.isNaN(n)) throw new UsageError(`${what} must be a number (decimal or 0x-hex); got ${value}`, command);
  return checked(command, value, n, what, range);
}

const BANDWIDTH_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes per second: `65536`, `512k`, `10M`, `1.5m` (binary multiples); 0 means no cap. */
export function parseBandwidth(command: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?$/iu.exec(value);
  const unit = BANDWIDTH_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new UsageError(`bandwidth must be bytes per second, e.g. 65536, 512k or 10M; got ${value}`, command);
  }
  return checked(command, value, Math.round(Number(m[1]) * unit), 'bandwidth', INTEGER_RANGES.bandwidth);
}

/** A file mode: octal permission bits (`0600`, `644`), or `UMASK` (null: follow the umask). */
export function parseFileMode(command: string, value: string): number | null {
  if (value.toLowerCase() === 'umask') return null;
  if (!/^0?[0-7]{3}$/u.test(value)) {
    throw new UsageError(`file mode must be octal permission bits like 0600 or 644, or UMASK; got ${value}`, command);
  }
  return Number.parseInt(value, 8);
}

/** `sha-256=HEX` (or `sha256:HEX`): a whole-file digest; the store checks the hex. */
export function parseDigest(command: string, value: string): FileDigest {
  const m = /^([a-z0-9-]+)[=:]([0-9a-f]+)$/iu.exec(value);
  const algorithm = (m?.[1] ?? '').toLowerCase().replace(/^sha(\d)/u, 'sha-$1');
  if (m === null || !(DIGEST_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`a digest is ALGORITHM=HEX with ${DIGEST_ALGORITHMS.join(', ')}; got ${value}`, command);
  }
  return { algorithm: algorithm as DigestAlgorithm, value: (m[2] ?? '').toLowerCase() };
}

/** Connections per file: a whole number from 1 to MAX_CONNECTIONS. */
export function parseConnections(command: string, value: string): number {
  const n = /^\d{1,2}$/u.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_CONNECTIONS)) {
    throw new UsageError(`connections must be a whole number from 1 to ${MAX_CONNECTIONS}; got ${value}`, command);
  }
  return n;
}

/**
 * A transfer policy (cost flags): Always, NotRoaming, NoSurcharge, Standard, PolicyUnrestricted,
 * cost-state names joined by commas (Unrestricted,BelowCap), a mask (0x80000021), or DEFAULT
 * (null: the policy's default for the job's priority).
 */
export function parseTransferPolicyArg(command: string, value: string): number | null {
  if (value.toLowerCase() === 'default') return null;
  try {
    return parseTransferPolicy(value);
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

/** true/false, yes/no, on/off, 1/0. */
export function parseBoolean(command: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new UsageError(`expected true or false; got ${value}`, command);
}

/** `offset:length[,offset:length…]`, length a number or `eof` (BG_LENGTH_TO_EOF). */
export function parseRangeList(command: string, value: string): FileRange[] {
  return value.split(',').map((part) => {
    const m = /^\s*(\d+)\s*:\s*(\d+|eof)\s*$/iu.exec(part);
    if (m === null) throw new UsageError(`a range must be offset:length or offset:eof; got ${part}`, command);
    const offset = checked(command, part, Number(m[1]), 'range offset', INTEGER_RANGES.rangeOffset);
    const eof = (m[2] ?? '').toLowerCase() === 'eof';
    const length = eof
      ? LENGTH_TO_EOF
      : checked(command, part, Number(m[2]), 'range length', INTEGER_RANGES.rangeLength);
    return { offset, length };
  });
}

/**
 * An /addfileset list file: one `remote local` pair per line, separated by spaces; blank lines
 * and lines starting with `#` are skipped.
 */
export function parseFileSet(command: string, text: string): Array<{ remoteName: string; localName: string }> {
  const files: Array<{ remoteName: string; localName: string }> = [];
  const lines = text.split(/\r?\n/u);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/u);
    if (parts.length !== 2) {
      throw new UsageError(`line ${i + 1} of the file set must be "remote local"; got: ${line}`, command);
    }
    files.push({ remoteName: parts[0] ?? '', localName: parts[1] ?? '' });
  }
  if (files.length === 0) throw new UsageError('the file set lists no files', command);
  return files;
}
