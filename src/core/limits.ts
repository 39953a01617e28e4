/** BITS's hard limits (bits-client.md §9.2) and the policy defaults (§9.1). */
export const LIMITS = {
  displayName: 256,
  description: 1024,
  url: 2200,
  /** Linux PATH_MAX. */
  localPath: 4096,
  customHeaders: 16384,
  proxyList: 4000,
  userName: 300,
  password: 65535,
  notifyProgram: 4096,
  notifyParameters: 4000,
  replyData: 1024 * 1024,
} as const;

/** Quotas enforced by the store (bits-client.md §9.1); configurable, admins exempt. */
export interface Quotas {
  readonly maxJobsPerUser: number;
  readonly maxJobsPerMachine: number;
  readonly maxFilesPerJob: number;
  readonly maxRangesPerFile: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  maxJobsPerUser: 60,
  maxJobsPerMachine: 300,
  maxFilesPerJob: 200,
  maxRangesPerFile: 500,
};

/** JobInactivityTimeout policy default: 90 days. */
export const DEFAULT_JOB_INACTIVITY_TIMEOUT_S = 90 * 24 * 3600;

/**
 * How long a job that reached ACKNOWLEDGED or CANCELLED stays readable by its id. A BITS job
 * pointer answers its getters until the caller releases it; a job id is never released, so the
 * finished record is kept this long, then removed.
 */
export const FINISHED_JOB_RETENTION_MS = 24 * 3600 * 1000;
