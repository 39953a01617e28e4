import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/core/index.ts';
import {
  INITIAL_UPLOAD_SESSION_STATE,
  type ReplyProgress,
  type UploadFileRequest,
  type UploadOptions,
  type UploadSessionState,
} from '../../../src/transfer/upload/index.ts';
import { TestClock } from '../../helpers/test-clock.ts';

/** What the hooks reported, as the job manager would persist it; builds the next request from it. */
export class RecordedUpload {
  state: UploadSessionState = INITIAL_UPLOAD_SESSION_STATE;
  readonly states: UploadSessionState[] = [];
  readonly progress: number[] = [];
  readonly replyProgress: ReplyProgress[] = [];
  connected = 0;
  readonly remoteName: string;
  readonly localName: string;

  constructor(remoteName: string, localName: string) {
    this.remoteName = remoteName;
    this.localName = localName;
  }

  request(
    overrides: Partial<Omit<UploadFileRequest, 'options'>> & { options?: Partial<UploadOptions> } = {},
  ): UploadFileRequest {
    const { options, ...rest } = overrides;
    return {
      jobId: '00000000-0000-0000-0000-0000000000aa',
      type: 'UPLOAD',
      remoteName: this.remoteName,
      localName: this.localName,
      replyFileName: null,
      state: this.state,
      signal: new AbortController().signal,
      clock: new TestClock() as Clock,
      limiter: null,
      options: {
        customHeaders: [],
        credentials: [],
        proxy: { usage: 'NO_PROXY', proxyList: null, bypassList: null },
        securityFlags: 0,
        ...options,
      },
      hooks: {
        onConnected: () => {
          this.connected++;
        },
        onSessionChanged: (s) => {
          this.state = s;
          this.states.push(s);
        },
        onProgress: (n) => {
          this.progress.push(n);
        },
        onReplyProgress: (p) => {
          this.replyProgress.push(p);
        },
      },
      ...rest,
    };
  }
}

/** A temp folder with one file of `size` deterministic bytes. */
export async function tempUpload(size: number, seed = 7): Promise<{ dir: string; file: string; data: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'bits-upc-'));
  const file = join(dir, 'source.bin');
  const data = pattern(size, seed);
  await writeFile(file, data);
  return { dir, file, data };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Deterministic bytes (xorshift). */
export function pattern(size: number, seed = 7): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export { sha256 } from '../../helpers/digest.ts';
/** The TransferError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export { transferFailure as failureOf } from '../../helpers/download-request.ts';
