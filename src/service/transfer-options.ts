import { type Job, parseCustomHeaders } from '../core/index.ts';
import type { TransferOptions } from '../transfer/download-request.ts';
import type { UploadOptions } from '../transfer/upload/index.ts';

/** Checkpoint spacing from the policy (bytes and milliseconds between two checkpoints), and the split size. */
export interface CheckpointSpacing {
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  readonly minSplitBytes?: number;
}

/**
 * THE mapping from a job's properties to what the transfer engines take: the download engine
 * (TransferOptions), the upload engine and Cancel-Session (UploadOptions) read the same object,
 * so a job property reaches every request the same way.
 */
export function transferOptionsOf(job: Job, spacing: CheckpointSpacing): TransferOptions & UploadOptions {
  return {
    customHeaders: parseCustomHeaders(job.customHeaders),
    credentials: job.credentials,
    proxy: job.proxy,
    securityFlags: job.securityFlags,
    dynamicContent: job.dynamicContent,
    maxDownloadSize: job.maxDownloadSize,
    checkpointBytes: spacing.checkpointBytes,
    checkpointMs: spacing.checkpointMs,
    maxConnections: job.maxConnections,
    ...(spacing.minSplitBytes === undefined ? {} : { minSplitBytes: spacing.minSplitBytes }),
  };
}
