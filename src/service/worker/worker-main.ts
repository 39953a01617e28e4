import { type RateLimiter, systemClock } from '../../core/index.ts';
import type { TransferOptions } from '../../transfer/download-request.ts';
import { abortError, unexpectedFailure } from '../../transfer/index.ts';
import type { UploadOptions, UploadSessionState } from '../../transfer/upload/index.ts';
import type { RunOutcome } from '../download-runner.ts';
import { localIo, type WebhookPost } from '../owner-io.ts';
import type { UploadReports } from '../upload-runner.ts';
import type { CallOp, FromWorker, ReportArgs, ReportName, ToWorker } from './protocol.ts';
import { toWire } from './protocol.ts';

/** Progress reports go to root at most this often (every other report flushes the last one). */
const PROGRESS_EVERY_MS = 100;

function send(message: FromWorker): void {
  process.send?.(message);
}

/**
 * The worker of one job owner (bin/openbits-worker.js starts it once it runs as the owner): it
 * does what the system bitsd asks on the owner's files and moves the bytes of the owner's jobs,
 * with the owner's rights and nothing more. It keeps no state of its own: the root process owns
 * the store, the scheduler and the state of every job; the worker reports and root records.
 */
export function runWorker(): void {
  const io = localIo(systemClock);
  const aborts = new Map<number, AbortController>();
  const takes = new Map<string, { resolve(credit: number): void; reject(err: unknown): void }>();
  /** Each limited run's way to drop its credit (root's `revoke`). */
  const revokes = new Map<number, () => void>();

  const calls: Record<CallOp, (args: unknown[], signal: AbortSignal) => Promise<unknown>> = {
    checkLocalDestinations: ([paths]) => io.checkLocalDestinations('', paths as string[]),
    checkUploadSource: ([path]) => io.checkUploadSource('', path as string),
    commitFile: ([temp, local, options]) =>
      io.commitFile('', temp as string, local as string, options as Parameters<typeof io.commitFile>[3]),
    commitFiles: ([items]) => io.commitFiles('', items as Parameters<typeof io.commitFiles>[1]),
    deleteTempFile: ([path]) => io.deleteTempFile('', path as string),
    removeLeftovers: ([paths]) => io.removeLeftovers('', paths as string[]),
    // The reply's bytes travel as base64 (the channel carries JSON).
    readReply: async ([path]) => {
      const reply = await io.readReply('', path as string);
      return { ...reply, data: reply.data === null ? null : reply.data.toString('base64') };
    },
    discardUploadLocalState: ([state]) => io.discardUploadLocalState('', state as UploadSessionState),
    cancelUploadSession: ([request], signal) =>
      io.cancelUploadSession('', request as Parameters<typeof io.cancelUploadSession>[1], signal),
    postWebhook: ([post], signal) => io.postWebhook('', post as WebhookPost, signal),
    runCommand: ([program, args, env]) =>
      io.runCommand('', program as string, args as string[], env as Record<string, string>),
  };

  async function call(id: number, op: CallOp, args: unknown[]): Promise<void> {
    const abort = new AbortController();
    aborts.set(id, abort);
    try {
      const fn = calls[op];
      if (fn === undefined) throw new Error(`unknown operation ${String(op)}`);
      send({ t: 'result', id, ok: true, value: (await fn(args, abort.signal)) ?? null });
    } catch (err) {
      send({ t: 'result', id, ok: false, error: toWire(err) });
    } finally {
      aborts.delete(id);
    }
  }

  async function run(message: Extract<ToWorker, { t: 'run' }>): Promise<void> {
    const { id } = message;
    const abort = new AbortController();
    aborts.set(id, abort);
    let nextTake = 0;
    // Bytes root allowed beyond those asked for (while no limit applies).
    let credit = 0;
    if (message.limited) {
      revokes.set(id, () => {
        credit = 0;
      });
    }
    const limiter: RateLimiter | null = message.limited
      ? {
          take(bytes: number, signal: AbortSignal): Promise<void> {
            if (signal.aborted) return Promise.reject(abortError(signal));
            if (credit >= bytes) {
              credit -= bytes;
              return Promise.resolve();
            }
            const take = nextTake++;
            return new Promise<void>((resolve, reject) => {
              const key = `${id}:${take}`;
              const onAbort = (): void => {
                takes.delete(key);
                reject(abortError(signal));
              };
              signal.addEventListener('abort', onAbort, { once: true });
              takes.set(key, {
                resolve: (granted) => {
                  signal.removeEventListener('abort', onAbort);
                  credit += granted - bytes;
                  resolve();
                },
                reject: (err) => {
                  signal.removeEventListener('abort', onAbort);
                  reject(err);
                },
              });
              send({ t: 'take', id, take, bytes });
            });
          },
        }
      : null;
    // Progress is coalesced; any other report sends the pending one first, so root sees them in order.
    // The latest count of each file that moved since the last flush (one or two files at a time).
    const pending = new Map<number, ReportArgs['progress']>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      for (const args of pending.values()) send({ t: 'report', id, name: 'progress', args });
      pending.clear();
    };
    const report = (name: ReportName, args: unknown[]): void => {
      flush();
      send({ t: 'report', id, name, args });
    };
    const reports: UploadReports = {
      connected: () => report('connected', []),
      file: (fileIndex, patch) => report('file', [fileIndex, patch]),
      files: (changes) => report('files', [changes]),
      checkpoint: (fileIndex, bytes, syncMs, segments) =>
        report('checkpoint', [fileIndex, bytes, syncMs ?? null, segments ?? null]),
      sourceDropped: (fileIndex, url, reason) => report('sourceDropped', [fileIndex, url, reason]),
      progress: (fileIndex, bytesTransferred, bytesTotal, advanced) => {
        const moved = advanced || pending.get(fileIndex)?.[3] === true;
        pending.set(fileIndex, [fileIndex, bytesTransferred, bytesTotal, moved]);
        timer ??= setTimeout(flush, PROGRESS_EVERY_MS);
      },
      session: (state) => report('session', [state]),
      replyProgress: (progress) => report('replyProgress', [progress]),
    };
    let outcome: RunOutcome;
    try {
      const context = { job: message.job, clock: systemClock, signal: abort.signal, limiter, report: reports };
      outcome =
        message.kind === 'download'
          ? await io.download('', { ...context, options: message.options as TransferOptions })
          : await io.upload('', {
              ...context,
              options: message.options as UploadOptions,
              session: message.session as UploadSessionState,
            });
    } catch (err) {
      outcome = { kind: 'failed', fileIndex: null, failure: unexpectedFailure(err) };
    } finally {
      aborts.delete(id);
      revokes.delete(id);
    }
    flush();
    send({ t: 'done', id, outcome });
  }

  process.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'call':
        void call(message.id, message.op, message.args);
        break;
      case 'run':
        void run(message);
        break;
      case 'abort':
        aborts.get(message.id)?.abort();
        break;
      case 'revoke':
        revokes.get(message.id)?.();
        break;
      case 'granted': {
        const key = `${message.id}:${message.take}`;
        const waiter = takes.get(key);
        takes.delete(key);
        if (message.ok) waiter?.resolve(message.credit);
        else waiter?.reject(new DOMException('the transfer was stopped', 'AbortError'));
        break;
      }
    }
  });
  send({ t: 'ready' });
  // Root went away (stopped or killed): stop every transfer at its checkpoint, then exit.
  process.on('disconnect', () => {
    for (const abort of aborts.values()) abort.abort();
    setTimeout(() => process.exit(0), 2_000).unref();
  });
}
