import type { BitsManager, JobInfo } from '../bits-vocabulary.ts';
import type { CommandContext, CommandResult } from '../command.ts';
import { arg, isSwitchToken, unknownSwitch } from '../parse-values.ts';

/** The manager and the job named (by GUID or unique display name) in argument `index`. */
export async function resolveJob(ctx: CommandContext, index = 0): Promise<{ manager: BitsManager; job: JobInfo }> {
  const name = arg(ctx.args, index);
  if (isSwitchToken(name)) throw unknownSwitch(name, ctx.command);
  const manager = await ctx.manager();
  const job = await manager.findJob(name);
  return { manager, job };
}

/** A setter's or action's result: its text, and the job as it is now for --json. */
export async function jobChanged(manager: BitsManager, jobId: string, text: string): Promise<CommandResult> {
  return { text, json: await manager.getJob(jobId) };
}

/** A getter's result: the same value in all three modes (JSON keeps its type). */
export function value(text: string, json: unknown = text): CommandResult {
  return { text, raw: text, json };
}
