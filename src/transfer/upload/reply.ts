import { constants, lstat, open } from 'node:fs/promises';
import { generatedReplyFileName } from '../../core/index.ts';
import { downloadFile } from '../download-file.ts';
import type { DownloadFileRequest } from '../download-request.ts';
import { classifyLocalError } from '../failure-table.ts';
import { TransferError } from '../transfer-error.ts';
import { packetUrl } from './host-id.ts';
import { MAX_REPLY_DATA, type UploadFileRequest, type UploadSessionState } from './upload-request.ts';

/**
 * The reply of an upload-reply job (bits-upload-protocol.md §7.2 step 5, bits-client.md §5.3):
 * downloaded with the download engine (resumable, checkpointed, same auth/proxy/TLS options) into
 * a temp file beside the reply file, which Complete renames into place; at most 1 MiB of it is
 * kept in memory for GetReplyData.
 */

/** The reply file name: SetReplyFileName's, or a generated one in the local upload file's folder. */
export function replyFileNameFor(req: UploadFileRequest): string {
  if (req.replyFileName !== null && req.replyFileName !== '') return req.replyFileName;
  if (req.state.replyFileName !== null) return req.state.replyFileName;
  return generatedReplyFileName(req.localName, req.jobId);
}

export interface StoredReply {
  readonly temporaryName: string;
  readonly size: number;
  readonly data: Buffer | null;
}

/**
 * Download the reply named by `state.replyUrl` (resuming a partial one) unless it is already
 * stored; `update` persists every change of the reply fields.
 */
export async function fetchReply(
  req: UploadFileRequest,
  getState: () => UploadSessionState,
  update: (next: UploadSessionState) => void,
): Promise<StoredReply> {
  const start = getState();
  const replyUrl = start.replyUrl;
  if (replyUrl === null) throw new Error('fetchReply: no reply URL yet');
  const localName = replyFileNameFor(req);
  if (start.replyFileName !== localName) update({ ...start, replyFileName: localName });
  const kept = getState().replyTemporaryName;
  if (getState().replyComplete && (kept === null || !(await isFile(kept)))) {
    // The stored reply vanished before Close-Session: the server still has it, fetch it again.
    update({
      ...getState(),
      replyComplete: false,
      replyTemporaryName: null,
      replyTemporaryFileId: null,
      replyBytesTransferred: 0,
    });
  }
  if (!getState().replyComplete) {
    const state = getState();
    const o = req.options;
    // Job credentials and custom headers are for the upload server: a reply on another origin
    // gets neither (as the download engine does on a cross-origin redirect).
    const trusted = sameServer(req, state, replyUrl);
    const download: DownloadFileRequest = {
      jobId: req.jobId,
      fileIndex: 0,
      remoteName: replyUrl,
      localName,
      ranges: null,
      bytesTransferred: state.replyBytesTransferred,
      bytesTotal: state.replyBytesTotal,
      validators: state.replyValidators,
      temporaryName: state.replyTemporaryName,
      temporaryFileId: state.replyTemporaryFileId,
      options: {
        customHeaders: trusted ? o.customHeaders : [],
        credentials: trusted ? o.credentials : o.credentials.filter((c) => c.target === 'PROXY'),
        proxy: o.proxy,
        securityFlags: o.securityFlags,
        dynamicContent: false,
        maxDownloadSize: null,
        checkpointBytes: o.checkpointBytes ?? 4 * 1024 * 1024,
        checkpointMs: o.checkpointMs ?? 2_000,
        ...(o.replyTimeouts === undefined ? {} : { timeouts: o.replyTimeouts }),
      },
      signal: req.signal,
      clock: req.clock,
      limiter: req.limiter,
      hooks: {
        onConnected: () => undefined,
        onMetadata: (meta) => {
          update({
            ...getState(),
            replyBytesTotal: meta.bytesTotal,
            replyValidators: meta.validators,
            replyTemporaryName: meta.temporaryName,
            replyTemporaryFileId: meta.temporaryFileId,
          });
          req.hooks.onReplyProgress({
            bytesTotal: meta.bytesTotal,
            bytesTransferred: getState().replyBytesTransferred,
          });
        },
        onRemoteNameChanged: () => undefined,
        onRestart: () => {
          update({ ...getState(), replyBytesTransferred: 0 });
        },
        onCheckpoint: (n) => {
          update({ ...getState(), replyBytesTransferred: n });
        },
        onProgress: (n) => {
          req.hooks.onReplyProgress({ bytesTotal: getState().replyBytesTotal, bytesTransferred: n });
        },
      },
    };
    await downloadFile(download);
    const done = getState();
    const total = Math.max(0, done.replyBytesTotal);
    update({ ...done, replyComplete: true, replyBytesTotal: total, replyBytesTransferred: total });
    req.hooks.onReplyProgress({ bytesTotal: total, bytesTransferred: total });
  }
  const stored = getState();
  const temporaryName = stored.replyTemporaryName;
  if (temporaryName === null) throw new Error('fetchReply: the reply has no temporary file');
  return readReply(temporaryName);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/** True when the reply lives on the upload URL's origin (or its Host-Id node). */
function sameServer(req: UploadFileRequest, state: UploadSessionState, replyUrl: string): boolean {
  const upload = new URL(req.remoteName);
  const reply = new URL(replyUrl);
  if (reply.origin === upload.origin) return true;
  return state.hostId !== null && reply.origin === packetUrl(upload, state).origin;
}

/** Size of the stored reply, and its bytes when GetReplyData may return them (≤ 1 MiB). */
export async function readReply(temporaryName: string): Promise<StoredReply> {
  try {
    const fh = await open(temporaryName, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const { size } = await fh.stat();
      if (size > MAX_REPLY_DATA) return { temporaryName, size, data: null };
      const data = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const { bytesRead } = await fh.read(data, read, size - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { temporaryName, size: read, data: data.subarray(0, read) };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new TransferError(classifyLocalError(err), { cause: err });
  }
}
