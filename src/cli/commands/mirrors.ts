import { BitsError } from '../bits-vocabulary.ts';
import type { Command } from '../command.ts';
import { arg, expectArgs, parseCount } from '../parse-values.ts';
import { UsageError } from '../usage-error.ts';
import { jobChanged, resolveJob, value } from './job-context.ts';

/** Beyond BITS: a file's mirrors (docs/transfer.md, mirrors). */
export const mirrorCommands: readonly Command[] = [
  {
    name: 'setmirrors',
    syntax: '/setmirrors <job> <file_index> <url>…|NULL',
    summary: 'openbits: other URLs of the same file, tried after its remote name (NULL removes them)',
    async run(ctx) {
      if (ctx.args.length < 3) throw new UsageError('a file index and at least one URL (or NULL)', 'setmirrors');
      const index = parseCount('setmirrors', arg(ctx.args, 1), 'file index');
      const rest = ctx.args.slice(2);
      const urls = rest.length === 1 && rest[0]?.toUpperCase() === 'NULL' ? [] : rest;
      const { manager, job } = await resolveJob(ctx);
      await manager.setFileMirrors(job.id, index, urls);
      return jobChanged(manager, job.id, urls.length === 0 ? 'Mirrors removed.' : `${urls.length} mirror(s) set.`);
    },
  },
  {
    name: 'getmirrors',
    syntax: '/getmirrors <job> <file_index>',
    summary: "openbits: print the file's mirrors, one a line (NULL when none)",
    async run(ctx) {
      expectArgs('getmirrors', ctx.args, 2);
      const index = parseCount('getmirrors', arg(ctx.args, 1), 'file index');
      const { manager, job } = await resolveJob(ctx);
      const file = (await manager.enumFiles(job.id)).find((f) => f.index === index);
      if (file === undefined) throw new BitsError('E_INVALIDARG', `the job has no file with index ${index}`);
      return value(file.mirrors.length === 0 ? 'NULL' : file.mirrors.join('\n'), file.mirrors);
    },
  },
];
