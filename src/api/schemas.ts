import { type Static, type TSchema, Type } from 'typebox';
import type { BitsErrorData, ErrorContext } from '../core/bits-error.ts';
import { ERROR_CONTEXTS } from '../core/bits-error.ts';
import type { JobProgress, JobTimes, ReplyProgress } from '../core/job.ts';
import { AUTH_SCHEMES, AUTH_TARGETS, DIGEST_ALGORITHMS } from '../core/job.ts';
import { JOB_PRIORITIES, JOB_STATES, JOB_TYPES, PROXY_USAGES } from '../core/job-state.ts';
import { INTEGER_RANGES, type IntegerRange } from '../core/limits.ts';
import type { FileInfo, JobErrorInfo, JobInfo, JobSummary, ManagerEvent, ResultCode } from './bits-manager.ts';

/**
 * Wire shapes of the local API (v1), defined once and shared by the server (request checks) and
 * the client (reply checks, so a client talking to an older or newer daemon fails clearly).
 *
 * Request schemas check JSON *shape*: a string where a string belongs, and every integer a whole
 * number within its range (core's INTEGER_RANGES, with the BITS code the store's rules give a
 * value outside it: `bitsError`, read by operation.ts's checker). Other values — a known
 * priority, a legal URL, a length limit — are judged behind the manager by the job store's
 * rules, so a call gets the same BITS error in-process and through the socket.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const closed = { additionalProperties: false } as const;
/** An integer field of a request: whole, in its range, else its BITS code. */
const Whole = (range: IntegerRange) => Type.Integer({ minimum: range.min, maximum: range.max, bitsError: range.error });
const WholeValue = (range: IntegerRange) => Type.Object({ value: Whole(range) }, closed);

// ---------------------------------------------------------------- requests

export const CreateJobBody = Type.Object({ displayName: Type.String(), type: Type.Optional(Type.String()) }, closed);
export const RangeBody = Type.Object(
  { offset: Whole(INTEGER_RANGES.rangeOffset), length: Whole(INTEGER_RANGES.rangeLength) },
  closed,
);
export const AddFileBody = Type.Object(
  { remoteName: Type.String(), localName: Type.String(), ranges: Type.Optional(Type.Array(RangeBody)) },
  closed,
);
export const DigestBody = Type.Object({ algorithm: Type.String(), value: Type.String() }, closed);
export const PiecesBody = Type.Object(
  { algorithm: Type.String(), length: Type.Number(), hashes: Type.Array(Type.String()) },
  closed,
);
export const DigestsBody = Type.Object(
  { digests: Type.Array(DigestBody), pieces: Type.Optional(Nullable(PiecesBody)) },
  closed,
);
export const AddFileSetBody = Type.Object(
  {
    files: Type.Array(
      Type.Object(
        {
          remoteName: Type.String(),
          localName: Type.String(),
          mirrors: Type.Optional(Type.Array(Type.String())),
          digests: Type.Optional(Type.Array(DigestBody)),
          pieces: Type.Optional(Nullable(PiecesBody)),
        },
        closed,
      ),
    ),
  },
  closed,
);
export const MirrorsBody = Type.Object({ urls: Type.Array(Type.String()) }, closed);
export const StringValue = Type.Object({ value: Type.String() }, closed);
export const NullableStringValue = Type.Object({ value: Nullable(Type.String()) }, closed);
export const NotifyFlagsValue = WholeValue(INTEGER_RANGES.notifyFlags);
export const SecurityFlagsValue = WholeValue(INTEGER_RANGES.securityFlags);
export const SecondsValue = WholeValue(INTEGER_RANGES.seconds);
export const BandwidthValue = WholeValue(INTEGER_RANGES.bandwidth);
export const MaxDownloadSizeValue = Type.Object({ value: Nullable(Whole(INTEGER_RANGES.maxDownloadSize)) }, closed);
export const FileModeValue = Type.Object({ value: Nullable(Whole(INTEGER_RANGES.fileMode)) }, closed);
export const MaxConnectionsValue = WholeValue(INTEGER_RANGES.maxConnections);
export const CostFlagsValue = Type.Object({ value: Nullable(Whole(INTEGER_RANGES.costFlags)) }, closed);
export const BooleanValue = Type.Object({ value: Type.Boolean() }, closed);
export const WebhooksBody = Type.Object(
  {
    hooks: Nullable(
      Type.Array(Type.Object({ url: Type.String(), secret: Type.String() }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);
export const NotifyCmdLineBody = Type.Object(
  { program: Nullable(Type.String()), parameters: Nullable(Type.String()) },
  closed,
);
export const ProxyBody = Type.Object(
  { usage: Type.String(), proxyList: Nullable(Type.String()), bypassList: Nullable(Type.String()) },
  closed,
);
export const CustomHeadersBody = Type.Object({ headers: Nullable(Type.Array(Type.String())) }, closed);
export const CredentialsBody = Type.Object(
  {
    target: Type.String(),
    scheme: Type.String(),
    userName: Nullable(Type.String()),
    password: Nullable(Type.String()),
  },
  closed,
);
export const ReplacePrefixBody = Type.Object({ oldPrefix: Type.String(), newPrefix: Type.String() }, closed);

// ---------------------------------------------------------------- replies

const Int = Type.Integer();
export const ErrorContextSchema = Type.Enum(ERROR_CONTEXTS);
export const JobStateSchema = Type.Enum(JOB_STATES);

export const JobProgressSchema = Type.Object({
  bytesTotal: Int,
  bytesTransferred: Int,
  filesTotal: Int,
  filesTransferred: Int,
});
export const JobTimesSchema = Type.Object({
  creationTime: Int,
  modificationTime: Int,
  transferCompletionTime: Nullable(Int),
});
export const ReplyProgressSchema = Type.Object({ bytesTotal: Int, bytesTransferred: Int });
export const BitsErrorDataSchema = Type.Object({
  name: Type.String(),
  hresult: Int,
  context: ErrorContextSchema,
  message: Type.String(),
});
export const JobErrorInfoSchema = Type.Object({
  name: Type.String(),
  hresult: Int,
  context: ErrorContextSchema,
  message: Type.String(),
  contextDescription: Type.String(),
  file: Nullable(Type.Object({ index: Int, remoteName: Type.String(), localName: Type.String() })),
  protocol: Nullable(Type.String()),
});
export const FileInfoSchema = Type.Object({
  index: Int,
  remoteName: Type.String(),
  localName: Type.String(),
  ranges: Nullable(Type.Array(Type.Object({ offset: Int, length: Int }))),
  progress: Type.Object({ bytesTotal: Int, bytesTransferred: Int, completed: Type.Boolean() }),
  temporaryName: Nullable(Type.String()),
  segments: Nullable(Type.Array(Type.Object({ start: Int, end: Int, done: Int }))),
  mirrors: Type.Array(Type.String()),
  digests: Type.Array(Type.Object({ algorithm: Type.Enum(DIGEST_ALGORITHMS), value: Type.String() })),
  pieces: Nullable(Type.Object({ algorithm: Type.Enum(DIGEST_ALGORITHMS), length: Int, count: Int })),
});
export const JobInfoSchema = Type.Object({
  id: Type.String(),
  type: Type.Enum(JOB_TYPES),
  displayName: Type.String(),
  description: Type.String(),
  owner: Type.String(),
  state: JobStateSchema,
  priority: Type.Enum(JOB_PRIORITIES),
  minimumRetryDelay: Int,
  noProgressTimeout: Int,
  maximumDownloadTime: Int,
  notifyFlags: Int,
  notifyCmdLine: Nullable(Type.Object({ program: Type.String(), parameters: Nullable(Type.String()) })),
  proxy: Type.Object({
    usage: Type.Enum(PROXY_USAGES),
    proxyList: Nullable(Type.String()),
    bypassList: Nullable(Type.String()),
  }),
  securityFlags: Int,
  customHeadersWriteOnly: Type.Boolean(),
  credentials: Type.Array(
    Type.Object({
      target: Type.Enum(AUTH_TARGETS),
      scheme: Type.Enum(AUTH_SCHEMES),
      userName: Nullable(Type.String()),
    }),
  ),
  hasCustomHeaders: Type.Boolean(),
  webhooks: Type.Array(Type.Object({ url: Type.String() })),
  dynamicContent: Type.Boolean(),
  highPerformance: Type.Boolean(),
  maxDownloadSize: Nullable(Int),
  maxBandwidth: Int,
  fileMode: Nullable(Int),
  maxConnections: Int,
  costFlags: Nullable(Int),
  replyFileName: Nullable(Type.String()),
  errorCount: Int,
  progress: JobProgressSchema,
  times: JobTimesSchema,
  replyProgress: Nullable(ReplyProgressSchema),
  error: Nullable(JobErrorInfoSchema),
  files: Type.Array(FileInfoSchema),
  yielding: Nullable(
    Type.Object({
      mode: Type.Enum(['yielding', 'fixed', 'off']),
      rate: Nullable(Int),
      interface: Nullable(Type.String()),
      note: Nullable(Type.String()),
    }),
  ),
});

/** enumJobSummaries' items (JobSummary). */
export const JobSummarySchema = Type.Object({
  id: Type.String(),
  type: Type.Enum(JOB_TYPES),
  displayName: Type.String(),
  owner: Type.String(),
  state: JobStateSchema,
  priority: Type.Enum(JOB_PRIORITIES),
  progress: JobProgressSchema,
  errorCount: Int,
});

export const ResultCodeSchema = Type.Enum(['S_OK', 'S_FALSE', 'BG_S_PARTIAL_COMPLETE', 'BG_S_UNABLE_TO_DELETE_FILES']);

// Reply schemas carry the contract's TypeScript types (the guards below keep them in step), so
// server handlers and client decoders deal in JobInfo, not in a structural copy of it.
export const JobInfoReply = Type.Unsafe<JobInfo>(JobInfoSchema);
export const JobListReply = Type.Unsafe<{ jobs: JobInfo[] }>(Type.Object({ jobs: Type.Array(JobInfoSchema) }));
export const JobSummaryListReply = Type.Unsafe<{ jobs: JobSummary[] }>(
  Type.Object({ jobs: Type.Array(JobSummarySchema) }),
);
export const FileListReply = Type.Unsafe<{ files: FileInfo[] }>(Type.Object({ files: Type.Array(FileInfoSchema) }));
export const JobErrorInfoReply = Type.Unsafe<JobErrorInfo>(JobErrorInfoSchema);
export const JobProgressReply = Type.Unsafe<JobProgress>(JobProgressSchema);
export const JobTimesReply = Type.Unsafe<JobTimes>(JobTimesSchema);
export const JobStateReply = Type.Object({ state: JobStateSchema });
export const ReplyProgressReply = Type.Unsafe<ReplyProgress>(ReplyProgressSchema);
export const ResultReply = Type.Unsafe<{ result: ResultCode }>(Type.Object({ result: ResultCodeSchema }));
export const CustomHeadersReply = Type.Object({ headers: Nullable(Type.Array(Type.String())) });
export const NullableStringReply = Type.Object({ value: Nullable(Type.String()) });
/** Reply data as base64 (null when the server sent none). */
export const ReplyDataReply = Type.Object({ data: Nullable(Type.String()) });
export const DescriptionReply = Type.Object({ description: Type.String() });
export const PolicyReply = Type.Object({ policy: Type.Record(Type.String(), Type.Unknown()) });
export const SetPolicyBody = Type.Object({ key: Type.String(), value: Type.Unknown() }, closed);
/** GET /v1/status: who answers on the socket. */
export const StatusReply = Type.Object({
  service: Type.Literal('bitsd'),
  version: Type.String(),
  pid: Int,
  startedAt: Int,
  /** `http://host:port/metrics` when bitsd also serves metrics over TCP (policy `metrics.listen`). */
  metricsUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** `http://127.0.0.1:port` when bitsd serves the dashboard (policy `dashboard.listen`). */
  dashboardUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type DaemonStatus = Static<typeof StatusReply>;

/** The error envelope of every failed call. */
export const ErrorEnvelope = Type.Object({ error: BitsErrorDataSchema });
export type ErrorEnvelopeData = { error: BitsErrorData };

/** One event of GET /v1/events (the SSE `data:` field; `event:` carries the type too). */
export const EventSchema = Type.Union([
  Type.Object({ type: Type.Literal('job:created'), jobId: Type.String() }),
  Type.Object({
    type: Type.Literal('job:state'),
    jobId: Type.String(),
    state: JobStateSchema,
    previous: JobStateSchema,
  }),
  Type.Object({ type: Type.Literal('job:progress'), jobId: Type.String(), progress: JobProgressSchema }),
  Type.Object({ type: Type.Literal('file:transferred'), jobId: Type.String(), fileIndex: Int }),
  Type.Object({
    type: Type.Literal('file:source-dropped'),
    jobId: Type.String(),
    fileIndex: Int,
    url: Type.String(),
    reason: Type.String(),
  }),
  Type.Object({ type: Type.Literal('job:transferred'), jobId: Type.String() }),
  Type.Object({ type: Type.Literal('job:error'), jobId: Type.String(), error: BitsErrorDataSchema }),
  Type.Object({ type: Type.Literal('job:modified'), jobId: Type.String() }),
]);

// Compile-time guards: the schemas name exactly the fields of the contract's types, and what
// they accept fits those types (so the client may return a checked reply as a JobInfo).
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Fits<A, B> = A extends B ? true : false;
type Loose<T> = { [K in keyof T]: K extends 'name' ? string : T[K] };
const keyChecks: [
  SameKeys<Static<typeof JobInfoSchema>, JobInfo>,
  SameKeys<Static<typeof JobSummarySchema>, JobSummary>,
  Fits<Static<typeof JobSummarySchema>, JobSummary>,
  SameKeys<Static<typeof FileInfoSchema>, FileInfo>,
  SameKeys<Static<typeof JobErrorInfoSchema>, JobErrorInfo>,
  Fits<Static<typeof FileInfoSchema>, FileInfo>,
  Fits<Static<typeof JobErrorInfoSchema>, Loose<JobErrorInfo>>,
  Fits<Static<typeof EventSchema>['type'], ManagerEvent['type']>,
  Fits<ManagerEvent['type'], Static<typeof EventSchema>['type']>,
  Fits<Static<typeof ErrorContextSchema>, ErrorContext>,
  Fits<Static<typeof ResultCodeSchema>, ResultCode>,
  Fits<ResultCode, Static<typeof ResultCodeSchema>>,
  SameKeys<Static<typeof JobProgressSchema>, JobProgress>,
  SameKeys<Static<typeof JobTimesSchema>, JobTimes>,
  SameKeys<Static<typeof ReplyProgressSchema>, ReplyProgress>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void keyChecks;
