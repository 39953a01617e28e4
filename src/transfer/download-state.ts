import { MAX_MIRRORS, type RemoteValidators } from '../core/index.ts';
import type { RawHeaders } from './content-range.ts';
import { offeredDigest } from './digest-header.ts';
import type { DownloadFileRequest, TransferTimeouts } from './download-request.ts';
import type { DownloadSink } from './download-sink.ts';
import { transferError } from './failure-table.ts';
import { offeredMirrors } from './link-duplicates.ts';
import type { RunningDigests } from './running-digests.ts';

/** Restarts (remote file changed) allowed in one call before giving up as transient. */
const MAX_RESTARTS = 4;

/** Defaults for TransferOptions.timeouts. */
export const DEFAULT_TIMEOUTS: TransferTimeouts = { connectMs: 30_000, headersMs: 60_000, bodyIdleMs: 60_000 };

/**
 * What one downloadFile call knows about its file — size, validators, temp file, progress — and
 * the hook calls that report changes of it. Shared by the http and file sources.
 */
export class DownloadState {
  readonly req: DownloadFileRequest;
  readonly sink: DownloadSink;
  readonly url: URL;
  readonly timeouts: TransferTimeouts;
  readonly temporaryName: string;
  readonly temporaryFileId: string;
  /** The temp file is at its derived name (DownloadMetadata.derivedName). */
  readonly derivedName: boolean;
  bytesTotal: number;
  validators: RemoteValidators | null;
  /** A segmented download owns the temp file: the single-stream sink's reports are muted. */
  segmented = false;
  /** Who sent which bytes in this call (segmented downloads), to name a source a bad piece came from. */
  readonly provenance: Array<{ readonly from: number; readonly to: number; readonly url: string }> = [];
  /** Mirrors the remote name announced in this call (RFC 6249), beyond `req.mirrors`. */
  readonly offered: string[] = [];
  /** The file's digests, computed while its bytes are written. */
  readonly digests: RunningDigests;
  #restarts = 0;
  #connected = false;

  constructor(
    req: DownloadFileRequest,
    sink: DownloadSink,
    url: URL,
    temp: { path: string; id: string },
    bytesTotal: number,
    validators: RemoteValidators | null,
    digests: RunningDigests,
    derivedName = false,
  ) {
    this.req = req;
    this.sink = sink;
    this.url = url;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...req.options.timeouts };
    this.temporaryName = temp.path;
    this.temporaryFileId = temp.id;
    this.derivedName = derivedName;
    this.bytesTotal = bytesTotal;
    this.validators = validators;
    this.digests = digests;
  }

  /** Report size / validators / temp file (after a change). */
  publishMetadata(): void {
    this.req.hooks.onMetadata({
      bytesTotal: this.bytesTotal,
      validators: this.validators,
      temporaryName: this.temporaryName,
      temporaryFileId: this.temporaryFileId,
      derivedName: this.derivedName,
    });
  }

  /** Adopt what a response says about the file; reports it if it changed. */
  learn(bytesTotal: number, validators: RemoteValidators): void {
    this.checkMaxSize(bytesTotal);
    const same =
      this.bytesTotal === bytesTotal &&
      this.validators !== null &&
      this.validators.size === validators.size &&
      this.validators.etag === validators.etag &&
      this.validators.lastModified === validators.lastModified;
    this.bytesTotal = bytesTotal;
    this.validators = validators;
    if (!same) this.publishMetadata();
  }

  /**
   * A response of the remote name offers a whole-file digest (Repr-Digest, Digest, or for a
   * 200 Content-Digest): checked like a caller's, when the caller gave none and the file is whole.
   */
  learnDigest(headers: RawHeaders, wholeBody: boolean): void {
    if ((this.req.digests ?? []).length > 0 || this.req.ranges !== null) return;
    const offered = offeredDigest(headers, wholeBody);
    if (offered !== null) this.digests.expect([offered]);
  }

  /**
   * Adopt the mirrors a response of the remote name announces (`Link: <url>; rel=duplicate`),
   * up to MAX_MIRRORS in all; reports and returns the new ones.
   */
  learnMirrors(headers: RawHeaders): string[] {
    if (this.req.ranges !== null || this.req.options.dynamicContent || headers.link === undefined) return [];
    const listed = (this.req.mirrors ?? []).map((m) => URL.parse(m)?.href ?? m);
    const known = new Set([this.url.href, ...listed, ...this.offered]);
    const fresh = offeredMirrors(headers, this.url, known, MAX_MIRRORS - listed.length - this.offered.length);
    if (fresh.length === 0) return fresh;
    this.offered.push(...fresh);
    this.req.hooks.onMirrorsOffered?.(fresh);
    return fresh;
  }

  /** BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED when `bytes` exceed the job's cap. */
  checkMaxSize(bytes: number): void {
    const max = this.req.options.maxDownloadSize;
    if (max !== null && bytes > max) {
      throw transferError('size:over-limit', `the file is ${bytes} bytes; the job allows ${max}`);
    }
  }

  /** Response accepted: CONNECTING → TRANSFERRING (once per call). */
  connected(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.req.hooks.onConnected();
  }

  /** The remote file changed: truncate to 0, forget size and validators, report. */
  async restart(reason: string, keepTotal = false): Promise<void> {
    if (++this.#restarts > MAX_RESTARTS) {
      throw transferError('remote:changed', `${reason} (again; giving up for now)`);
    }
    await this.sink.reset(0);
    this.provenance.length = 0;
    // A server's digest was of the file that changed: the next answer offers the new one.
    if ((this.req.digests ?? []).length === 0) this.digests.expect([]);
    if (!keepTotal) this.bytesTotal = -1;
    this.validators = null;
    this.req.hooks.onRestart(reason);
    this.req.hooks.onProgress(0);
  }
}
