import { isAbsolute, resolve } from 'node:path';
import {
  type BitsManager,
  formatJobId,
  type JobInfo,
  type JobPriority,
  type JobType,
  systemClock,
} from '../bits-vocabulary.ts';
import type { Command, CommandContext, CommandResult } from '../command.ts';
import { errorText, resultNote } from '../error-text.ts';
import { errorLines } from '../format-job.ts';
import { arg, isSwitchToken, jobTypeSwitch, parsePriority, unknownSwitch } from '../parse-values.ts';
import { sleep as realSleep } from '../sleep.ts';
import { barProgress, type ProgressView, plainProgress, summaryLine } from '../transfer-progress.ts';
import { UsageError } from '../usage-error.ts';
import { watchJob } from '../watch-job.ts';

/** Exit code after Ctrl-C (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

interface TransferArgs {
  readonly name: string;
  readonly type: JobType;
  readonly priority: JobPriority | null;
  readonly dynamic: boolean;
  readonly files: Array<{ remoteName: string; localName: string }>;
}

const isUrl = (text: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//iu.test(text);

/** The switches /transfer takes between the name and the files. */
function isTransferSwitch(token: string): boolean {
  const t = token.toLowerCase();
  return jobTypeSwitch(token) !== undefined || t === '/priority' || t === '/aclflags' || t === '/dynamic';
}

/** A job name for `/transfer URL LOCAL`: the URL's last path segment. */
function nameFromUrl(url: string): string {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    return last === '' ? 'transfer' : last;
  } catch {
    return 'transfer';
  }
}

/**
 * `[NAME] [/download|/upload|/upload-reply] [/priority P] [/aclflags OGDS] [/dynamic] REMOTE LOCAL
 * [REMOTE LOCAL…]`. Windows bitsadmin's syntax, plus two things it refuses: the name may be
 * left out when the first argument is a URL or a switch (the job is named after the first
 * URL), and a relative local name is taken against `cwd` (bitsadmin needs an absolute one).
 */
export function parseTransferArgs(args: readonly string[], cwd: string = process.cwd()): TransferArgs {
  if (args.length === 0) throw new UsageError('missing remote and local file names', 'transfer');
  const first = arg(args, 0);
  if (isSwitchToken(first) && !isTransferSwitch(first)) throw unknownSwitch(first, 'transfer');
  const named = !isUrl(first) && !isTransferSwitch(first);
  let type: JobType | null = null;
  let priority: JobPriority | null = null;
  let dynamic = false;
  let i = named ? 1 : 0;
  for (; i < args.length; i++) {
    const a = arg(args, i);
    const t = jobTypeSwitch(a);
    const lower = a.toLowerCase();
    if (t !== undefined && type === null) type = t;
    else if (lower === '/priority' && priority === null) {
      if (i + 1 >= args.length) throw new UsageError('/priority needs a value', 'transfer');
      priority = parsePriority('transfer', arg(args, ++i));
    } else if (lower === '/aclflags') {
      // Windows copies owner/ACL information of SMB sources; HTTP has none (BITS ignores it too).
      if (!/^[ogds]+$/iu.test(args[i + 1] ?? '')) throw new UsageError('/aclflags needs O, G, D and/or S', 'transfer');
      i++;
    } else if (lower === '/dynamic') dynamic = true;
    else if (isSwitchToken(a)) throw unknownSwitch(a, 'transfer');
    else break;
  }
  const pairs = args.slice(i);
  if (pairs.length === 0) throw new UsageError('missing remote and local file names', 'transfer');
  if (pairs.length % 2 !== 0) throw new UsageError(`unpaired file name: ${pairs.at(-1)}`, 'transfer');
  const files: Array<{ remoteName: string; localName: string }> = [];
  for (let j = 0; j < pairs.length; j += 2) {
    const local = arg(pairs, j + 1);
    files.push({ remoteName: arg(pairs, j), localName: isAbsolute(local) ? local : resolve(cwd, local) });
  }
  const name = named ? first : nameFromUrl((files[0] as { remoteName: string }).remoteName);
  return { name, type: type ?? 'DOWNLOAD', priority, dynamic, files };
}

/** Creates the job with its files; if a file cannot be added the job is cancelled again. */
async function createTransferJob(manager: BitsManager, t: TransferArgs): Promise<JobInfo> {
  const job = await manager.createJob(t.name, t.type);
  try {
    if (t.priority !== null) await manager.setPriority(job.id, t.priority);
    if (t.dynamic) await manager.setDynamicContent(job.id, true);
    if (t.files.length === 1) {
      const f = t.files[0] as { remoteName: string; localName: string };
      await manager.addFile(job.id, f.remoteName, f.localName);
    } else await manager.addFileSet(job.id, t.files);
  } catch (err) {
    await manager.cancel(job.id).catch(() => undefined);
    throw err;
  }
  return job;
}

function progressView(ctx: CommandContext): ProgressView {
  if (ctx.mode !== 'text') return { update() {}, stop() {} };
  if (ctx.io.isTTY) return barProgress(ctx.io.stdout, ctx.io.columns, ctx.io.now);
  return plainProgress((line) => ctx.print(line), ctx.io.now ?? systemClock.monotonicMs);
}

/** Runs the job to its end: Complete on TRANSFERRED, Cancel on ERROR, Suspend on Ctrl-C. */
async function follow(ctx: CommandContext, manager: BitsManager, created: JobInfo): Promise<CommandResult> {
  const id = created.id;
  const view = progressView(ctx);
  const now = ctx.io.now ?? systemClock.monotonicMs;
  const startedAt = now();
  const signal = ctx.io.signal;
  let last: JobInfo = created;
  try {
    for await (const job of watchJob(manager, id, { signal, sleep: ctx.io.sleep ?? realSleep })) {
      last = job;
      view.update(job);
      if (job.state === 'TRANSFERRED') {
        view.stop();
        // The snapshots leave the file list out; --json shows the whole job as it was transferred.
        const full = ctx.mode === 'json' ? await manager.getJob(id) : job;
        const result = await manager.complete(id);
        const text = `${summaryLine(job, now() - startedAt)}\nTransfer complete.${resultNote(result)}`;
        return { text, raw: formatJobId(id), json: { job: full, result } };
      }
      if (job.state === 'ERROR') {
        view.stop();
        const error = job.error ?? (await manager.getError(id));
        last = ctx.mode === 'json' ? await manager.getJob(id).catch(() => job) : job;
        await manager.cancel(id).catch(() => undefined);
        ctx.io.stderr.write(`${errorText(error)}\n`);
        return {
          text: [...errorLines(error), 'Unable to complete transfer.'].join('\n'),
          raw: formatJobId(id),
          json: { job: last, error },
          exitCode: 1,
        };
      }
    }
  } finally {
    view.stop();
  }
  // Interrupted: keep the job (and its bytes) so it can be resumed later.
  await manager.suspend(id).catch(() => undefined);
  ctx.io.stderr.write(`To resume it: bitsadmin /resume ${formatJobId(id)}\n`);
  return {
    text: `Transfer interrupted; job ${formatJobId(id)} suspended.`,
    raw: formatJobId(id),
    json: { job: last, interrupted: true, resume: `bitsadmin /resume ${formatJobId(id)}` },
    exitCode: INTERRUPTED_EXIT_CODE,
  };
}

/** /transfer: create, add, resume and follow a job to its end (bits-client.md §12). */
export const transferCommand: Command = {
  name: 'transfer',
  syntax:
    '/transfer [<name>] [/download | /upload | /upload-reply] [/priority <priority>] [/aclflags <flags>] [/dynamic] <remote> <local> […]',
  summary: 'Create a job, add the files, resume it and wait: complete on success, cancel on error',
  async run(ctx) {
    const t = parseTransferArgs(ctx.args, ctx.io.cwd);
    const manager = await ctx.manager();
    const job = await createTransferJob(manager, t);
    ctx.print(
      `DISPLAY: '${t.name}' TYPE: ${t.type} PRIORITY: ${t.priority ?? job.priority} JOB: ${formatJobId(job.id)}`,
    );
    await manager.resume(job.id);
    return follow(ctx, manager, job);
  },
};
