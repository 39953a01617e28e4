import { BitsError, type BitsErrorData, type FileSegment, type Job } from '../../core/index.ts';
import type { FileChange, FilePatch } from '../../store/job-store.ts';
import type { ReplyProgress, UploadSessionState } from '../../transfer/upload/index.ts';
import type { RunOutcome } from '../download-runner.ts';

/**
 * The messages between the system bitsd (root) and an owner's worker, over the Node IPC channel
 * as JSON (never V8 serialisation: root reads what a process of the user's sends). Calls and
 * runs carry an id; the root process checks every id the worker names against its own tables.
 */

/** One-shot operations on the owner's files (and Cancel-Session on the network). */
export type CallOp =
  | 'checkLocalDestinations'
  | 'checkUploadSource'
  | 'commitFile'
  | 'commitFiles'
  | 'deleteTempFile'
  | 'removeLeftovers'
  | 'readReply'
  | 'discardUploadLocalState'
  | 'cancelUploadSession'
  | 'runCommand'
  | 'postWebhook';

/** A run's reports, named as the RunReports/UploadReports methods. */
export type ReportName =
  | 'connected'
  | 'file'
  | 'files'
  | 'checkpoint'
  | 'sourceDropped'
  | 'progress'
  | 'session'
  | 'replyProgress';

export type ToWorker =
  | { readonly t: 'call'; readonly id: number; readonly op: CallOp; readonly args: unknown[] }
  | {
      readonly t: 'run';
      readonly id: number;
      readonly kind: 'download' | 'upload';
      readonly job: Job;
      readonly options: unknown;
      readonly session: UploadSessionState | null;
      /** A bandwidth limit applies: the worker asks root before it reads on. */
      readonly limited: boolean;
    }
  | { readonly t: 'abort'; readonly id: number }
  /** A limit began: the run's unused credit is void; every read asks root again. */
  | { readonly t: 'revoke'; readonly id: number }
  /** `credit`: bytes the worker may read before it asks again (more than asked while unlimited). */
  | {
      readonly t: 'granted';
      readonly id: number;
      readonly take: number;
      readonly ok: boolean;
      readonly credit: number;
    };

export type FromWorker =
  /** Listening: messages sent before this could be lost. */
  | { readonly t: 'ready' }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'report'; readonly id: number; readonly name: ReportName; readonly args: unknown[] }
  | { readonly t: 'take'; readonly id: number; readonly take: number; readonly bytes: number }
  | { readonly t: 'done'; readonly id: number; readonly outcome: RunOutcome };

/** An error on the wire: a BitsError as its data, anything else as its message and errno code. */
export interface WireError {
  readonly bits: BitsErrorData | null;
  readonly message: string;
  readonly code: string | null;
}

export function toWire(err: unknown): WireError {
  if (err instanceof BitsError) return { bits: err.toJSON(), message: err.message, code: null };
  // undici puts the errno code (ECONNREFUSED) on the cause.
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  return {
    bits: null,
    message: err instanceof Error ? err.message : String(err),
    code: typeof code === 'string' ? code : null,
  };
}

export function fromWire(wire: WireError): Error {
  if (wire.bits !== null) return BitsError.from(wire.bits);
  const err = new Error(wire.message) as Error & { code?: string };
  if (wire.code !== null) err.code = wire.code;
  return err;
}

/** The argument lists of the reports, as the run owner (JobRun) takes them. */
export interface ReportArgs {
  connected: [];
  file: [fileIndex: number, patch: FilePatch];
  files: [changes: readonly FileChange[]];
  checkpoint: [fileIndex: number, bytesTransferred: number, syncMs?: number, segments?: readonly FileSegment[]];
  sourceDropped: [fileIndex: number, url: string, reason: string];
  progress: [fileIndex: number, bytesTransferred: number, bytesTotal: number, advanced: boolean];
  session: [state: UploadSessionState];
  replyProgress: [progress: ReplyProgress];
}
