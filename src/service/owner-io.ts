import { spawn } from 'node:child_process';
import type { BitsErrorData, Clock } from '../core/index.ts';
import {
  checkLocalDestinations,
  commitFile,
  commitFiles,
  deleteTempFile,
  type PublishItem,
} from '../transfer/commit-file.ts';
import { removeLeftover } from '../transfer/temp-file.ts';
import type { CancelOutcome, StoredReply, UploadOptions, UploadSessionState } from '../transfer/upload/index.ts';
import type { RunContext, RunOutcome } from './download-runner.ts';
import type { UploadRunContext } from './upload-runner.ts';
import { httpWebhookTransport } from './webhooks/transport.ts';

/** Where Complete puts a file: its modification time and mode (commitFile's options). */
export interface CommitOptions {
  readonly lastModified?: string | null;
  readonly mode: number | null;
}

/** A signed webhook delivery, ready to POST. */
export interface WebhookPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A Cancel-Session request: one attempt (the caller's queue retries). */
export interface CancelSessionRequest {
  readonly remoteName: string;
  readonly state: UploadSessionState;
  readonly options: UploadOptions;
}

/**
 * Everything the service does on a job owner's files and on the network for their job, named by
 * the owner (the uid as text). The per-user daemon does it in-process (`localIo`: it runs as
 * the owner); the system daemon hands each call to a worker process running as the owner
 * (worker/owner-workers.ts), so the root process opens no user path and parses no HTTP.
 */
export interface OwnerIo {
  download(owner: string, ctx: RunContext): Promise<RunOutcome>;
  upload(owner: string, ctx: UploadRunContext): Promise<RunOutcome>;
  /**
   * AddFile's checks: a download's folders are writable (all the names of one AddFileSet in one
   * call, each folder looked at once); an upload's file is readable.
   */
  checkLocalDestinations(owner: string, localNames: readonly string[]): Promise<void>;
  checkUploadSource(owner: string, localName: string): Promise<void>;
  /** Complete: the temp file renamed into place. */
  commitFile(owner: string, temporaryName: string, localName: string, options: CommitOptions): Promise<void>;
  /** Complete of many files (transfer's commitFiles): each item's outcome, null once published. */
  commitFiles(owner: string, items: readonly PublishItem[]): Promise<Array<BitsErrorData | null>>;
  /** Cancel, Complete of partial files: false when it could not be deleted. */
  deleteTempFile(owner: string, path: string): Promise<boolean>;
  /**
   * Cancel, Complete of partial files: delete what is at these derived temp names when it is an
   * unrecorded leftover of ours (temp-file.ts removeLeftover); anything else is left alone.
   * False when one of them could not be removed (BG_S_UNABLE_TO_DELETE_FILES).
   */
  removeLeftovers(owner: string, paths: readonly string[]): Promise<boolean>;
  readReply(owner: string, path: string): Promise<StoredReply>;
  discardUploadLocalState(owner: string, state: UploadSessionState): Promise<boolean>;
  cancelUploadSession(owner: string, request: CancelSessionRequest, signal: AbortSignal): Promise<CancelOutcome>;
  /**
   * The notify command line: `program` with `args`, no shell, the service's (or the worker's)
   * environment plus `env`; resolves with its exit code (null: killed by a signal).
   */
  runCommand(
    owner: string,
    program: string,
    args: readonly string[],
    env: Record<string, string>,
  ): Promise<number | null>;
  /** One webhook POST for a job of the owner's (the receiver's answer is read here, not by root). */
  postWebhook(owner: string, post: WebhookPost, signal: AbortSignal): Promise<{ status: number }>;
  /** Other processes holding transfer sockets (system mode's workers), for the yielding controller. */
  pids?(): number[];
  close(): Promise<void>;
}

/** Run a program and wait for it; as root for another owner (a library running as root), as them. */
function runCommand(
  owner: string,
  program: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<number | null> {
  const uid = Number(owner);
  const asOwner = process.getuid?.() === 0 && Number.isInteger(uid) && uid !== 0 ? { uid, gid: uid } : {};
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], {
      shell: false,
      stdio: 'ignore',
      detached: false,
      env: { ...process.env, ...env },
      ...asOwner,
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

// The transfer engines (≈ 60 modules) load when a job first runs or a session is cancelled, not
// at start-up: a daemon's first answer waits only for what serves the API.
const downloads = () => import('./download-runner.ts');
const uploads = () => import('./upload-runner.ts');
const uploadSessions = () => import('../transfer/upload/cancel-session.ts');

/** In this process, with this process's rights (the per-user daemon, the library). */
export function localIo(clock: Clock): OwnerIo {
  let webhooks: ReturnType<typeof httpWebhookTransport> | undefined;
  return {
    download: async (_owner, ctx) => (await downloads()).runDownloadJob(ctx),
    upload: async (_owner, ctx) => (await uploads()).runUploadJob(ctx),
    checkLocalDestinations: (_owner, localNames) => checkLocalDestinations(localNames),
    checkUploadSource: async (_owner, localName) => (await uploads()).checkUploadSource(localName),
    commitFile: (_owner, temporaryName, localName, options) => commitFile(temporaryName, localName, options),
    commitFiles: async (_owner, items) => (await commitFiles(items)).map((err) => err?.toJSON() ?? null),
    deleteTempFile: (_owner, path) => deleteTempFile(path),
    removeLeftovers: async (_owner, paths) =>
      (await Promise.all(paths.map((path) => removeLeftover(path)))).every((outcome) => outcome !== 'failed'),
    readReply: async (_owner, path) => (await import('../transfer/upload/reply.ts')).readReply(path),
    discardUploadLocalState: async (_owner, state) => (await uploadSessions()).discardUploadLocalState(state),
    cancelUploadSession: async (_owner, request, signal) =>
      (await uploadSessions()).cancelUploadSession({ ...request, signal, clock }),
    runCommand: (owner, program, args, env) => runCommand(owner, program, args, env),
    postWebhook: (_owner, post, signal) => {
      webhooks ??= httpWebhookTransport();
      return webhooks({ ...post, jobId: '', signal });
    },
    close: async () => {
      await webhooks?.close();
    },
  };
}
