/** BG_JOB_STATE with its numeric values (bits-client.md §2.1). */
export const JOB_STATES = [
  'QUEUED',
  'CONNECTING',
  'TRANSFERRING',
  'SUSPENDED',
  'ERROR',
  'TRANSIENT_ERROR',
  'TRANSFERRED',
  'ACKNOWLEDGED',
  'CANCELLED',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Numeric BG_JOB_STATE value: the index in JOB_STATES. */
export function jobStateValue(state: JobState): number {
  return JOB_STATES.indexOf(state);
}

/** ACKNOWLEDGED and CANCELLED: the job has left the queue for good. */
export function isFinalState(state: JobState): boolean {
  return state === 'ACKNOWLEDGED' || state === 'CANCELLED';
}

/** States in which the transfer engine owns the job. */
export function isActiveState(state: JobState): boolean {
  return state === 'CONNECTING' || state === 'TRANSFERRING';
}

/** States where GetError answers (bits-client.md §2.3). */
export function hasErrorState(state: JobState): boolean {
  return state === 'ERROR' || state === 'TRANSIENT_ERROR';
}

/** BG_JOB_TYPE. */
export const JOB_TYPES = ['DOWNLOAD', 'UPLOAD', 'UPLOAD_REPLY'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export function isUploadType(type: JobType): boolean {
  return type !== 'DOWNLOAD';
}

/** BG_JOB_PRIORITY. FOREGROUND is not a background priority. */
export const JOB_PRIORITIES = ['FOREGROUND', 'HIGH', 'NORMAL', 'LOW'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

/** BG_JOB_PROXY_USAGE. */
export const PROXY_USAGES = ['PRECONFIG', 'NO_PROXY', 'OVERRIDE', 'AUTODETECT'] as const;
export type ProxyUsage = (typeof PROXY_USAGES)[number];
