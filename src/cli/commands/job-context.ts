import { BitsError, type BitsManager, type FileInfo, type JobInfo } from '../bits-vocabulary.ts';
import type { CommandContext, CommandResult } from '../command.ts';
import { jobByName } from '../job-by-name.ts';
import { arg, expectArgs, isSwitchToken, parseCount, unknownSwitch } from '../parse-values.ts';

/** The manager and the job named (by GUID or unique display name) in argument `index` (see jobByName). */
export async function resolveJob(
  ctx: CommandContext,
  index = 0,
  options: { files?: boolean } = {},
): Promise<{ manager: BitsManager; job: JobInfo }> {
  const name = arg(ctx.args, index);
  if (isSwitchToken(name)) throw unknownSwitch(name, ctx.command);
  const manager = await ctx.manager();
  return { manager, job: await jobByName(manager, name, options.files === true) };
}

/** `<job> <file_index>` of a per-file getter: the file, or E_INVALIDARG when the job has none at that index. */
export async function resolveFile(ctx: CommandContext, name: string): Promise<FileInfo> {
  expectArgs(name, ctx.args, 2);
  const index = parseCount(name, arg(ctx.args, 1), 'file index');
  const { manager, job } = await resolveJob(ctx);
  const file = (await manager.enumFiles(job.id)).find((f) => f.index === index);
  if (file === undefined) throw new BitsError('E_INVALIDARG', `the job has no file with index ${index}`);
  return file;
}

/** A setter's or action's result: its text, and for --json the job as it is now (read only then). */
export async function jobChanged(
  ctx: CommandContext,
  manager: BitsManager,
  jobId: string,
  text: string,
): Promise<CommandResult> {
  return { text, json: ctx.mode === 'json' ? await manager.getJob(jobId) : null };
}

/** A getter's result: the same value in all three modes (JSON keeps its type). */
export function value(text: string, json: unknown = text): CommandResult {
  return { text, raw: text, json };
}
