import {
  errorContextValue,
  type FileInfo,
  formatHresult,
  formatJobId,
  type JobErrorInfo,
  type JobInfo,
  type JobProgress,
  type JobSummary,
  SIZE_UNKNOWN,
} from './bits-vocabulary.ts';

/** bitsadmin's text renderings of jobs, files, errors and times (bits-client.md §12). */

/** A byte count, or UNKNOWN for BG_SIZE_UNKNOWN. */
export function sizeText(bytes: number): string {
  return bytes === SIZE_UNKNOWN ? 'UNKNOWN' : String(bytes);
}

/** `12/17/2002 1:21:17 PM`, local time, as bitsadmin prints a FILETIME; UNKNOWN when unset. */
export function timeText(epochMs: number | null): string {
  if (epochMs === null) return 'UNKNOWN';
  const d = new Date(epochMs);
  const h = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${h}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getHours() < 12 ? 'AM' : 'PM'}`;
}

/** `n / m` files then `n / m|UNKNOWN` bytes. */
export function progressText(p: JobProgress): string {
  return `${p.filesTransferred} / ${p.filesTotal} ${p.bytesTransferred} / ${sizeText(p.bytesTotal)}`;
}

/** One /list line: `{GUID} name STATE files bytes`. */
export function listLine(job: JobSummary): string {
  return `${formatJobId(job.id)} ${job.displayName} ${job.state} ${progressText(job.progress)}`;
}

/** One file line: `n / m|UNKNOWN WORKING|COMPLETED remote -> local`. */
export function fileLine(file: FileInfo): string {
  const p = file.progress;
  return `${p.bytesTransferred} / ${sizeText(p.bytesTotal)} ${p.completed ? 'COMPLETED' : 'WORKING'} ${file.remoteName} -> ${file.localName}`;
}

/** The ERROR FILE / ERROR CODE / ERROR CONTEXT block. */
export function errorLines(error: JobErrorInfo): string[] {
  const file = error.file === null ? 'none' : `${error.file.remoteName} -> ${error.file.localName}`;
  const context = formatHresult(errorContextValue(error.context));
  return [
    `ERROR FILE:    ${file}`,
    `ERROR CODE:    ${formatHresult(error.hresult)} - ${error.name}: ${error.message}`,
    `ERROR CONTEXT: ${context} - ${error.contextDescription}`,
  ];
}

/** `'program' parameters`, or none. */
export function notifyCmdLineText(c: JobInfo['notifyCmdLine']): string {
  if (c === null) return 'none';
  return c.parameters === null ? `'${c.program}'` : `'${c.program}' ${c.parameters}`;
}

/** `0x0200`-style security flags. */
export function securityFlagsText(flags: number): string {
  return `0x${flags.toString(16).padStart(4, '0')}`;
}

/** The /info /verbose block (the field order of bitsadmin, then openbits's own fields). */
export function verboseInfo(job: JobInfo): string[] {
  const p = job.progress;
  const lines = [
    `GUID: ${formatJobId(job.id)} DISPLAY: ${job.displayName}`,
    `TYPE: ${job.type} STATE: ${job.state} OWNER: ${job.owner}`,
    `PRIORITY: ${job.priority} FILES: ${p.filesTransferred} / ${p.filesTotal} BYTES: ${p.bytesTransferred} / ${sizeText(p.bytesTotal)}`,
    `CREATION TIME: ${timeText(job.times.creationTime)} MODIFICATION TIME: ${timeText(job.times.modificationTime)}`,
    `COMPLETION TIME: ${timeText(job.times.transferCompletionTime)}`,
    `NOTIFY INTERFACE: UNREGISTERED NOTIFICATION FLAGS: ${job.notifyFlags}`,
    `RETRY DELAY: ${job.minimumRetryDelay} NO PROGRESS TIMEOUT: ${job.noProgressTimeout} ERROR COUNT: ${job.errorCount}`,
    `PROXY USAGE: ${job.proxy.usage} PROXY LIST: ${job.proxy.proxyList ?? 'NULL'} PROXY BYPASS LIST: ${job.proxy.bypassList ?? 'NULL'}`,
    ...(job.error === null ? [] : errorLines(job.error)),
    `DESCRIPTION: ${job.description}`,
    'JOB FILES:',
    ...job.files.map(fileLine),
    `NOTIFICATION COMMAND LINE: ${notifyCmdLineText(job.notifyCmdLine)}`,
    `MAX DOWNLOAD TIME: ${job.maximumDownloadTime} SECURITY FLAGS: ${securityFlagsText(job.securityFlags)} CUSTOM HEADERS: ${job.hasCustomHeaders ? 'SET' : 'NONE'}`,
    `MAX BANDWIDTH: ${job.maxBandwidth === 0 ? 'UNLIMITED' : `${job.maxBandwidth} BYTES/S`} DYNAMIC CONTENT: ${job.dynamicContent}`,
  ];
  if (job.type === 'UPLOAD_REPLY') {
    const r = job.replyProgress;
    lines.push(
      `REPLY FILE: ${job.replyFileName ?? 'NULL'} REPLY BYTES: ${r === null ? 'UNKNOWN' : `${r.bytesTransferred} / ${sizeText(r.bytesTotal)}`}`,
    );
  }
  return lines;
}
