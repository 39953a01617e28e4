import { BitsError, type BitsManager, type FileInfo, type JobInfo, normalizeJobId } from '../bits-vocabulary.ts';
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

/**
 * Runs `act` on the job named in argument `index`, for a switch that needs nothing of the job
 * but its id: a GUID goes straight to the call, one round trip fewer than resolveJob for a
 * script that names its job by the GUID /create printed (`/resume $job`, `/complete $job`); a
 * display name is looked up first. When the call fails, the job is read: a job the read does
 * not find (unknown, cancelled, acknowledged) fails with the read's BG_E_NOT_FOUND, as
 * bitsadmin's GetJob-then-call does; otherwise the call's own error stands.
 */
export async function actOnJob<T>(
  ctx: CommandContext,
  act: (manager: BitsManager, jobId: string) => Promise<T>,
  index = 0,
): Promise<{ manager: BitsManager; jobId: string; result: T }> {
  const name = arg(ctx.args, index);
  if (isSwitchToken(name)) throw unknownSwitch(name, ctx.command);
  const manager = await ctx.manager();
  const guid = normalizeJobId(name);
  if (guid === null) {
    const jobId = (await manager.findJob(name, { files: false })).id;
    return { manager, jobId, result: await act(manager, jobId) };
  }
  try {
    return { manager, jobId: guid, result: await act(manager, guid) };
  } catch (err) {
    await manager.getJob(guid, { files: false });
    throw err;
  }
}

/** `<job> <file_index>` of a per-file getter: the file, or E_INVALIDARG when the job has none at that index. */
export async function resolveFile(ctx: CommandContext, name: string): Promise<FileInfo> {
  expectArgs(name, ctx.args, 2);
  const index = parseCount(name, arg(ctx.args, 1), 'file index');
  const { result: files } = await actOnJob(ctx, (m, id) => m.enumFiles(id));
  const file = files.find((f) => f.index === index);
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
