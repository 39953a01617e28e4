import { readFile } from 'node:fs/promises';
import type { Clock, FileSegment, RemoteValidators } from '../../src/core/index.ts';
import type {
  DigestsVerified,
  DownloadFileRequest,
  DownloadMetadata,
  TransferOptions,
} from '../../src/transfer/download-request.ts';
import { isTransferError, type TransferError } from '../../src/transfer/index.ts';
import { sha256 } from './digest.ts';
import { TestClock } from './test-clock.ts';

/** What the hooks reported, as the manager would persist it. */
export class RecordedFile {
  bytesTransferred = 0;
  bytesTotal = -1;
  validators: RemoteValidators | null = null;
  temporaryName: string | null = null;
  temporaryFileId: string | null = null;
  remoteName: string;
  readonly localName: string;
  readonly events: string[] = [];
  readonly checkpoints: number[] = [];
  /** The layout a segmented download last recorded (null after a restart or the final checkpoint). */
  segments: FileSegment[] | null = null;
  /** Sources the engine took out: [url, reason]. */
  readonly dropped: Array<[string, string]> = [];
  /** What each successful digest check reported. */
  readonly verified: DigestsVerified[] = [];
  restarts = 0;
  connected = 0;
  progress = 0;

  constructor(remoteName: string, localName: string) {
    this.remoteName = remoteName;
    this.localName = localName;
  }

  /** A request resuming from what was recorded so far. */
  request(
    overrides: Partial<Omit<DownloadFileRequest, 'options'>> & { options?: Partial<TransferOptions> } = {},
  ): DownloadFileRequest {
    const { options, ...rest } = overrides;
    return {
      jobId: '00000000-0000-0000-0000-000000000001',
      fileIndex: 0,
      remoteName: this.remoteName,
      localName: this.localName,
      ranges: null,
      bytesTransferred: this.bytesTransferred,
      bytesTotal: this.bytesTotal,
      validators: this.validators,
      temporaryName: this.temporaryName,
      temporaryFileId: this.temporaryFileId,
      segments: this.segments,
      signal: new AbortController().signal,
      clock: new TestClock() as Clock,
      limiter: null,
      options: {
        customHeaders: [],
        credentials: [],
        proxy: { usage: 'NO_PROXY', proxyList: null, bypassList: null },
        securityFlags: 0,
        dynamicContent: false,
        maxDownloadSize: null,
        checkpointBytes: 4 * 1024 * 1024,
        checkpointMs: 2000,
        ...options,
      },
      hooks: {
        onConnected: () => {
          this.connected++;
          this.events.push('connected');
        },
        onMetadata: (m: DownloadMetadata) => {
          this.bytesTotal = m.bytesTotal;
          this.validators = m.validators;
          this.temporaryName = m.temporaryName;
          this.temporaryFileId = m.temporaryFileId;
          this.events.push(`metadata ${m.bytesTotal}`);
        },
        onRemoteNameChanged: (url: string) => {
          this.remoteName = url;
          this.events.push(`remote ${url}`);
        },
        onRestart: (reason: string) => {
          this.restarts++;
          this.bytesTransferred = 0;
          this.segments = null;
          this.events.push(`restart ${reason}`);
        },
        onCheckpoint: (n: number) => {
          this.bytesTransferred = n;
          this.checkpoints.push(n);
        },
        onSourceDropped: (url: string, reason: string) => {
          this.dropped.push([url, reason]);
        },
        onDigestsVerified: (check: DigestsVerified) => {
          this.verified.push(check);
        },
        onSegments: (segments: readonly FileSegment[], n: number) => {
          this.segments = [...segments];
          this.bytesTransferred = n;
          this.checkpoints.push(n);
        },
        onProgress: (n: number) => {
          this.progress = n;
        },
      },
      ...rest,
    };
  }

  /** sha256 of the temp file. */
  async tempSha256(): Promise<string> {
    if (this.temporaryName === null) throw new Error('no temp file recorded');
    return sha256(await readFile(this.temporaryName));
  }
}

export { sha256 };

/** Await a rejection and return it as a TransferError (fails if it is anything else). */
export async function transferFailure(p: Promise<unknown>): Promise<TransferError> {
  try {
    await p;
  } catch (err) {
    if (isTransferError(err)) return err;
    throw err;
  }
  throw new Error('expected the download to fail');
}
