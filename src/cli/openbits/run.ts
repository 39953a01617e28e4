import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BitsError,
  type BitsManager,
  formatJobId,
  type JobInfo,
  type JobPriority,
  type JobSummary,
  type NewFileSpec,
  NotifyFlag,
} from '../bits-vocabulary.ts';
import { openDashboard } from '../commands/dashboard.ts';
import { errorFacts, errorText } from '../error-text.ts';
import { jobByName } from '../job-by-name.ts';
import { metalinkFiles } from '../metalink-files.ts';
import { parseConnections, parseDigest, parsePriority } from '../parse-values.ts';
import { sleep as realSleep } from '../sleep.ts';
import { UsageError } from '../usage-error.ts';
import { OPENBITS_VERSION } from '../version.ts';
import { completionScript } from './completion.ts';
import { daemonVerb } from './daemon-verb.ts';
import { nameFromUrl, serverFileName } from './file-name.ts';
import { followJob } from './follow.ts';
import { infoText } from './info.ts';
import type { OpenbitsIo } from './io.ts';
import { jobLine } from './job-line.ts';
import { findVerb, GLOBAL_OPTIONS, helpText, type VerbSpec } from './verbs.ts';
import { watchJobs } from './watch.ts';

type Values = Record<string, string | string[] | boolean | undefined>;

/** Parses a verb's options from its table entry. */
function parseVerb(verb: VerbSpec, argv: readonly string[]): { values: Values; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of [...verb.options, ...GLOBAL_OPTIONS]) {
    options[o.long] = {
      type: o.value === undefined ? 'boolean' : 'string',
      ...(o.multiple === true ? { multiple: true } : {}),
      ...(o.short === undefined ? {} : { short: o.short }),
    };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/su, ''), verb.name);
  }
}

/**
 * The job named by a GUID, a unique name, or a unique prefix of its id (as `ls` shows it); its
 * file list only when `files` asks for it (see jobByName).
 */
export async function findJob(manager: BitsManager, ref: string, files = false): Promise<JobInfo> {
  try {
    return await jobByName(manager, ref, files);
  } catch (err) {
    if (!(err instanceof BitsError) || err.name !== 'BG_E_NOT_FOUND' || !/^[0-9a-f-]{4,}$/iu.test(ref)) throw err;
    const matches = (await manager.enumJobSummaries()).filter((j) => j.id.startsWith(ref.toLowerCase()));
    if (matches.length === 1) return manager.getJob((matches[0] as JobSummary).id, { files });
    if (matches.length > 1)
      throw new BitsError('E_INVALIDARG', `${ref} names ${matches.length} jobs; give more of the id`);
    throw err;
  }
}

function one(verb: string, positionals: readonly string[], what = 'JOB'): string {
  if (positionals.length !== 1) throw new UsageError(`${verb} takes one ${what}`, verb);
  return positionals[0] as string;
}

/** Where each URL goes: -o FILE (one URL), -P DIR, or the current folder; relative to cwd. */
async function destinations(io: OpenbitsIo, urls: readonly string[], values: Values): Promise<string[]> {
  const output = values.output as string | undefined;
  const dir = resolve(io.cwd, (values['directory-prefix'] as string | undefined) ?? '.');
  if (output !== undefined) {
    if (urls.length !== 1) throw new UsageError('-o names one file; use -P DIR for several URLs', 'get');
    return [isAbsolute(output) ? output : resolve(io.cwd, output)];
  }
  const names: string[] = [];
  for (const url of urls) {
    const fromServer = values['content-disposition'] === true ? await serverFileName(url, io.signal) : undefined;
    names.push(join(dir, fromServer ?? nameFromUrl(url)));
  }
  return names;
}

/** The files of a `get`: its URLs (with --mirror and --checksum), or a Metalink's files. */
async function filesToGet(io: OpenbitsIo, values: Values, urls: readonly string[]): Promise<NewFileSpec[]> {
  const metalink = values.metalink as string | undefined;
  if (metalink !== undefined) {
    if (urls.length > 0 || values.output !== undefined) {
      throw new UsageError('--metalink takes no URL and no -o (the document names the files; -P DIR)', 'get');
    }
    const dir = resolve(io.cwd, (values['directory-prefix'] as string | undefined) ?? '.');
    return metalinkFiles(resolve(io.cwd, metalink), dir);
  }
  if (urls.length === 0) throw new UsageError('get needs at least one URL', 'get');
  const locals = await destinations(io, urls, values);
  const mirrors = (values.mirror as string[] | undefined) ?? [];
  const checksums = ((values.checksum as string[] | undefined) ?? []).map((c) => parseDigest('get', c));
  if ((mirrors.length > 0 || checksums.length > 0) && urls.length !== 1) {
    throw new UsageError('--mirror and --checksum describe one URL', 'get');
  }
  return urls.map((remoteName, i) => ({
    remoteName,
    localName: locals[i] as string,
    ...(mirrors.length > 0 ? { mirrors } : {}),
    ...(checksums.length > 0 ? { digests: checksums } : {}),
  }));
}

async function get(io: OpenbitsIo, manager: BitsManager, values: Values, urls: readonly string[]): Promise<number> {
  const detach = values.detach === true;
  const files = await filesToGet(io, values, urls);
  const locals = files.map((f) => f.localName);
  const priority: JobPriority =
    values.priority === undefined
      ? detach
        ? 'NORMAL'
        : 'FOREGROUND'
      : parsePriority('get', values.priority as string);
  const name = (values.name as string | undefined) ?? (locals[0]?.split('/').pop() as string);
  const job = await manager.createJob(name, 'DOWNLOAD');
  try {
    await manager.addFileSet(job.id, files);
    if (priority !== job.priority) await manager.setPriority(job.id, priority);
    if (values.private === true) await manager.setFileMode(job.id, 0o600);
    if (values.connections !== undefined) {
      await manager.setMaxConnections(job.id, parseConnections('get', values.connections as string));
    }
    if (detach) {
      // Nobody waits for a detached job: bitsd runs this command's `complete` when it is
      // transferred (the BITS notify command line), which publishes the files. Only then: a job
      // in ERROR stays in the queue for `openbits ls`/`info` (Complete would drop it).
      const [program, ...rest] = io.self;
      if (program !== undefined) {
        await manager.setNotifyFlags(job.id, NotifyFlag.JOB_TRANSFERRED);
        const quote = (s: string): string => (/^[\w./:=@%+-]+$/u.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
        await manager.setNotifyCmdLine(job.id, program, [program, ...rest, 'complete', job.id].map(quote).join(' '));
      }
    }
  } catch (err) {
    await manager.cancel(job.id).catch(() => undefined);
    throw err;
  }
  await manager.resume(job.id);
  if (detach) {
    io.stdout.write(
      `${formatJobId(job.id)} ${name}: downloading in the background (openbits watch ${job.id.slice(0, 8)})\n`,
    );
    return 0;
  }
  return followJob(io, manager, job, { quiet: values.quiet === true });
}

/** Runs one openbits command line; resolves to the exit code. Never throws. */
export async function runOpenbits(argv: readonly string[], io: OpenbitsIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help') {
    io.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (first === '--version') {
    io.stdout.write(`openbits ${OPENBITS_VERSION}\n`);
    return 0;
  }
  const verb = findVerb(first);
  let client: ReturnType<OpenbitsIo['connect']> | undefined;
  let system = false;
  const manager = (): BitsManager => {
    client ??= io.connect(system ? { system } : undefined);
    return client;
  };
  try {
    if (verb === undefined) throw new UsageError(`unknown verb: ${first}`, null);
    const { values, positionals } = parseVerb(verb, rest);
    system = values.system === true;
    if (values.help === true || verb.name === 'help') {
      const target = verb.name === 'help' && positionals[0] !== undefined ? findVerb(positionals[0]) : verb;
      io.stdout.write(`${helpText(verb.name === 'help' && target === verb ? undefined : target)}\n`);
      return 0;
    }
    if (values.version === true) {
      io.stdout.write(`openbits ${OPENBITS_VERSION}\n`);
      return 0;
    }
    const json = values.json === true;
    switch (verb.name) {
      case 'get':
        return await get(io, manager(), values, positionals);
      case 'ls': {
        if (positionals.length > 0) throw new UsageError('ls takes no arguments', 'ls');
        const jobs = await manager().enumJobs();
        if (json) io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
        else for (const j of jobs) io.stdout.write(`${jobLine(j)}\n`);
        return 0;
      }
      case 'info': {
        const job = await findJob(manager(), one('info', positionals), true);
        io.stdout.write(json ? `${JSON.stringify(job, null, 2)}\n` : `${infoText(job)}\n`);
        return 0;
      }
      case 'watch': {
        const jobs = await Promise.all(positionals.map((p) => findJob(manager(), p)));
        return await watchJobs(
          io,
          manager(),
          jobs.map((j) => j.id),
          io.sleep ?? realSleep,
        );
      }
      case 'cancel':
      case 'complete': {
        const job = await findJob(manager(), one(verb.name, positionals));
        const result = await manager()[verb.name](job.id);
        const done = verb.name === 'cancel' ? 'cancelled' : 'completed';
        io.stdout.write(`${job.displayName}: ${done}${result === 'S_OK' ? '' : ` (${result})`}\n`);
        return 0;
      }
      case 'suspend':
      case 'resume': {
        const job = await findJob(manager(), one(verb.name, positionals));
        await manager()[verb.name](job.id);
        io.stdout.write(`${job.displayName}: ${verb.name === 'suspend' ? 'suspended' : 'resumed'}\n`);
        return 0;
      }
      case 'daemon':
        return await daemonVerb(io, one('daemon', positionals, 'of start, stop, status, logs or unit'), values);
      case 'dashboard': {
        if (positionals.length > 0) throw new UsageError('dashboard takes no arguments', 'dashboard');
        const opened = await openDashboard({
          manager: manager(),
          env: io.env,
          signal: io.signal,
          print: (text) => io.stdout.write(text),
        });
        if (opened.servedBy === 'bitsd') io.stdout.write(`${opened.url}\n`);
        return 0;
      }
      case 'completion':
        io.stdout.write(completionScript(one('completion', positionals, 'shell (bash, zsh or fish)')));
        return 0;
      default:
        throw new UsageError(`unknown verb: ${first}`, null);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const usage =
        err.command === null ? 'Run `openbits --help` for the verbs.' : helpText(findVerb(err.command)).split('\n')[0];
      io.stderr.write(`openbits: ${err.message}\n${usage}\n`);
      return 2;
    }
    io.stderr.write(`openbits: ${errorText(errorFacts(err))}\n`);
    return 1;
  } finally {
    await client?.close().catch(() => undefined);
  }
}
