import type { ErrorName } from './error-codes.ts';
import { NOTIFY_FLAGS_MASK, SECURITY_FLAGS_MASK } from './job.ts';

/** BITS's hard limits (bits-client.md §9.2) and the policy defaults (§9.1). */
export const LIMITS = {
  displayName: 256,
  description: 1024,
  url: 2200,
  /** Linux PATH_MAX. */
  localPath: 4096,
  customHeaders: 16384,
  proxyList: 4000,
  userName: 300,
  password: 65535,
  notifyProgram: 4096,
  notifyParameters: 4000,
  replyData: 1024 * 1024,
} as const;

/** Quotas enforced by the store (bits-client.md §9.1); configurable, admins exempt. */
export interface Quotas {
  readonly maxJobsPerUser: number;
  readonly maxJobsPerMachine: number;
  readonly maxFilesPerJob: number;
  readonly maxRangesPerFile: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  maxJobsPerUser: 60,
  maxJobsPerMachine: 300,
  maxFilesPerJob: 200,
  maxRangesPerFile: 500,
};

/** JobInactivityTimeout policy default: 90 days. */
export const DEFAULT_JOB_INACTIVITY_TIMEOUT_S = 90 * 24 * 3600;

/**
 * How long a job that reached ACKNOWLEDGED or CANCELLED stays readable by its id. A BITS job
 * pointer answers its getters until the caller releases it; a job id is never released, so the
 * finished record is kept this long, then removed.
 */
export const FINISHED_JOB_RETENTION_MS = 24 * 3600 * 1000;

/** A whole-number field's range and the BITS error a value outside it gets. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
  readonly error: ErrorName;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Every integer a caller hands in, with its range and BITS code, written once: the API edge's
 * schemas (api/schemas.ts), the CLI's parsers (cli/parse-values.ts) and the store's rules
 * (validate.ts) check against these, so 4294967296 or 1e300 gets the same answer everywhere.
 */
export const INTEGER_RANGES = {
  /** SetNotifyFlags: an undefined bit is E_NOTIMPL (bits-client.md §5.2). */
  notifyFlags: { min: 0, max: NOTIFY_FLAGS_MASK, error: 'E_NOTIMPL' },
  /** SetSecurityFlags: an unsupported bit is E_NOTIMPL. */
  securityFlags: { min: 0, max: SECURITY_FLAGS_MASK, error: 'E_NOTIMPL' },
  /** Retry delay, no-progress timeout, maximum download time: a ULONG of seconds. */
  seconds: { min: 0, max: 0xffffffff, error: 'E_INVALIDARG' },
  /** Bytes per second; 0 removes the cap. */
  bandwidth: { min: 0, max: MAX_SAFE, error: 'E_INVALIDARG' },
  maxDownloadSize: { min: 1, max: MAX_SAFE, error: 'BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE' },
  /** Permission bits of published files. */
  fileMode: { min: 0, max: 0o777, error: 'E_INVALIDARG' },
  rangeOffset: { min: 0, max: MAX_SAFE, error: 'BG_E_INVALID_RANGE' },
  /** -1 is BG_LENGTH_TO_EOF; 0 is refused by validateRanges. */
  rangeLength: { min: -1, max: MAX_SAFE, error: 'BG_E_INVALID_RANGE' },
  /** Beyond BITS: connections per file (validate.ts MAX_CONNECTIONS). */
  maxConnections: { min: 1, max: 16, error: 'E_INVALIDARG' },
  /** BITS_JOB_PROPERTY_ID_COST_FLAGS: a DWORD mask; cost.ts checks its bits. */
  costFlags: { min: 1, max: 0xffffffff, error: 'E_INVALIDARG' },
  /** A file's index in its job. */
  fileIndex: { min: 0, max: 0xffffffff, error: 'E_INVALIDARG' },
} as const satisfies Record<string, IntegerRange>;

/** Whether `value` is a whole number within `range`. */
export function inIntegerRange(value: unknown, range: IntegerRange): value is number {
  return Number.isSafeInteger(value) && (value as number) >= range.min && (value as number) <= range.max;
}
