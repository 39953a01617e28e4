/**
 * Everything the CLI takes from below: the manager contract and the shared BITS vocabulary
 * (error class, codes, enumerations). One import point, so the CLI's view of the lower layers
 * stays in one file.
 */
export type {
  BitsManager,
  FileInfo,
  JobErrorInfo,
  JobInfo,
  JobSummary,
  ManagerEvent,
  NewFileSpec,
  ResultCode,
} from '../api/bits-manager.ts';
/** The Metalink reader (saxes), loaded by the two switches that read one. */
export const loadMetalink = () => import('../api/metalink.ts');
// From the core modules themselves, not core/index.ts: the barrel would load every core module
// (transitions, method rules, the rate limiter…) into each CLI start-up.
export { BitsError, errorContextValue } from '../core/bits-error.ts';
export { systemClock } from '../core/clock.ts';
export { formatTransferPolicy, parseTransferPolicy } from '../core/cost.ts';
export { type ErrorName, errorInfo, formatHresult } from '../core/error-codes.ts';
export {
  AUTH_SCHEMES,
  AUTH_TARGETS,
  type AuthScheme,
  type AuthTarget,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type FileDigest,
  type FileRange,
  type JobProgress,
  LENGTH_TO_EOF,
  NotifyFlag,
  SIZE_UNKNOWN,
} from '../core/job.ts';
export {
  isFinalState,
  JOB_PRIORITIES,
  JOB_TYPES,
  type JobPriority,
  type JobState,
  type JobType,
  PROXY_USAGES,
  type ProxyUsage,
} from '../core/job-state.ts';
export { INTEGER_RANGES, type IntegerRange } from '../core/limits.ts';
export { formatJobId, MAX_CONNECTIONS, normalizeJobId } from '../core/validate.ts';
