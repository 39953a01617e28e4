import { resolve } from 'node:path';
import type { Command } from '../command.ts';
import { metalinkFiles } from '../metalink-files.ts';
import { arg, expectArgs, parseCount, parseDigest } from '../parse-values.ts';
import { UsageError } from '../usage-error.ts';
import { actOnJob, jobChanged, resolveFile, value } from './job-context.ts';

/** Beyond BITS: a file's mirrors and digests, and Metalink import (docs/transfer.md). */
export const mirrorCommands: readonly Command[] = [
  {
    name: 'importmetalink',
    syntax: '/importmetalink <job> <file.meta4> <directory>',
    summary: 'openbits: add the files of a Metalink document, with their mirrors and digests, into directory',
    async run(ctx) {
      expectArgs('importmetalink', ctx.args, 3);
      const cwd = ctx.io.cwd ?? process.cwd();
      const files = await metalinkFiles(resolve(cwd, arg(ctx.args, 1)), resolve(cwd, arg(ctx.args, 2)));
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.addFileSet(id, files));
      return jobChanged(ctx, manager, jobId, `Added ${files.length} file(s) from ${arg(ctx.args, 1)}.`);
    },
  },
  {
    name: 'setdigests',
    syntax: '/setdigests <job> <file_index> <algorithm>=<hex>…|NULL',
    summary:
      'openbits: whole-file digests (sha-256, sha-512, sha-1, md5) checked before the file counts as transferred',
    async run(ctx) {
      if (ctx.args.length < 3) throw new UsageError('a file index and at least one digest (or NULL)', 'setdigests');
      const index = parseCount('setdigests', arg(ctx.args, 1), 'file index');
      const rest = ctx.args.slice(2);
      const none = rest.length === 1 && rest[0]?.toUpperCase() === 'NULL';
      const digests = none ? [] : rest.map((d) => parseDigest('setdigests', d));
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.setFileDigests(id, index, digests));
      return jobChanged(ctx, manager, jobId, none ? 'Digests removed.' : `${digests.length} digest(s) set.`);
    },
  },
  {
    name: 'getdigests',
    syntax: '/getdigests <job> <file_index>',
    summary: "openbits: print the file's digests as algorithm=hex, one a line, and its piece digests (NULL when none)",
    async run(ctx) {
      const file = await resolveFile(ctx, 'getdigests');
      const lines = file.digests.map((d) => `${d.algorithm}=${d.value}`);
      if (file.pieces !== null) {
        lines.push(`pieces: ${file.pieces.count} × ${file.pieces.length} bytes, ${file.pieces.algorithm}`);
      }
      return value(lines.length === 0 ? 'NULL' : lines.join('\n'), { digests: file.digests, pieces: file.pieces });
    },
  },
  {
    name: 'setmirrors',
    syntax: '/setmirrors <job> <file_index> <url>…|NULL',
    summary: 'openbits: other URLs of the same file, tried after its remote name (NULL removes them)',
    async run(ctx) {
      if (ctx.args.length < 3) throw new UsageError('a file index and at least one URL (or NULL)', 'setmirrors');
      const index = parseCount('setmirrors', arg(ctx.args, 1), 'file index');
      const rest = ctx.args.slice(2);
      const urls = rest.length === 1 && rest[0]?.toUpperCase() === 'NULL' ? [] : rest;
      const { manager, jobId } = await actOnJob(ctx, (m, id) => m.setFileMirrors(id, index, urls));
      return jobChanged(ctx, manager, jobId, urls.length === 0 ? 'Mirrors removed.' : `${urls.length} mirror(s) set.`);
    },
  },
  {
    name: 'getmirrors',
    syntax: '/getmirrors <job> <file_index>',
    summary: "openbits: print the file's mirrors, one a line (NULL when none)",
    async run(ctx) {
      const file = await resolveFile(ctx, 'getmirrors');
      return value(file.mirrors.length === 0 ? 'NULL' : file.mirrors.join('\n'), file.mirrors);
    },
  },
];
