import type { Clock, Credentials, ProxySettings, RemoteValidators, ReplyFacts } from '../../core/index.ts';
import type { RateLimiter, TransferFailure, TransferTimeouts } from '../download-request.ts';

/**
 * What the upload engine needs to move one upload (or upload-reply) file over the BITS upload
 * protocol (bits-upload-protocol.md), and how it reports back. Like the download engine it knows
 * nothing of scheduling or the store: the caller persists every state `onSessionChanged` reports
 * and hands it back on the next call (after a transient error, a suspend or a process restart).
 */
export interface UploadFileRequest {
  readonly jobId: string;
  /** BG_JOB_TYPE: UPLOAD, or UPLOAD_REPLY (the server application's reply is downloaded too). */
  readonly type: 'UPLOAD' | 'UPLOAD_REPLY';
  /** The destination URL (http or https). */
  readonly remoteName: string;
  /** Absolute path of the local file to upload. */
  readonly localName: string;
  /** SetReplyFileName; null: a generated name in the local file's folder (bits-client.md §5.3). */
  readonly replyFileName: string | null;
  /** State persisted from the last call; INITIAL_UPLOAD_SESSION_STATE for a new upload. */
  readonly state: UploadSessionState;
  readonly options: UploadOptions;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** Bandwidth limiter consumed from before fragment bytes are sent (null: unlimited). */
  readonly limiter: RateLimiter | null;
  readonly hooks: UploadHooks;
}

/** Size and modification time of the local file when the upload first started (change detection). */
export interface LocalFileSnapshot {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * Everything an interrupted upload needs to resume (§9.3, §14.2 item 11). Plain data: the
 * caller stores it as JSON.
 */
export interface UploadSessionState extends ReplyFacts {
  /** BITS-Session-Id from the Create-Session Ack, echoed verbatim; null: no session yet. */
  readonly sessionId: string | null;
  /** BITS-Host-Id: later packets go to this host instead of the URL's (§5). */
  readonly hostId: string | null;
  /** BITS-Host-Id-Fallback-Timeout in seconds; null: never fall back to the original host. */
  readonly hostIdFallbackTimeoutS: number | null;
  /** Wall-clock ms of the first failure since the Host-Id server last answered; null: no failure. */
  readonly hostIdFailingSinceMs: number | null;
  /** BITS-Received-Content-Range of the last Ack: the next byte the server wants. */
  readonly bytesAcked: number;
  /** Local file size and mtime taken when the upload first started; null before that. */
  readonly snapshot: LocalFileSnapshot | null;
  /** Absolute reply URL (BITS-Reply-URL resolved), once the final Ack gave it. */
  readonly replyUrl: string | null;
  /** Where the reply is stored once Complete runs (SetReplyFileName or the generated name). */
  readonly replyFileName: string | null;
  /** The reply download's temp file and its progress (as the download engine reports them). */
  readonly replyTemporaryName: string | null;
  readonly replyTemporaryFileId: string | null;
  readonly replyBytesTransferred: number;
  /** -1 (BG_SIZE_UNKNOWN) until the reply download learnt its size. */
  readonly replyBytesTotal: number;
  readonly replyValidators: RemoteValidators | null;
  /** The whole reply is durable in its temp file; only Close-Session is left. */
  readonly replyComplete: boolean;
}

/** A new upload: no session, nothing sent. */
export const INITIAL_UPLOAD_SESSION_STATE: UploadSessionState = Object.freeze({
  sessionId: null,
  hostId: null,
  hostIdFallbackTimeoutS: null,
  hostIdFailingSinceMs: null,
  bytesAcked: 0,
  snapshot: null,
  replyUrl: null,
  replyFileName: null,
  replyTemporaryName: null,
  replyTemporaryFileId: null,
  replyBytesTransferred: 0,
  replyBytesTotal: -1,
  replyValidators: null,
  replyComplete: false,
});

/** Job properties the upload engine uses (the download engine's TransferOptions, plus upload knobs). */
export interface UploadOptions {
  readonly customHeaders: ReadonlyArray<readonly [string, string]>;
  readonly credentials: readonly Credentials[];
  readonly proxy: ProxySettings;
  readonly securityFlags: number;
  /** User-Agent of every packet; default DEFAULT_UPLOAD_USER_AGENT. */
  readonly userAgent?: string;
  /** Request send timeout (idle while sending a packet), ms; default 2 min ([MC-BUP] §3.1.2). */
  readonly requestTimeoutMs?: number;
  /** Response timeout (request sent → Ack headers), ms; default 5 min ([MC-BUP] §3.1.2). */
  readonly responseTimeoutMs?: number;
  /** Connect timeout, ms; default 30 s. */
  readonly connectTimeoutMs?: number;
  /** Send the protocol GUID upper-case (some servers demand it, §3); default false. */
  readonly upperCaseProtocolGuid?: boolean;
  /** First fragment size in bytes (clamped to 5 KiB … 13 MiB); default 1 MiB. */
  readonly initialFragmentSize?: number;
  /** Acks in a row that do not move the offset before the upload fails; default 8. */
  readonly maxStalledAcks?: number;
  /** Reply-download checkpoint spacing (see TransferOptions). */
  readonly checkpointBytes?: number;
  readonly checkpointMs?: number;
  /** Reply-download timeouts (see TransferOptions.timeouts). */
  readonly replyTimeouts?: Partial<TransferTimeouts>;
}

/** Reply download progress (BG_JOB_REPLY_PROGRESS; BytesTotal -1 until known). */
export interface ReplyProgress {
  readonly bytesTotal: number;
  readonly bytesTransferred: number;
}

export interface UploadHooks {
  /** The first Ack arrived: the job may move CONNECTING → TRANSFERRING. */
  onConnected(): void;
  /** Persist this state before anything else relies on it (session id, offset, host id, reply). */
  onSessionChanged(state: UploadSessionState): void;
  /** Bytes the server acknowledged (BG_JOB_PROGRESS of the upload file). */
  onProgress(bytesAcked: number, bytesTotal: number): void;
  /** Reply download progress (GetReplyProgress). */
  onReplyProgress(progress: ReplyProgress): void;
}

/** What a finished upload leaves for the job. */
export interface UploadResult {
  /**
   * Where the reply goes (UPLOAD_REPLY only; null for UPLOAD). The bytes are in
   * `replyTemporaryName` until Complete renames them there (as for downloads, commitFile).
   */
  readonly replyFileName: string | null;
  readonly replyTemporaryName: string | null;
  /** GetReplyData: the reply when it is at most 1 MiB, else null (GetReplyData: BG_E_TOO_LARGE). */
  readonly replyData: Buffer | null;
  /** Reply size in bytes (0 for an empty reply or a plain upload). */
  readonly replySize: number;
}

/** GetReplyData keeps at most this much in memory (BG_E_TOO_LARGE above). */
export const MAX_REPLY_DATA = 1024 * 1024;

/** Default User-Agent: our name, and the Windows client it behaves like (§5). */
export const DEFAULT_UPLOAD_USER_AGENT = 'openbits/0.1 (Microsoft BITS/7.8 compatible)';

/** One Cancel-Session attempt's outcome; the caller retries `retryLater` (24 h or NoProgressTimeout). */
export type CancelOutcome =
  | { readonly outcome: 'done'; readonly status: number | null }
  | { readonly outcome: 'retryLater'; readonly failure: TransferFailure };
