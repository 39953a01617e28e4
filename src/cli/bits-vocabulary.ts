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
  ManagerEvent,
  NewFileSpec,
  ResultCode,
} from '../api/bits-manager.ts';
/** The Metalink reader (saxes), loaded by the two switches that read one. */
export const loadMetalink = () => import('../api/metalink.ts');
export {
  AUTH_SCHEMES,
  AUTH_TARGETS,
  type AuthScheme,
  type AuthTarget,
  BitsError,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type ErrorName,
  errorContextValue,
  errorInfo,
  type FileDigest,
  type FileRange,
  formatHresult,
  formatJobId,
  formatTransferPolicy,
  INTEGER_RANGES,
  type IntegerRange,
  isFinalState,
  JOB_PRIORITIES,
  JOB_TYPES,
  type JobPriority,
  type JobProgress,
  type JobState,
  type JobType,
  LENGTH_TO_EOF,
  MAX_CONNECTIONS,
  NotifyFlag,
  normalizeJobId,
  PROXY_USAGES,
  type ProxyUsage,
  parseTransferPolicy,
  SIZE_UNKNOWN,
  systemClock,
} from '../core/index.ts';
