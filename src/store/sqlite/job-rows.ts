import type { SQLInputValue } from 'node:sqlite';
import type { Job, JobFile } from '../../core/index.ts';
import type { JobTimers } from '../job-store.ts';

/**
 * Job records ↔ table rows. Scalars get their own columns; nested records (proxy, credentials,
 * notify command line, error, ranges, validators) are JSON. Objects are rebuilt key by key, so
 * a job read back is deep-equal to the one written (node:sqlite rows have a null prototype).
 */

type Row = Record<string, unknown>;

const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));
const parse = <T>(text: unknown): T => (text === null ? null : JSON.parse(text as string)) as T;

/** The job's column values by name (bound in column order: statements.ts RowStatement). */
export function jobParams(job: Job): Record<string, SQLInputValue> {
  return {
    id: job.id,
    type: job.type,
    display_name: job.displayName,
    description: job.description,
    owner: job.owner,
    state: job.state,
    priority: job.priority,
    minimum_retry_delay: job.minimumRetryDelay,
    no_progress_timeout: job.noProgressTimeout,
    maximum_download_time: job.maximumDownloadTime,
    notify_flags: job.notifyFlags,
    notify_cmd_line: json(job.notifyCmdLine),
    proxy: JSON.stringify(job.proxy),
    security_flags: job.securityFlags,
    custom_headers: job.customHeaders,
    custom_headers_write_only: job.customHeadersWriteOnly ? 1 : 0,
    credentials: JSON.stringify(job.credentials),
    dynamic_content: job.dynamicContent ? 1 : 0,
    high_performance: job.highPerformance ? 1 : 0,
    max_download_size: job.maxDownloadSize,
    max_bandwidth: job.maxBandwidth,
    file_mode: job.fileMode,
    max_connections: job.maxConnections,
    cost_flags: job.costFlags,
    reply_file_name: job.replyFileName,
    error_count: job.errorCount,
    error: json(job.error),
    creation_time: job.times.creationTime,
    modification_time: job.times.modificationTime,
    transfer_completion_time: job.times.transferCompletionTime,
    ever_resumed: job.everResumed ? 1 : 0,
    webhooks: JSON.stringify(job.webhooks),
  };
}

/**
 * The job columns, in the order of jobParams (for the INSERT and UPDATE texts). Derived from the
 * parameter builder run on a skeleton record, so the column list cannot drift from it.
 */
export const JOB_COLUMNS: readonly string[] = Object.keys(
  jobParams({
    times: {},
    proxy: {},
    credentials: [],
    notifyCmdLine: null,
    error: null,
    webhooks: [],
  } as unknown as Job),
);

/** One file row's column values by name. */
export function fileParams(jobId: string, file: JobFile): Record<string, SQLInputValue> {
  return {
    job_id: jobId,
    idx: file.index,
    remote_name: file.remoteName,
    local_name: file.localName,
    ranges: json(file.ranges),
    bytes_total: file.bytesTotal,
    bytes_transferred: file.bytesTransferred,
    transferred: file.transferred ? 1 : 0,
    completed: file.completed ? 1 : 0,
    temporary_name: file.temporaryName,
    temporary_file_id: file.temporaryFileId,
    ready_mode: file.readyMode,
    validators: json(file.validators),
    segments: json(file.segments),
    mirrors: JSON.stringify(file.mirrors),
    digests: JSON.stringify(file.digests),
    pieces: json(file.pieces),
  };
}

/** The file columns, in the order of fileParams (derived the same way as JOB_COLUMNS). */
export const FILE_COLUMNS: readonly string[] = Object.keys(
  fileParams('', {
    ranges: null,
    validators: null,
    segments: null,
    mirrors: [],
    digests: [],
    pieces: null,
  } as unknown as JobFile),
);

/** A file row back to a record. */
export function rowToFile(row: Row): JobFile {
  return {
    index: row.idx as number,
    remoteName: row.remote_name as string,
    localName: row.local_name as string,
    ranges: parse<JobFile['ranges']>(row.ranges),
    bytesTotal: row.bytes_total as number,
    bytesTransferred: row.bytes_transferred as number,
    transferred: row.transferred === 1,
    completed: row.completed === 1,
    temporaryName: row.temporary_name as string | null,
    temporaryFileId: row.temporary_file_id as string | null,
    readyMode: (row.ready_mode ?? null) as number | null,
    validators: parse<JobFile['validators']>(row.validators),
    segments: parse<JobFile['segments']>(row.segments),
    mirrors: parse<JobFile['mirrors']>(row.mirrors),
    digests: parse<JobFile['digests']>(row.digests),
    pieces: parse<JobFile['pieces']>(row.pieces),
  };
}

/** A job row (and its file rows, ordered by index) back to a record. */
export function rowToJob(row: Row, files: readonly JobFile[]): Job {
  return {
    id: row.id as string,
    type: row.type as Job['type'],
    displayName: row.display_name as string,
    description: row.description as string,
    owner: row.owner as string,
    state: row.state as Job['state'],
    priority: row.priority as Job['priority'],
    minimumRetryDelay: row.minimum_retry_delay as number,
    noProgressTimeout: row.no_progress_timeout as number,
    maximumDownloadTime: row.maximum_download_time as number,
    notifyFlags: row.notify_flags as number,
    notifyCmdLine: parse<Job['notifyCmdLine']>(row.notify_cmd_line),
    proxy: parse<Job['proxy']>(row.proxy),
    securityFlags: row.security_flags as number,
    customHeaders: row.custom_headers as string | null,
    customHeadersWriteOnly: row.custom_headers_write_only === 1,
    credentials: parse<Job['credentials']>(row.credentials),
    dynamicContent: row.dynamic_content === 1,
    highPerformance: row.high_performance === 1,
    maxDownloadSize: row.max_download_size as number | null,
    maxBandwidth: row.max_bandwidth as number,
    fileMode: (row.file_mode ?? null) as number | null,
    maxConnections: row.max_connections as number,
    costFlags: (row.cost_flags ?? null) as number | null,
    replyFileName: row.reply_file_name as string | null,
    errorCount: row.error_count as number,
    error: parse<Job['error']>(row.error),
    times: {
      creationTime: row.creation_time as number,
      modificationTime: row.modification_time as number,
      transferCompletionTime: row.transfer_completion_time as number | null,
    },
    everResumed: row.ever_resumed === 1,
    webhooks: parse<Job['webhooks']>(row.webhooks) ?? [],
    files: [...files],
  };
}

/** A timers row back to a record. */
export function rowToTimers(row: Row): JobTimers {
  return {
    activeMs: row.active_ms as number,
    noProgressMs: row.no_progress_ms as number | null,
    retryRemainingMs: row.retry_remaining_ms as number | null,
    inactiveMs: row.inactive_ms as number,
  };
}
