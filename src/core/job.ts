import type { BitsErrorData } from './bits-error.ts';
import type { JobPriority, JobState, JobType, ProxyUsage } from './job-state.ts';
import type { Webhook } from './webhook.ts';

/** BG_SIZE_UNKNOWN is (UINT64)-1; openbits reports it as -1. */
export const SIZE_UNKNOWN = -1;

/** BG_NOTIFY_* flags (bits-client.md §6.1). */
export const NotifyFlag = {
  JOB_TRANSFERRED: 0x1,
  JOB_ERROR: 0x2,
  DISABLE: 0x4,
  JOB_MODIFICATION: 0x8,
  FILE_TRANSFERRED: 0x10,
  FILE_RANGES_TRANSFERRED: 0x20,
} as const;
export const NOTIFY_FLAGS_MASK = 0x3f;

/** BG_SSL_* and BG_HTTP_REDIRECT_POLICY_* security flags (bits-client.md §5.10). */
export const SecurityFlag = {
  ENABLE_CRL_CHECK: 0x0001,
  IGNORE_CERT_CN_INVALID: 0x0002,
  IGNORE_CERT_DATE_INVALID: 0x0004,
  IGNORE_UNKNOWN_CA: 0x0008,
  IGNORE_CERT_WRONG_USAGE: 0x0010,
  REDIRECT_POLICY_ALLOW_SILENT: 0x0000,
  REDIRECT_POLICY_ALLOW_REPORT: 0x0100,
  REDIRECT_POLICY_DISALLOW: 0x0200,
  REDIRECT_POLICY_MASK: 0x0700,
  REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP: 0x0800,
} as const;
export const SECURITY_FLAGS_MASK = 0x001f | 0x0300 | 0x0800;

export type RedirectPolicy = 'ALLOW_SILENT' | 'ALLOW_REPORT' | 'DISALLOW';

export function redirectPolicy(securityFlags: number): RedirectPolicy {
  switch (securityFlags & SecurityFlag.REDIRECT_POLICY_MASK) {
    case SecurityFlag.REDIRECT_POLICY_ALLOW_REPORT:
      return 'ALLOW_REPORT';
    case SecurityFlag.REDIRECT_POLICY_DISALLOW:
      return 'DISALLOW';
    default:
      return 'ALLOW_SILENT';
  }
}

/** BG_AUTH_TARGET / BG_AUTH_SCHEME. */
export const AUTH_TARGETS = ['SERVER', 'PROXY'] as const;
export type AuthTarget = (typeof AUTH_TARGETS)[number];
export const AUTH_SCHEMES = ['BASIC', 'DIGEST', 'NTLM', 'NEGOTIATE', 'PASSPORT'] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

export interface Credentials {
  readonly target: AuthTarget;
  readonly scheme: AuthScheme;
  readonly userName: string | null;
  readonly password: string | null;
}

/** BG_FILE_RANGE; length -1 is BG_LENGTH_TO_EOF. */
export interface FileRange {
  readonly offset: number;
  readonly length: number;
}
export const LENGTH_TO_EOF = -1;

/** BG_FILE_PROGRESS. */
export interface FileProgress {
  readonly bytesTotal: number;
  readonly bytesTransferred: number;
  readonly completed: boolean;
}

/** BG_JOB_PROGRESS. */
export interface JobProgress {
  readonly bytesTotal: number;
  readonly bytesTransferred: number;
  readonly filesTotal: number;
  readonly filesTransferred: number;
}

/** BG_JOB_REPLY_PROGRESS. */
export interface ReplyProgress {
  readonly bytesTotal: number;
  readonly bytesTransferred: number;
}

/** BG_JOB_TIMES, as epoch milliseconds; transferCompletionTime null until TRANSFERRED. */
export interface JobTimes {
  readonly creationTime: number;
  readonly modificationTime: number;
  readonly transferCompletionTime: number | null;
}

/** Validators seen on the first response for a file; a change restarts the file. */
export interface RemoteValidators {
  readonly size: number;
  readonly lastModified: string | null;
  readonly etag: string | null;
}

/**
 * Beyond BITS: one part of a segmented download (docs/transfer.md, segmented downloads): the
 * bytes [start, end) of the file, durable (fdatasync'ed) from start up to `done`.
 */
export interface FileSegment {
  readonly start: number;
  readonly end: number;
  readonly done: number;
}

/** Beyond BITS: digest algorithms a file may be checked with (md5 and sha-1 for old mirrors). */
export const DIGEST_ALGORITHMS = ['sha-256', 'sha-512', 'sha-1', 'md5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** Beyond BITS: a whole-file digest, as lower-case hex. */
export interface FileDigest {
  readonly algorithm: DigestAlgorithm;
  readonly value: string;
}

/** Beyond BITS: digests of the file's consecutive pieces of `length` bytes (the last may be shorter). */
export interface PieceDigests {
  readonly algorithm: DigestAlgorithm;
  readonly length: number;
  readonly hashes: readonly string[];
}

/** One file of a job. */
export interface JobFile {
  /** Position in the job (insertion order, 0-based). */
  readonly index: number;
  readonly remoteName: string;
  readonly localName: string;
  readonly ranges: readonly FileRange[] | null;
  readonly bytesTotal: number;
  readonly bytesTransferred: number;
  /** Every byte is in the temp file (BITS "transferred"). */
  readonly transferred: boolean;
  /** Renamed to the local name by Complete (BG_FILE_PROGRESS.Completed). */
  readonly completed: boolean;
  readonly temporaryName: string | null;
  /** `dev:ino` of the temp file when created; a file with another identity is not trusted. */
  readonly temporaryFileId: string | null;
  /**
   * Beyond BITS: the mode the download gave the finished temp file, with the server's
   * Last-Modified as its time, before the fsync its TRANSFERRED record waited for (null: not made
   * ready). When it is still the mode to publish with, Complete only renames the file.
   */
  readonly readyMode: number | null;
  readonly validators: RemoteValidators | null;
  /**
   * Beyond BITS: the durable progress of a segmented download, one entry per segment (their
   * `done - start` add up to bytesTransferred), or null for a file fetched front to back.
   */
  readonly segments: readonly FileSegment[] | null;
  /**
   * Beyond BITS: other URLs of the same file, tried after the remote name (docs/transfer.md,
   * mirrors); parts of a segmented download spread over all of them.
   */
  readonly mirrors: readonly string[];
  /** Beyond BITS: whole-file digests checked before the file counts as transferred. */
  readonly digests: readonly FileDigest[];
  /** Beyond BITS: piece digests (from a Metalink): a bad piece is fetched again, alone. */
  readonly pieces: PieceDigests | null;
}

export interface ProxySettings {
  readonly usage: ProxyUsage;
  readonly proxyList: string | null;
  readonly bypassList: string | null;
}

export interface NotifyCmdLine {
  readonly program: string;
  readonly parameters: string | null;
}

/** The persistent record of a job: every BITS property (bits-client.md §5). */
export interface Job {
  readonly id: string;
  readonly type: JobType;
  readonly displayName: string;
  readonly description: string;
  readonly owner: string;
  readonly state: JobState;
  readonly priority: JobPriority;
  readonly minimumRetryDelay: number;
  readonly noProgressTimeout: number;
  readonly maximumDownloadTime: number;
  readonly notifyFlags: number;
  readonly notifyCmdLine: NotifyCmdLine | null;
  readonly proxy: ProxySettings;
  readonly securityFlags: number;
  readonly customHeaders: string | null;
  readonly customHeadersWriteOnly: boolean;
  readonly credentials: readonly Credentials[];
  readonly dynamicContent: boolean;
  readonly highPerformance: boolean;
  readonly maxDownloadSize: number | null;
  /** Beyond BITS: per-job bandwidth cap in bytes per second (0 = none). */
  readonly maxBandwidth: number;
  /**
   * Beyond BITS: the mode of the files Complete publishes (e.g. 0o600), or null to follow the
   * service's umask (0o666 & ~umask, as curl and wget create files). Temp files are 0600 while
   * they fill; a finished one gets this mode before Complete when it gives no one but the owner
   * write access (docs/transfer.md).
   */
  readonly fileMode: number | null;
  /**
   * Beyond BITS: connections one download file may use at once (1–16); a file is split into
   * segments only when the server honours Range and each part is worth a connection.
   */
  readonly maxConnections: number;
  /**
   * BITS_JOB_PROPERTY_ID_COST_FLAGS: the network cost states the job may transfer on (cost.ts),
   * or null until set: then the policy's default for its priority applies (BITS: "always").
   */
  readonly costFlags: number | null;
  readonly replyFileName: string | null;
  readonly errorCount: number;
  readonly error: (BitsErrorData & { readonly fileIndex: number | null }) | null;
  readonly times: JobTimes;
  /** True once Resume was called at least once (some properties freeze then). */
  readonly everResumed: boolean;
  /** Beyond BITS: URLs told of the job's transferred/error/complete/cancel events (docs/webhooks.md). */
  readonly webhooks: readonly Webhook[];
  readonly files: readonly JobFile[];
}

/** Defaults of a new job (bits-client.md §5.1, §18.1). */
export const JOB_DEFAULTS = {
  priority: 'NORMAL',
  minimumRetryDelay: 600,
  noProgressTimeout: 1_209_600,
  maximumDownloadTime: 7_776_000,
  notifyFlags: NotifyFlag.JOB_TRANSFERRED | NotifyFlag.JOB_ERROR,
  proxy: { usage: 'PRECONFIG', proxyList: null, bypassList: null },
  securityFlags: 0,
  maxConnections: 1,
} as const satisfies Partial<Job>;

/** MinimumRetryDelay below 5 s is clamped to 5 s. */
export const MIN_RETRY_DELAY_FLOOR = 5;

/** Job-level progress derived from the files (BytesTotal unknown until every size is known). */
export function jobProgress(files: readonly JobFile[]): JobProgress {
  let bytesTotal = 0;
  let bytesTransferred = 0;
  let filesTransferred = 0;
  let unknown = false;
  for (const f of files) {
    if (f.bytesTotal === SIZE_UNKNOWN) unknown = true;
    else bytesTotal += f.bytesTotal;
    bytesTransferred += f.bytesTransferred;
    if (f.transferred) filesTransferred++;
  }
  return {
    bytesTotal: unknown ? SIZE_UNKNOWN : bytesTotal,
    bytesTransferred,
    filesTotal: files.length,
    filesTransferred,
  };
}

/**
 * The reply file BITS names when SetReplyFileName gave none (or NULL): beside the file to upload,
 * `<local name>.<job id>.reply`. Local names are absolute with no trailing slash, so appending is
 * the same as joining the folder and the new base name.
 */
export function generatedReplyFileName(localName: string, jobId: string): string {
  return `${localName}.${jobId}.reply`;
}

export function fileProgress(file: JobFile): FileProgress {
  return { bytesTotal: file.bytesTotal, bytesTransferred: file.bytesTransferred, completed: file.completed };
}

/** Timers kept as elapsed amounts, so a reboot (new monotonic epoch) or wall jump changes nothing. */
export interface JobTimers {
  /** Time spent CONNECTING+TRANSFERRING since the last Resume (MaxDownloadTime). */
  readonly activeMs: number;
  /** Time without progress since the first transient error, or null (NoProgressTimeout). */
  readonly noProgressMs: number | null;
  /** Retry delay still to wait in TRANSIENT_ERROR, or null. */
  readonly retryRemainingMs: number | null;
  /** Time since the last activity (JobInactivityTimeout). */
  readonly inactiveMs: number;
}
