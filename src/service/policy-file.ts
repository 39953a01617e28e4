import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseListen } from '../api/listen-address.ts';
import {
  BitsError,
  COST_STATES,
  type CostStateName,
  costStateName,
  DEFAULT_JOB_INACTIVITY_TIMEOUT_S,
  DEFAULT_QUOTAS,
  isLoopbackHost,
  parseTransferPolicy,
  type Quotas,
  TRANSFER_POLICIES,
  validateCostFlags,
  validateWebhook,
  type Webhook,
} from '../core/index.ts';
import {
  type BandwidthPolicy,
  NO_BANDWIDTH_POLICY,
  parseRate,
  parseTimetable,
  type Rate,
} from '../scheduler/bandwidth-policy.ts';
import { DEFAULT_YIELD_POLICY, type YieldPolicy } from '../scheduler/ledbat.ts';
import { DEFAULT_MIN_SPLIT_BYTES } from '../transfer/segment-plan.ts';
import { type CostPolicy, DEFAULT_COST_POLICY } from './network-cost.ts';

/**
 * The policy file (`config.json`): quotas, bandwidth policy, concurrency, slice length and
 * timeouts in one place, validated with errors that name the bad key. Rates are strings such as
 * "512k", "10M", "off" (unlimited) or "0" (blocked).
 */
export interface Policy {
  readonly quotas: Quotas;
  readonly maxBackgroundJobs: number;
  readonly timeSliceSeconds: number;
  readonly jobInactivityTimeoutSeconds: number;
  readonly checkpointBytes: number;
  readonly checkpointMilliseconds: number;
  /** Smallest part a segmented download splits a file into (aria2's --min-split-size). */
  readonly minSplitBytes: number;
  readonly bandwidth: BandwidthPolicy;
  /** `metrics.listen`: serve GET /metrics over TCP here too (host:port), or null (socket only). Read at start. */
  readonly metricsListen: string | null;
  /** `dashboard.listen`: serve the web dashboard on this loopback host:port, or null (off). Read at start. */
  readonly dashboardListen: string | null;
  /** Webhooks every job's events go to (docs/webhooks.md), besides the job's own. */
  readonly webhooks: readonly Webhook[];
  /**
   * `logoff.keepBackgroundJobs` (system mode): accounts — user names, uids, `@group` — whose
   * background jobs go on transferring while they have no session, as BITS's jobs of service
   * accounts do (docs/system.md#owner-logoff). Their FOREGROUND jobs still wait for a session.
   */
  readonly keepBackgroundJobs: readonly string[];
  /** `cost`: the network's cost by hand, and the cost flags of jobs that set none. */
  readonly cost: CostPolicy;
}

export const DEFAULT_POLICY: Policy = {
  quotas: DEFAULT_QUOTAS,
  maxBackgroundJobs: 1,
  timeSliceSeconds: 300,
  jobInactivityTimeoutSeconds: DEFAULT_JOB_INACTIVITY_TIMEOUT_S,
  checkpointBytes: 32 * 1024 * 1024,
  checkpointMilliseconds: 2000,
  minSplitBytes: DEFAULT_MIN_SPLIT_BYTES,
  bandwidth: NO_BANDWIDTH_POLICY,
  metricsListen: null,
  dashboardListen: null,
  webhooks: [],
  keepBackgroundJobs: [],
  cost: DEFAULT_COST_POLICY,
};

/** A `listen` setting: host:port, :port or port; the dashboard's must be loopback. */
function listen(value: unknown, key: string, loopbackOnly: boolean): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' && typeof value !== 'number') throw bad(key, 'must be "host:port", ":port" or a port');
  let parsed: { host: string };
  try {
    parsed = parseListen(String(value));
  } catch (err) {
    throw bad(key, (err as Error).message);
  }
  if (loopbackOnly && !isLoopbackHost(parsed.host)) throw bad(key, 'must be a loopback address (127.0.0.1, ::1)');
  return String(value);
}

function listenSection(value: unknown, key: string, loopbackOnly: boolean): string | null {
  if (value === undefined || value === null) return null;
  const o = object(value, key);
  known(o, ['listen'], `${key}.`);
  return listen(o.listen, `${key}.listen`, loopbackOnly);
}

function webhooks(value: unknown): Webhook[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw bad('webhooks', 'must be a list of { "url", "secret" }');
  return value.map((hook, i) => {
    try {
      return validateWebhook(hook);
    } catch (err) {
      throw bad(`webhooks[${i}]`, (err as Error).message);
    }
  });
}

/** An account entry: a user name, a uid, or `@group`; kept as text ("1001", "alice", "@ops"). */
const ACCOUNT_ENTRY = /^@?[A-Za-z_][A-Za-z0-9_.-]*\$?$/u;

function logoff(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const o = object(value, 'logoff');
  known(o, ['keepBackgroundJobs'], 'logoff.');
  const list = o.keepBackgroundJobs ?? [];
  const key = 'logoff.keepBackgroundJobs';
  if (!Array.isArray(list)) throw bad(key, 'must be a list of user names, uids or "@group"');
  return list.map((entry, i) => {
    if (Number.isSafeInteger(entry) && (entry as number) >= 0) return String(entry);
    if (typeof entry === 'string' && (ACCOUNT_ENTRY.test(entry) || /^\d+$/u.test(entry))) return entry;
    throw bad(`${key}[${i}]`, 'must be a user name, a uid or "@group"');
  });
}

const bad = (key: string, message: string): BitsError =>
  new BitsError('E_INVALIDARG', `policy: "${key}" ${message}`, { context: 'GENERAL_QUEUE_MANAGER' });

function int(value: unknown, key: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw bad(key, `must be a whole number ≥ ${min}`);
  return value as number;
}

function hour(value: unknown, key: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 24)
    throw bad(key, 'must be an hour 0–24');
  return value as number;
}

function rate(value: unknown, key: string): Rate | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value !== 'string') throw bad(key, 'must be a rate such as "512k", "10M", "off" or a number of bytes/s');
  try {
    return parseRate(value);
  } catch (err) {
    throw bad(key, (err as Error).message);
  }
}

function object(value: unknown, key: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(key, 'must be an object');
  return value as Record<string, unknown>;
}

function known(obj: Record<string, unknown>, keys: readonly string[], prefix: string): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw bad(`${prefix}${k}`, 'is not a known setting');
}

const PRIORITY_RATES = ['HIGH', 'NORMAL', 'LOW'] as const;

function priorityRates(value: unknown, key: string): Partial<Record<'HIGH' | 'NORMAL' | 'LOW', Rate | null>> {
  const o = object(value, key);
  known(o, PRIORITY_RATES, `${key}.`);
  const out: Partial<Record<'HIGH' | 'NORMAL' | 'LOW', Rate | null>> = {};
  for (const p of PRIORITY_RATES) if (p in o) out[p] = rate(o[p], `${key}.${p}`);
  return out;
}

function bandwidth(value: unknown): BandwidthPolicy {
  const o = object(value, 'bandwidth');
  known(o, ['maxInternetBandwidth', 'workSchedule', 'timetable', 'yield'], 'bandwidth.');
  let result: BandwidthPolicy = NO_BANDWIDTH_POLICY;
  if (o.maxInternetBandwidth !== undefined && o.maxInternetBandwidth !== null) {
    const k = 'bandwidth.maxInternetBandwidth';
    const w = object(o.maxInternetBandwidth, k);
    known(w, ['startHour', 'endHour', 'inWindow', 'outsideWindow'], `${k}.`);
    result = {
      ...result,
      maxInternetBandwidth: {
        startHour: hour(w.startHour, `${k}.startHour`),
        endHour: hour(w.endHour, `${k}.endHour`),
        inWindow: rate(w.inWindow, `${k}.inWindow`),
        outsideWindow: rate(w.outsideWindow, `${k}.outsideWindow`),
      },
    };
  }
  if (o.workSchedule !== undefined && o.workSchedule !== null) {
    const k = 'bandwidth.workSchedule';
    const s = object(o.workSchedule, k);
    known(s, ['workDays', 'workStartHour', 'workEndHour', 'work', 'nonWork'], `${k}.`);
    const days = s.workDays ?? [1, 2, 3, 4, 5];
    if (!Array.isArray(days) || days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
      throw bad(`${k}.workDays`, 'must be a list of days 0 (Sunday) … 6 (Saturday)');
    }
    result = {
      ...result,
      workSchedule: {
        workDays: days as number[],
        workStartHour: hour(s.workStartHour ?? 8, `${k}.workStartHour`),
        workEndHour: hour(s.workEndHour ?? 17, `${k}.workEndHour`),
        work: priorityRates(s.work ?? {}, `${k}.work`),
        nonWork: priorityRates(s.nonWork ?? {}, `${k}.nonWork`),
      },
    };
  }
  if (o.timetable !== undefined && o.timetable !== null) {
    if (typeof o.timetable !== 'string')
      throw bad('bandwidth.timetable', 'must be a string like "Mon-08:00,512k Sat-00:00,off"');
    try {
      result = { ...result, timetable: parseTimetable(o.timetable) };
    } catch (err) {
      throw bad('bandwidth.timetable', (err as Error).message);
    }
  }
  if (o.yield !== undefined && o.yield !== null) result = { ...result, yield: yieldPolicy(o.yield) };
  return result;
}

/** `bandwidth.yield`: the yielding controller (docs/scheduling.md). */
function yieldPolicy(value: unknown): YieldPolicy {
  const k = 'bandwidth.yield';
  const y = object(value, k);
  known(y, ['enabled', 'floorRate', 'reactionSeconds', 'targetDelayMs'], `${k}.`);
  const d = DEFAULT_YIELD_POLICY;
  if (y.enabled !== undefined && typeof y.enabled !== 'boolean') throw bad(`${k}.enabled`, 'must be true or false');
  const floor = y.floorRate === undefined ? d.floorRate : rate(y.floorRate, `${k}.floorRate`);
  if (floor === null || !Number.isFinite(floor) || floor < 1024) {
    throw bad(`${k}.floorRate`, 'must be a rate of at least 1k (a yielding job keeps measuring the link)');
  }
  const reaction = y.reactionSeconds ?? d.reactionMs / 1000;
  if (typeof reaction !== 'number' || !(reaction >= 0.2 && reaction <= 60)) {
    throw bad(`${k}.reactionSeconds`, 'must be a number of seconds from 0.2 to 60');
  }
  const target = y.targetDelayMs ?? d.targetDelayMs;
  if (typeof target !== 'number' || !(target >= 1 && target <= 100)) {
    // RFC 6817 §3.3: TARGET MUST NOT exceed 100 ms.
    throw bad(`${k}.targetDelayMs`, 'must be a number of milliseconds from 1 to 100');
  }
  return { enabled: y.enabled ?? d.enabled, floorRate: floor, reactionMs: reaction * 1000, targetDelayMs: target };
}

const TOP_KEYS = [
  'quotas',
  'maxBackgroundJobs',
  'timeSliceSeconds',
  'jobInactivityTimeoutSeconds',
  'checkpointBytes',
  'checkpointMilliseconds',
  'minSplitBytes',
  'bandwidth',
  'metrics',
  'dashboard',
  'webhooks',
  'logoff',
  'cost',
] as const;

/** Validate a parsed config document; missing keys take the defaults. */
export function parsePolicy(doc: unknown): Policy {
  const o = object(doc ?? {}, '(top level)');
  known(o, TOP_KEYS, '');
  let quotas = DEFAULT_QUOTAS;
  if (o.quotas !== undefined) {
    const q = object(o.quotas, 'quotas');
    known(q, Object.keys(DEFAULT_QUOTAS), 'quotas.');
    quotas = {
      maxJobsPerUser: int(q.maxJobsPerUser ?? DEFAULT_QUOTAS.maxJobsPerUser, 'quotas.maxJobsPerUser', 1),
      maxJobsPerMachine: int(q.maxJobsPerMachine ?? DEFAULT_QUOTAS.maxJobsPerMachine, 'quotas.maxJobsPerMachine', 1),
      maxFilesPerJob: int(q.maxFilesPerJob ?? DEFAULT_QUOTAS.maxFilesPerJob, 'quotas.maxFilesPerJob', 1),
      maxRangesPerFile: int(q.maxRangesPerFile ?? DEFAULT_QUOTAS.maxRangesPerFile, 'quotas.maxRangesPerFile', 1),
    };
  }
  const d = DEFAULT_POLICY;
  return {
    quotas,
    maxBackgroundJobs: int(o.maxBackgroundJobs ?? d.maxBackgroundJobs, 'maxBackgroundJobs', 1),
    timeSliceSeconds: int(o.timeSliceSeconds ?? d.timeSliceSeconds, 'timeSliceSeconds', 1),
    jobInactivityTimeoutSeconds: int(
      o.jobInactivityTimeoutSeconds ?? d.jobInactivityTimeoutSeconds,
      'jobInactivityTimeoutSeconds',
      1,
    ),
    checkpointBytes: int(o.checkpointBytes ?? d.checkpointBytes, 'checkpointBytes', 64 * 1024),
    checkpointMilliseconds: int(o.checkpointMilliseconds ?? d.checkpointMilliseconds, 'checkpointMilliseconds', 10),
    minSplitBytes: int(o.minSplitBytes ?? d.minSplitBytes, 'minSplitBytes', 64 * 1024),
    bandwidth: o.bandwidth === undefined ? d.bandwidth : bandwidth(o.bandwidth),
    metricsListen: listenSection(o.metrics, 'metrics', false),
    dashboardListen: listenSection(o.dashboard, 'dashboard', true),
    webhooks: webhooks(o.webhooks),
    keepBackgroundJobs: logoff(o.logoff),
    cost: o.cost === undefined || o.cost === null ? d.cost : costPolicy(o.cost),
  };
}

/** `cost` (docs/scheduling.md "Network cost"). */
function costPolicy(value: unknown): CostPolicy {
  const o = object(value, 'cost');
  const keys = ['state', 'costedNetworkBehaviorBackgroundPriority', 'costedNetworkBehaviorForegroundPriority'];
  known(o, keys, 'cost.');
  let state: number | null = null;
  if (o.state !== undefined && o.state !== null) {
    if (typeof o.state !== 'string' || !(o.state in COST_STATES)) {
      throw bad('cost.state', `must be one of ${Object.keys(COST_STATES).join(', ')} (or null: ask NetworkManager)`);
    }
    state = COST_STATES[o.state as CostStateName];
  }
  const flags = (key: string, v: unknown): number => {
    if (v === undefined || v === null) return TRANSFER_POLICIES.always;
    if (typeof v !== 'string' && typeof v !== 'number') throw bad(key, 'must be a transfer policy name or mask');
    try {
      return typeof v === 'number' ? validateCostFlags(v) : parseTransferPolicy(v);
    } catch (err) {
      throw bad(key, (err as Error).message);
    }
  };
  return {
    state,
    backgroundFlags: flags('cost.costedNetworkBehaviorBackgroundPriority', o.costedNetworkBehaviorBackgroundPriority),
    foregroundFlags: flags('cost.costedNetworkBehaviorForegroundPriority', o.costedNetworkBehaviorForegroundPriority),
  };
}

/** Read and validate the policy file; a missing file means the defaults. */
export function loadPolicyFile(path: string): { policy: Policy; raw: Record<string, unknown> } {
  if (!existsSync(path)) return { policy: DEFAULT_POLICY, raw: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BitsError('E_INVALIDARG', `policy file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return { policy: parsePolicy(raw), raw: raw as Record<string, unknown> };
}

/**
 * Change one setting (dotted key, e.g. `bandwidth.timetable` or `quotas.maxJobsPerUser`) and
 * write the file atomically; the whole result is validated before anything is written.
 */
export function setPolicyKey(path: string, key: string, value: unknown): Policy {
  const { raw } = loadPolicyFile(path);
  const next = structuredClone(raw);
  const parts = key.split('.');
  let node: Record<string, unknown> = next;
  for (const p of parts.slice(0, -1)) {
    const child = node[p];
    node[p] = typeof child === 'object' && child !== null ? child : {};
    node = node[p] as Record<string, unknown>;
  }
  const last = parts.at(-1) as string;
  if (value === null) delete node[last];
  else node[last] = value;
  const policy = parsePolicy(next);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return policy;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A rate as the policy file writes it: bytes per second, or "off" for unlimited. */
const rateText = (rate: number | null | undefined): number | string | null =>
  rate === null || rate === undefined ? null : Number.isFinite(rate) ? rate : 'off';

/** The policy as JSON (what `getPolicy` answers): Infinity becomes "off", the timetable its text. */
export function policyDocument(policy: Policy): Record<string, unknown> {
  const { maxInternetBandwidth: w, workSchedule: s, timetable, yield: y } = policy.bandwidth;
  const rates = (r: Partial<Record<string, number | null>>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, rateText(v)]));
  return {
    quotas: { ...policy.quotas },
    maxBackgroundJobs: policy.maxBackgroundJobs,
    timeSliceSeconds: policy.timeSliceSeconds,
    jobInactivityTimeoutSeconds: policy.jobInactivityTimeoutSeconds,
    checkpointBytes: policy.checkpointBytes,
    checkpointMilliseconds: policy.checkpointMilliseconds,
    minSplitBytes: policy.minSplitBytes,
    bandwidth: {
      maxInternetBandwidth:
        w === null ? null : { ...w, inWindow: rateText(w.inWindow), outsideWindow: rateText(w.outsideWindow) },
      workSchedule: s === null ? null : { ...s, work: rates(s.work), nonWork: rates(s.nonWork) },
      timetable:
        timetable === null
          ? null
          : timetable
              .map((e) => {
                const hhmm = `${String(Math.floor(e.minute / 60)).padStart(2, '0')}:${String(e.minute % 60).padStart(2, '0')}`;
                return `${e.day === null ? '' : `${DAY_NAMES[e.day]}-`}${hhmm},${rateText(e.rate)}`;
              })
              .join(' '),
      yield: {
        enabled: y.enabled,
        floorRate: y.floorRate,
        reactionSeconds: y.reactionMs / 1000,
        targetDelayMs: y.targetDelayMs,
      },
    },
    metrics: { listen: policy.metricsListen },
    dashboard: { listen: policy.dashboardListen },
    // Secrets never leave bitsd.
    webhooks: policy.webhooks.map((h) => ({ url: h.url })),
    logoff: { keepBackgroundJobs: [...policy.keepBackgroundJobs] },
    cost: {
      state: policy.cost.state === null ? null : (costStateName(policy.cost.state) ?? null),
      costedNetworkBehaviorBackgroundPriority: transferPolicyText(policy.cost.backgroundFlags),
      costedNetworkBehaviorForegroundPriority: transferPolicyText(policy.cost.foregroundFlags),
    },
  };
}

/** A cost-flags value as the policy file spells it: a composite's name, else `0x…`. */
function transferPolicyText(flags: number): string {
  const name = Object.entries(TRANSFER_POLICIES).find(([, v]) => v === flags)?.[0];
  return name ?? `0x${flags.toString(16)}`;
}
