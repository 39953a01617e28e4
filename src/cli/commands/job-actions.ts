import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatJobId, type JobType } from '../bits-vocabulary.ts';
import type { Command } from '../command.ts';
import { resultNote } from '../error-text.ts';
import { fileLine } from '../format-job.ts';
import {
  arg,
  expectArgs,
  isSwitchToken,
  jobTypeSwitch,
  parseFileSet,
  parseRangeList,
  unknownSwitch,
} from '../parse-values.ts';
import { UsageError } from '../usage-error.ts';
import { actOnJob, jobChanged, resolveFile, value } from './job-context.ts';

/** The state methods that leave the queue (Cancel, Complete): the job is gone afterwards. */
function finalAction(name: 'cancel' | 'complete', done: string): Command {
  return {
    name,
    syntax: `/${name} <job>`,
    summary:
      name === 'cancel' ? 'Cancel the job and delete its temporary files' : 'Complete the job: publish its files',
    async run(ctx) {
      expectArgs(name, ctx.args, 1);
      const { jobId, result: code } = await actOnJob(ctx, (m, id) => m[name](id));
      // /rawreturn prints a success code other than S_OK (BG_S_PARTIAL_COMPLETE…), as scripts need it.
      return {
        text: `${done}${resultNote(code)}`,
        ...(code === 'S_OK' ? {} : { raw: code }),
        json: { jobId: jobId, result: code },
      };
    },
  };
}

function stateAction(name: 'resume' | 'suspend', done: string, summary: string): Command {
  return {
    name,
    syntax: `/${name} <job>`,
    summary,
    async run(ctx) {
      expectArgs(name, ctx.args, 1);
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m[name](id));
      return jobChanged(ctx, manager, jobId, done);
    },
  };
}

/** Switches that create a job, add files, or act on a job's state and ownership. */
export const jobActionCommands: readonly Command[] = [
  {
    name: 'create',
    syntax: '/create [/download | /upload | /upload-reply] <displayname>',
    summary: 'Create a job (suspended; download unless a type is given)',
    async run(ctx) {
      let type: JobType = 'DOWNLOAD';
      const names: string[] = [];
      let typed = false;
      for (const a of ctx.args) {
        const t = jobTypeSwitch(a);
        if (t !== undefined && !typed) {
          type = t;
          typed = true;
        } else if (isSwitchToken(a)) throw unknownSwitch(a, 'create');
        else names.push(a);
      }
      expectArgs('create', names, 1);
      const job = await (await ctx.manager()).createJob(arg(names, 0), type);
      return { text: `Created job ${formatJobId(job.id)}.`, raw: formatJobId(job.id), json: job };
    },
  },
  {
    name: 'addfile',
    syntax: '/addfile <job> <remoteURL> <localname>',
    summary: 'Add a file to the job (localname is an absolute path)',
    async run(ctx) {
      expectArgs('addfile', ctx.args, 3);
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.addFile(id, arg(ctx.args, 1), arg(ctx.args, 2)));
      return jobChanged(ctx, manager, jobId, `Added ${arg(ctx.args, 1)} -> ${arg(ctx.args, 2)} to job.`);
    },
  },
  {
    name: 'addfileset',
    syntax: '/addfileset <job> <textfile>',
    summary: 'Add the files listed in textfile ("remote local" per line, # comments) in one call',
    async run(ctx) {
      expectArgs('addfileset', ctx.args, 2);
      let text: string;
      try {
        // A synchronous read: node:fs/promises would load readline and streams for one small file.
        text = readFileSync(resolve(arg(ctx.args, 1)), 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${arg(ctx.args, 1)}: ${(err as Error).message}`, 'addfileset');
      }
      const files = parseFileSet('addfileset', text);
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.addFileSet(id, files));
      return jobChanged(ctx, manager, jobId, `Added ${files.length} file(s) to job.`);
    },
  },
  {
    name: 'addfilewithranges',
    syntax: '/addfilewithranges <job> <remoteURL> <localname> <rangelist>',
    summary: 'Add a file, downloading only the ranges offset:length[,…] (length may be eof)',
    async run(ctx) {
      expectArgs('addfilewithranges', ctx.args, 4);
      const ranges = parseRangeList('addfilewithranges', arg(ctx.args, 3));
      const { manager, jobId } = await actOnJob(ctx, (m, id) =>
        m.addFileWithRanges(id, arg(ctx.args, 1), arg(ctx.args, 2), ranges),
      );
      return jobChanged(
        ctx,
        manager,
        jobId,
        `Added ${arg(ctx.args, 1)} -> ${arg(ctx.args, 2)} to job with ${ranges.length} range(s).`,
      );
    },
  },
  {
    name: 'listfiles',
    syntax: '/listfiles <job>',
    summary: "List the job's files with their progress",
    async run(ctx) {
      expectArgs('listfiles', ctx.args, 1);
      const { result: files } = await actOnJob(ctx, (m, id) => m.enumFiles(id));
      const lines = files.map(fileLine);
      return { text: [...lines, `Listed ${files.length} file(s).`].join('\n'), raw: lines.join('\n'), json: files };
    },
  },
  stateAction('resume', 'Job resumed.', 'Activate the job in the transfer queue'),
  stateAction('suspend', 'Job suspended.', 'Suspend the job'),
  finalAction('cancel', 'Job canceled.'),
  finalAction('complete', 'Job completed.'),
  {
    name: 'takeownership',
    syntax: '/takeownership <job>',
    summary: 'Make the current user the owner of the job',
    async run(ctx) {
      expectArgs('takeownership', ctx.args, 1);
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.takeOwnership(id));
      return jobChanged(ctx, manager, jobId, 'Took ownership of the job.');
    },
  },
  {
    name: 'replaceremoteprefix',
    syntax: '/replaceremoteprefix <job> <oldprefix> <newprefix>',
    summary: 'Replace the start of every remote URL that begins with oldprefix',
    async run(ctx) {
      expectArgs('replaceremoteprefix', ctx.args, 3);
      const {
        manager,
        jobId,
        result: code,
      } = await actOnJob(ctx, (m, id) => m.replaceRemotePrefix(id, arg(ctx.args, 1), arg(ctx.args, 2)));
      const text =
        code === 'S_FALSE'
          ? `No remote name starts with ${arg(ctx.args, 1)}.`
          : `Replaced ${arg(ctx.args, 1)} with ${arg(ctx.args, 2)}.`;
      return { text, json: { jobId: jobId, result: code, files: await manager.enumFiles(jobId) } };
    },
  },
  {
    name: 'gettemporaryname',
    syntax: '/gettemporaryname <job> <file_index>',
    summary: 'Print the temporary file name of the file at file_index (0-based)',
    async run(ctx) {
      const file = await resolveFile(ctx, 'gettemporaryname');
      return value(file.temporaryName ?? 'NULL', file.temporaryName);
    },
  },
];
