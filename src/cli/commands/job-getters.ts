import { formatTransferPolicy, type JobInfo } from '../bits-vocabulary.ts';
import type { Command, CommandResult } from '../command.ts';
import { errorLines, notifyCmdLineText, securityFlagsText, sizeText, timeText } from '../format-job.ts';
import { expectArgs } from '../parse-values.ts';
import { actOnJob, resolveJob, value } from './job-context.ts';

/** A getter that reads one property of the job record. */
function getter(name: string, summary: string, read: (job: JobInfo) => CommandResult): Command {
  return {
    name,
    syntax: `/${name} <job>`,
    summary,
    async run(ctx) {
      expectArgs(name, ctx.args, 1);
      const { job } = await resolveJob(ctx);
      return read(job);
    },
  };
}

const text = (v: string | number): CommandResult => value(String(v), v);
const size = (n: number): CommandResult => value(sizeText(n), n);
const time = (t: number | null): CommandResult => value(timeText(t), t);
const orNull = (v: string | null): CommandResult => value(v ?? 'NULL', v);

/** The /get… switches: one value of a job each. */
export const jobGetterCommands: readonly Command[] = [
  getter('getstate', 'Print the job state', (j) => text(j.state)),
  getter('gettype', 'Print the job type', (j) => text(j.type)),
  getter('getowner', 'Print the owner of the job', (j) => text(j.owner)),
  getter('getbytestotal', 'Print the size of the job (UNKNOWN until every size is known)', (j) =>
    size(j.progress.bytesTotal),
  ),
  getter('getbytestransferred', 'Print the number of bytes transferred', (j) => size(j.progress.bytesTransferred)),
  getter('getfilestotal', 'Print the number of files in the job', (j) => text(j.progress.filesTotal)),
  getter('getfilestransferred', 'Print the number of files transferred', (j) => text(j.progress.filesTransferred)),
  getter('getcreationtime', 'Print the creation time', (j) => time(j.times.creationTime)),
  getter('getmodificationtime', 'Print the last modification time', (j) => time(j.times.modificationTime)),
  getter('getcompletiontime', 'Print the time the job finished transferring (UNKNOWN until then)', (j) =>
    time(j.times.transferCompletionTime),
  ),
  getter('geterrorcount', 'Print how many times the job has failed', (j) => text(j.errorCount)),
  getter('getpriority', 'Print the priority', (j) => text(j.priority)),
  getter('getdisplayname', 'Print the display name', (j) => text(j.displayName)),
  getter('getdescription', 'Print the description', (j) => text(j.description)),
  getter('getnotifyflags', 'Print the notification flags', (j) => text(j.notifyFlags)),
  getter('getnotifyinterface', 'Print whether a notification interface is registered', () => text('UNREGISTERED')),
  getter('getnotifycmdline', 'Print the program run on transferred/error', (j) =>
    value(notifyCmdLineText(j.notifyCmdLine), j.notifyCmdLine),
  ),
  getter('getnotifyurl', 'Print the webhook URLs (NULL when none)', (j) =>
    value(j.webhooks.length === 0 ? 'NULL' : j.webhooks.map((h) => h.url).join(' '), j.webhooks),
  ),
  getter('getminretrydelay', 'Print the retry delay in seconds', (j) => text(j.minimumRetryDelay)),
  getter('getnoprogresstimeout', 'Print the no-progress timeout in seconds', (j) => text(j.noProgressTimeout)),
  getter('getmaxdownloadtime', 'Print the maximum download time in seconds', (j) => text(j.maximumDownloadTime)),
  getter('getproxyusage', 'Print the proxy usage', (j) => text(j.proxy.usage)),
  getter('getproxylist', 'Print the proxy list (NULL when none)', (j) => orNull(j.proxy.proxyList)),
  getter('getproxybypasslist', 'Print the proxy bypass list (NULL when none)', (j) => orNull(j.proxy.bypassList)),
  getter('getsecurityflags', 'Print the HTTP security flags', (j) =>
    value(securityFlagsText(j.securityFlags), j.securityFlags),
  ),
  getter('getfilemode', 'Print the mode of the published files (UMASK: 0666 & ~umask)', (j) =>
    value(j.fileMode === null ? 'UMASK' : `0${j.fileMode.toString(8).padStart(3, '0')}`, j.fileMode),
  ),
  getter('getmaxconnections', 'Print the connections one file may use at once (1–16)', (j) => text(j.maxConnections)),
  getter('gettransferpolicy', 'Print the network costs the job may transfer on (DEFAULT: the policy default)', (j) =>
    value(j.costFlags === null ? 'DEFAULT' : formatTransferPolicy(j.costFlags), j.costFlags),
  ),
  getter('getmaxbandwidth', 'Print the bandwidth cap in bytes per second (0: none)', (j) => text(j.maxBandwidth)),
  {
    name: 'geterror',
    syntax: '/geterror <job>',
    summary: "Print the job's error (only in ERROR or TRANSIENT_ERROR)",
    async run(ctx) {
      expectArgs('geterror', ctx.args, 1);
      const { result: error } = await actOnJob(ctx, (m, id) => m.getError(id));
      const lines = errorLines(error).join('\n');
      return { text: lines, raw: lines, json: error };
    },
  },
  {
    name: 'getcustomheaders',
    syntax: '/getcustomheaders <job>',
    summary: 'Print the custom HTTP headers, one per line (NULL when none)',
    async run(ctx) {
      expectArgs('getcustomheaders', ctx.args, 1);
      const { result: headers } = await actOnJob(ctx, (m, id) => m.getCustomHeaders(id));
      return value(headers === null ? 'NULL' : headers.join('\n'), headers);
    },
  },
  {
    name: 'getreplyfilename',
    syntax: '/getreplyfilename <job>',
    summary: 'Print the reply file name of an upload-reply job (NULL when none)',
    async run(ctx) {
      expectArgs('getreplyfilename', ctx.args, 1);
      const { result } = await actOnJob(ctx, (m, id) => m.getReplyFileName(id));
      return orNull(result);
    },
  },
  {
    name: 'getreplyprogress',
    syntax: '/getreplyprogress <job>',
    summary: 'Print the reply progress of an upload-reply job: transferred / total bytes',
    async run(ctx) {
      expectArgs('getreplyprogress', ctx.args, 1);
      const { result: p } = await actOnJob(ctx, (m, id) => m.getReplyProgress(id));
      return value(`${p.bytesTransferred} / ${sizeText(p.bytesTotal)}`, p);
    },
  },
  {
    name: 'getreplydata',
    syntax: '/getreplydata <job>',
    summary: "Print the server's reply of an upload-reply job in hexadecimal",
    async run(ctx) {
      expectArgs('getreplydata', ctx.args, 1);
      const { result: data } = await actOnJob(ctx, (m, id) => m.getReplyData(id));
      if (data === null) return value('NULL', null);
      const lines: string[] = [];
      for (let i = 0; i < data.length; i += 16) {
        const row = data.subarray(i, i + 16);
        const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
        const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
        lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
      }
      return {
        text: lines.join('\n'),
        raw: data.toString('hex'),
        json: { length: data.length, base64: data.toString('base64') },
      };
    },
  },
];
