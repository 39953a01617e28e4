import fc from 'fast-check';
import {
  BitsError,
  type FileRange,
  JOB_EVENTS,
  JOB_PRIORITIES,
  JOB_TYPES,
  type Job,
  type JobEvent,
  type JobMethod,
  type JobType,
} from '../../src/core/index.ts';
import type { FilePatch, JobPatch, JobStore, JobTimers } from '../../src/store/index.ts';
import { caller, jobId, T0 } from '../store/store-fixtures.ts';

/**
 * A random but valid life of one job, as store calls: setters, files, per-file metadata,
 * transitions and timers. Running it on any store gives the job it should hold.
 */
export interface JobScript {
  readonly type: JobType;
  readonly displayName: string;
  readonly setters: ReadonlyArray<readonly [JobMethod, JobPatch]>;
  readonly files: ReadonlyArray<{ readonly ranges: FileRange[] | null }>;
  readonly filePatches: ReadonlyArray<readonly [number, FilePatch]>;
  readonly events: readonly JobEvent[];
  readonly timers: JobTimers | null;
}

const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength }).filter((s) => !s.includes('\0'));
const token = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
const headerValue = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });

const setter: fc.Arbitrary<readonly [JobMethod, JobPatch]> = fc.oneof(
  text(300).map((description) => ['setDescription', { description }] as const),
  text(80).map((displayName) => ['setDisplayName', { displayName }] as const),
  fc.constantFrom(...JOB_PRIORITIES).map((priority) => ['setPriority', { priority }] as const),
  fc.nat(100_000).map((minimumRetryDelay) => ['setMinimumRetryDelay', { minimumRetryDelay }] as const),
  fc.nat(0xffffffff).map((noProgressTimeout) => ['setNoProgressTimeout', { noProgressTimeout }] as const),
  fc.nat(0xffffffff).map((maximumDownloadTime) => ['setMaximumDownloadTime', { maximumDownloadTime }] as const),
  fc.nat(0x3f).map((notifyFlags) => ['setNotifyFlags', { notifyFlags }] as const),
  fc
    .record({ program: token.map((t) => `/usr/local/bin/${t}`), parameters: fc.option(text(100)) })
    .map((notifyCmdLine) => ['setNotifyCmdLine', { notifyCmdLine }] as const),
  fc
    .constantFrom(
      { usage: 'NO_PROXY', proxyList: null, bypassList: null } as const,
      { usage: 'OVERRIDE', proxyList: 'http://proxy.lan:3128', bypassList: '<local> *.lan' } as const,
    )
    .map((proxy) => ['setProxySettings', { proxy }] as const),
  fc
    .array(fc.tuple(token, headerValue), { minLength: 1, maxLength: 4 })
    .map((hs) => ['setCustomHeaders', { customHeaders: hs.map(([n, v]) => `X-${n}: ${v}`).join('\r\n') }] as const),
  fc
    .uniqueArray(
      fc.record({
        target: fc.constantFrom('SERVER', 'PROXY'),
        scheme: fc.constantFrom('BASIC', 'DIGEST'),
        userName: text(50),
        password: text(50),
      }),
      { selector: (c) => `${c.target}/${c.scheme}`, maxLength: 3 },
    )
    .map((credentials) => ['setCredentials', { credentials }] as const),
  fc
    .constantFrom(0, 0x1, 0x0100 | 0x0800, 0x0200)
    .map((securityFlags) => ['setSecurityFlags', { securityFlags }] as const),
  fc.nat().map((maxBandwidth) => ['setMaxBandwidth', { maxBandwidth }] as const),
  fc.boolean().map((dynamicContent) => ['setDynamicContent', { dynamicContent }] as const),
  fc.boolean().map((highPerformance) => ['setHighPerformance', { highPerformance }] as const),
  fc.option(fc.integer({ min: 1 })).map((maxDownloadSize) => ['setMaxDownloadSize', { maxDownloadSize }] as const),
  token.map((t) => ['setReplyFileName', { replyFileName: `/srv/reply/${t}` }] as const),
);

/** Non-overlapping ranges in a random order. */
const ranges: fc.Arbitrary<FileRange[]> = fc
  .array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 })
  .chain((lengths) => {
    let offset = 0;
    const rs = lengths.map((length) => {
      const r = { offset, length };
      offset += length + 3;
      return r;
    });
    return fc.shuffledSubarray(rs, { minLength: rs.length });
  });

const filePatch: fc.Arbitrary<FilePatch> = fc
  .record({
    total: fc.nat(1e12),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    lastModified: fc.option(text(40)),
    etag: fc.option(text(40)),
    temp: token,
    transferred: fc.boolean(),
  })
  .map((p) => ({
    bytesTotal: p.total,
    bytesTransferred: Math.floor(p.total * p.fraction),
    validators: { size: p.total, lastModified: p.lastModified, etag: p.etag },
    temporaryName: `/srv/data/.${p.temp}.bits`,
    transferred: p.transferred,
  }));

const ms = fc.double({ min: 0, max: 1e9, noNaN: true }).map((x) => x + 0);

export const jobScript: fc.Arbitrary<JobScript> = fc.record({
  type: fc.constantFrom(...JOB_TYPES),
  displayName: text(80),
  setters: fc.array(setter, { maxLength: 12 }),
  files: fc.array(fc.record({ ranges: fc.option(ranges, { freq: 3 }) }), { minLength: 1, maxLength: 4 }),
  filePatches: fc.array(fc.tuple(fc.nat(3), filePatch), { maxLength: 6 }),
  // Mostly the forward path (so jobs end up in every state), sometimes any event at all.
  events: fc.array(
    fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(...JOB_EVENTS) },
      {
        weight: 4,
        arbitrary: fc.constantFrom<JobEvent>(
          'resume',
          'pick',
          'connected',
          'transient_failure',
          'retry_timer',
          'all_files_done',
          'fatal_failure',
        ),
      },
    ),
    { maxLength: 12 },
  ),
  timers: fc.option(
    fc.record({ activeMs: ms, noProgressMs: fc.option(ms), retryRemainingMs: fc.option(ms), inactiveMs: ms }),
  ),
});

/** Calls the script makes that a job of its type refuses are skipped, the same on every store. */
function attempt(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BitsError)) throw err;
  }
}

/** Run the script on `store`; returns the job and timers it ends with. */
export function runScript(store: JobStore, script: JobScript): { job: Job; timers: JobTimers | undefined } {
  const id = jobId(7);
  let now = T0;
  store.createJob({ ...caller('alice', now), id, type: script.type, displayName: script.displayName });
  const half = Math.ceil(script.setters.length / 2);
  for (const [method, patch] of script.setters.slice(0, half)) attempt(() => store.updateJob(id, method, patch, ++now));
  script.files.forEach((f, i) => {
    const one = { remoteName: `https://example.org/${i}?q=${i}`, localName: `/srv/data/${i}.bin`, ranges: f.ranges };
    attempt(() => store.addFiles(id, [one], caller('alice', ++now)));
  });
  for (const [index, patch] of script.filePatches) attempt(() => store.updateFile(id, index, patch, ++now));
  for (const [method, patch] of script.setters.slice(half)) attempt(() => store.updateJob(id, method, patch, ++now));
  for (const event of script.events) {
    const state = store.getJob(id)?.state ?? 'SUSPENDED';
    const error = {
      ...new BitsError('BG_E_HTTP_ERROR_404', 'Not Found', { context: 'REMOTE_FILE' }).toJSON(),
      fileIndex: 0,
    };
    attempt(() => store.applyTransition(id, { expected: state, event, error, now: ++now }));
  }
  if (script.timers !== null) store.saveTimers(id, script.timers);
  const job = store.getJob(id);
  if (job === undefined) throw new Error('the scripted job vanished');
  return { job, timers: store.getTimers(id) };
}
