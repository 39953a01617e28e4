import type {
  BitsErrorData,
  Clock,
  Credentials,
  FileDigest,
  FileRange,
  FileSegment,
  PieceDigests,
  ProxySettings,
  RateLimiter,
  RemoteValidators,
} from '../core/index.ts';

/**
 * What the transfer engine needs to move one download file, and how it reports back. The
 * engine knows nothing of scheduling or the store: the caller persists what the hooks report.
 * `downloadFile(req)` resolves when every byte is in the temp file and fdatasync'ed; it rejects
 * with a TransferError (`.failure: TransferFailure`) or, after `signal` aborts, with a
 * DOMException named AbortError (see docs/transfer.md).
 */
export interface DownloadFileRequest {
  readonly jobId: string;
  readonly fileIndex: number;
  readonly remoteName: string;
  readonly localName: string;
  readonly ranges: readonly FileRange[] | null;
  /** Durable offset recorded at the last checkpoint (bytes past it in the temp file are truncated). */
  readonly bytesTransferred: number;
  /** Size known from an earlier attempt (the sum of the ranges' lengths with ranges), or -1. */
  readonly bytesTotal: number;
  /** Validators recorded by onMetadata (`size` is the remote file's size). */
  readonly validators: RemoteValidators | null;
  /** Temp file recorded by onMetadata, or null before the first attempt. */
  readonly temporaryName: string | null;
  /**
   * Identity (`dev:ino`) of the temp file as reported by onMetadata; when given, a reopened temp
   * file with another identity is not trusted (the file restarts in a fresh temp file).
   */
  readonly temporaryFileId?: string | null;
  /** Beyond BITS: other URLs of the same file (docs/transfer.md, mirrors), tried after the remote name. */
  readonly mirrors?: readonly string[];
  /** Beyond BITS: whole-file digests and piece digests checked once every byte is durable. */
  readonly digests?: readonly FileDigest[];
  readonly pieces?: PieceDigests | null;
  /** Beyond BITS: the segmented layout recorded by onSegments, to resume part by part. */
  readonly segments?: readonly FileSegment[] | null;
  /**
   * Bytes an earlier run wrote to the temp file past `bytesTransferred` in this boot, as its
   * onWritten reported (the caller has checked the boot id): the page cache holds them after a
   * kill -9, so they are fdatasynced and kept — reported by an onCheckpoint before any new byte
   * — instead of being fetched again. Ignored for a segmented layout, a new temp file, a temp
   * file shorter than this, or the whole file (the answer to the resume may carry a digest);
   * kept only if that fdatasync succeeds (docs/durability.md).
   */
  readonly bytesWritten?: number | undefined;
  readonly options: TransferOptions;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** Bandwidth limiter the engine must consume from before writing (null: unlimited). */
  readonly limiter: RateLimiter | null;
  readonly hooks: DownloadHooks;
  /**
   * Takes the file's last fdatasync off the caller's path: once every byte is written (not yet
   * synced), `downloadFile` hands `sync` — fdatasync, then the last onCheckpoint, then the temp
   * file closed — to this function and resolves when it returns (it may wait, for back-pressure).
   * `sync` rejects as `downloadFile` would (a TransferError for a failed fdatasync, after
   * truncating to the last checkpoint). Omitted: `downloadFile` syncs before it resolves.
   */
  readonly finalSync?: (sync: () => Promise<void>) => Promise<void>;
  /**
   * With finalSync: the mode Complete will publish the file with (commit-file.ts publishedMode).
   * The handed-over `sync` then first gives the temp file that mode and the server's
   * Last-Modified as its time, and fsyncs instead of fdatasyncs, so the file is ready to publish
   * the moment it is recorded transferred: Complete only checks and renames it.
   */
  readonly publishMode?: number;
  /**
   * Called once the body's last byte was read from the network, before it is written out and
   * synced: the connection is free, so the caller may send the next file's request while this
   * file's write, sync and close go on. Not called when the transfer fails first.
   */
  readonly onBodyRead?: () => void;
}

/** The job properties that shape a transfer (bits-client.md §5). */
export interface TransferOptions {
  readonly customHeaders: ReadonlyArray<readonly [string, string]>;
  readonly credentials: readonly Credentials[];
  readonly proxy: ProxySettings;
  readonly securityFlags: number;
  readonly dynamicContent: boolean;
  readonly maxDownloadSize: number | null;
  /** Checkpoint spacing: fdatasync + record at most every this many bytes or ms. */
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  /** Beyond BITS: connections one file may use at once (1: front to back, the BITS way). */
  readonly maxConnections?: number;
  /** Beyond BITS: the smallest part a file is split into (aria2's --min-split-size). */
  readonly minSplitBytes?: number;
  /** Per-phase timeouts in ms; defaults in DEFAULT_TIMEOUTS (connect 30 s, headers 60 s, body idle 60 s). */
  readonly timeouts?: Partial<TransferTimeouts>;
}

/** Per-phase network timeouts, in ms. Headers and body-idle run on the request's Clock. */
export interface TransferTimeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  readonly bodyIdleMs: number;
}

/** Called synchronously by the engine; the caller persists what they report. */
export interface DownloadHooks {
  /** Response headers accepted: the job may move CONNECTING → TRANSFERRING. */
  onConnected(): void;
  /** Size, validators and temp name are known (or changed); persist them. */
  onMetadata(meta: DownloadMetadata): void;
  /** ALLOW_REPORT: the remote name becomes the final URL; DISALLOW: the redirect target. */
  onRemoteNameChanged(url: string): void;
  /** The remote file changed: progress went back to 0 before this call. */
  onRestart(reason: string): void;
  /**
   * Bytes are durable in the temp file up to `bytesTransferred` (called after fdatasync, which
   * with the writes before it took `syncMs`).
   */
  onCheckpoint(bytesTransferred: number, syncMs?: number): void;
  /**
   * Segmented download: every part's durable offset after an fdatasync; `bytesTransferred` is
   * their sum. (The last checkpoint, all bytes durable, comes through onCheckpoint.)
   */
  onSegments?(segments: readonly FileSegment[], bytesTransferred: number, syncMs: number): void;
  /**
   * Front-to-back download: every write below this offset completed (written, not synced);
   * lower than before after a rollback or restart. For a record the next run may pass back as
   * `bytesWritten` in the same boot; it proves nothing after a power loss.
   */
  onWritten?(bytes: number): void;
  /**
   * The file matched its digests (after its last fdatasync): which whole-file digests (the
   * caller's, or a server's Digest header), how many pieces, and the bytes read back from the
   * temp file in this call — in all, and by the check itself — because no write covered them.
   */
  onDigestsVerified?(check: DigestsVerified): void;
  /**
   * The remote name announced mirrors (RFC 6249 `Link: rel=duplicate`), checked and new to the
   * file: they join this call's sources (in parts) — persist them with the file's mirrors.
   */
  onMirrorsOffered?(urls: readonly string[]): void;
  /** A mirror (or the remote name) was taken out for the rest of this call, and why. */
  onSourceDropped?(url: string, reason: string): void;
  /** In-memory progress (not durable), for progress events. */
  onProgress(bytesTransferred: number): void;
}

/** What onDigestsVerified reports. */
export interface DigestsVerified {
  readonly digests: readonly FileDigest[];
  readonly pieces: number;
  readonly readBackBytes: number;
  readonly readAtCheckBytes: number;
}

/** What onMetadata reports; `validators.size` is the remote file's size (differs from bytesTotal with ranges). */
export interface DownloadMetadata {
  readonly bytesTotal: number;
  readonly validators: RemoteValidators | null;
  readonly temporaryName: string;
  /** `dev:ino` of the temp file, to pass back as DownloadFileRequest.temporaryFileId. */
  readonly temporaryFileId: string;
  /**
   * The temp file is at the name derived from the job and the file (temp-file.ts
   * derivedTempName): a later run or Cancel finds it without a record, so these facts may wait
   * for the file's next record. False for a random name, which must be recorded at once.
   */
  readonly derivedName: boolean;
}

/** A failed transfer, classified. */
export interface TransferFailure {
  readonly kind: 'transient' | 'fatal';
  readonly error: BitsErrorData;
  /** Server's Retry-After, in ms, when it gave one. */
  readonly retryAfterMs: number | null;
}

/** Bandwidth limiter the engines consume from (defined in core; the scheduler implements it). */
export type { RateLimiter } from '../core/index.ts';
