import type { JobPriority } from '../core/index.ts';
import { DEFAULT_YIELD_POLICY, type YieldPolicy } from './ledbat.ts';

/** A rate in bytes per second; Infinity = unlimited, 0 = blocked. */
export type Rate = number;

/** BITS MaxInternetBandwidth: one rate inside a daily window of hours, another outside. */
export interface DailyWindowLimit {
  readonly startHour: number;
  readonly endHour: number;
  /** null = unlimited. */
  readonly inWindow: Rate | null;
  readonly outsideWindow: Rate | null;
}

/** BITS EnableBandwidthLimits: per-priority limits on a weekly work schedule and outside it. */
export interface WorkScheduleLimit {
  /** Work days, 0 = Sunday … 6 = Saturday. */
  readonly workDays: readonly number[];
  readonly workStartHour: number;
  readonly workEndHour: number;
  readonly work: Partial<Record<'HIGH' | 'NORMAL' | 'LOW', Rate | null>>;
  readonly nonWork: Partial<Record<'HIGH' | 'NORMAL' | 'LOW', Rate | null>>;
}

/** One change point of an rclone-style weekly timetable (`Mon-08:00,512k Sat-00:00,off`). */
export interface TimetableEntry {
  /** Day 0–6 (Sunday = 0), or null for every day. */
  readonly day: number | null;
  readonly minute: number;
  readonly rate: Rate;
}

export interface BandwidthPolicy {
  readonly maxInternetBandwidth: DailyWindowLimit | null;
  readonly workSchedule: WorkScheduleLimit | null;
  readonly timetable: readonly TimetableEntry[] | null;
  /** Beyond BITS's fixed limits: yield to other traffic (ledbat.ts). */
  readonly yield: YieldPolicy;
}

export const NO_BANDWIDTH_POLICY: BandwidthPolicy = {
  maxInternetBandwidth: null,
  workSchedule: null,
  timetable: null,
  yield: DEFAULT_YIELD_POLICY,
};

/** A moment of the week in local time. */
export interface WeekTime {
  /** 0 = Sunday. */
  readonly day: number;
  /** Minutes since midnight. */
  readonly minute: number;
}

export function weekTimeOf(date: Date): WeekTime {
  return { day: date.getDay(), minute: date.getHours() * 60 + date.getMinutes() };
}

const inHours = (minute: number, start: number, end: number): boolean => {
  const h = minute / 60;
  return start <= end ? h >= start && h < end : h >= start || h < end;
};

/**
 * The machine-wide rate that applies to background jobs of `priority` at `t` (the smallest of
 * every configured limit). FOREGROUND jobs are never limited by policy.
 */
export function policyRate(policy: BandwidthPolicy, priority: JobPriority, t: WeekTime): Rate {
  if (priority === 'FOREGROUND') return Number.POSITIVE_INFINITY;
  let rate = Number.POSITIVE_INFINITY;
  const w = policy.maxInternetBandwidth;
  if (w !== null) {
    const r = inHours(t.minute, w.startHour, w.endHour) ? w.inWindow : w.outsideWindow;
    if (r !== null) rate = Math.min(rate, r);
  }
  const s = policy.workSchedule;
  if (s !== null) {
    const working = s.workDays.includes(t.day) && inHours(t.minute, s.workStartHour, s.workEndHour);
    const r = (working ? s.work : s.nonWork)[priority];
    if (r !== undefined && r !== null) rate = Math.min(rate, r);
  }
  if (policy.timetable !== null && policy.timetable.length > 0)
    rate = Math.min(rate, timetableRate(policy.timetable, t));
  return rate;
}

/** The rate of the last timetable entry at or before `t`, wrapping around the week. */
export function timetableRate(entries: readonly TimetableEntry[], t: WeekTime): Rate {
  const at = (e: TimetableEntry, day: number): number => (e.day ?? day) * 1440 + e.minute;
  const now = t.day * 1440 + t.minute;
  let best: { pos: number; rate: Rate } | null = null;
  let latest: { pos: number; rate: Rate } | null = null;
  for (const e of entries) {
    // A daily entry applies today and, for the wrap-around, on every other day.
    const days = e.day === null ? [0, 1, 2, 3, 4, 5, 6] : [e.day];
    for (const d of days) {
      const pos = at(e, d);
      if (pos <= now && (best === null || pos >= best.pos)) best = { pos, rate: e.rate };
      if (latest === null || pos >= latest.pos) latest = { pos, rate: e.rate };
    }
  }
  return (best ?? latest)?.rate ?? Number.POSITIVE_INFINITY;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Parse `512k`, `10M`, `1.5G` (binary units, bytes per second), `off` (unlimited) or `0` (blocked). */
export function parseRate(text: string): Rate {
  const s = text.trim().toLowerCase();
  if (s === 'off' || s === 'unlimited') return Number.POSITIVE_INFINITY;
  const m = /^(\d+(?:\.\d+)?)([kmg]?)(?:i?b?)?$/u.exec(s);
  if (m === null) throw new Error(`not a rate: ${JSON.stringify(text)} (use e.g. 512k, 10M or off)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

/** Parse an rclone-style timetable: `Mon-08:00,512k Sat-00:00,off` or daily `08:00,1M 18:00,off`. */
export function parseTimetable(text: string): TimetableEntry[] {
  const entries: TimetableEntry[] = [];
  for (const part of text.trim().split(/\s+/u).filter(Boolean)) {
    const m = /^(?:([A-Za-z]{3})-)?(\d{1,2}):(\d{2}),(.+)$/u.exec(part);
    if (m === null) throw new Error(`timetable entry is not [Day-]HH:MM,RATE: ${JSON.stringify(part)}`);
    const day = m[1] === undefined ? null : DAYS.indexOf(m[1].toLowerCase());
    if (day === -1) throw new Error(`unknown day ${JSON.stringify(m[1])} in timetable (use Mon … Sun)`);
    const hour = Number(m[2]);
    const minute = Number(m[3]);
    if (hour > 23 || minute > 59) throw new Error(`time out of range in timetable entry ${JSON.stringify(part)}`);
    entries.push({ day, minute: hour * 60 + minute, rate: parseRate(m[4] as string) });
  }
  if (entries.length === 0) throw new Error('timetable is empty');
  return entries;
}
