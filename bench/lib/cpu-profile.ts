/**
 * Summaries of V8 `.cpuprofile` files (what `node --cpu-prof` writes): self and total time by
 * function and self time by module, the share of garbage collection, idle time left out. Pure
 * (the caller reads the file); used by bench/profile.ts and bench/profile-summary.ts.
 */

/** The parts of a V8 CPU profile this module reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }>;
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample. */
  readonly samples: readonly number[];
  /** µs between a sample and the one before it. */
  readonly timeDeltas: readonly number[];
}

/** One row of a summary: a function or a module, ms. */
export interface ProfileRow {
  readonly key: string;
  readonly selfMs: number;
  /** Time with this frame anywhere on the stack (recursion counted once); 0 for modules. */
  readonly totalMs: number;
}

/** A span of the monotonic clock V8 stamps samples with (µs, the clock of `process.hrtime`). */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** What a profile says. Busy = every sample but `(idle)`. */
export interface ProfileSummary {
  /** The span summarised: the profile's, or the window's part of it. */
  readonly wallMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  /** `(garbage collector)` samples. */
  readonly gcMs: number;
  /** `(program)`: V8 and native work outside JavaScript frames. */
  readonly programMs: number;
  /** `reallyExit`: the process writing its profile on the way out; not counted as busy. */
  readonly exitMs: number;
  /** By function, largest self time first. */
  readonly functions: readonly ProfileRow[];
  /** By module (src file, npm package, node:internal area), largest self time first. */
  readonly modules: readonly ProfileRow[];
  /** Self time of each function by its caller (the frame above it), ms. */
  readonly callers: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/**
 * A short module name for a script URL: `src/service/manager.ts`, `npm:undici`,
 * `node:internal/streams`, or `(native)` when V8 gives none.
 */
export function moduleOf(url: string): string {
  if (url === '') return '(native)';
  // undici's llhttp parser, or amaro (Node's TypeScript stripper) while modules load.
  if (url.startsWith('wasm://')) return 'wasm (llhttp / amaro)';
  if (url.startsWith('node:')) {
    const parts = url.slice('node:'.length).split('/');
    return parts[0] === 'internal' && parts.length > 2 ? `node:internal/${parts[1]}` : url;
  }
  const path = url.replace(/^file:\/\//u, '');
  const npm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//u.exec(path);
  if (npm) return `npm:${npm[1]}`;
  // The repository's own folders; the last one wins (a checkout may itself sit in a "bench" folder).
  const at = Math.max(...['/src/', '/bin/', '/bench/', '/test/'].map((m) => path.lastIndexOf(m)));
  return at >= 0 ? path.slice(at + 1) : path;
}

/** `name (module:line)`; anonymous functions are `(anonymous)`. Line numbers are 1-based here. */
export function frameKey(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  return `${name} (${moduleOf(frame.url)}:${frame.lineNumber + 1})`;
}

const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);

function sortRows(map: Map<string, { self: number; total: number }>): ProfileRow[] {
  return [...map]
    .map(([key, v]) => ({ key, selfMs: v.self / 1000, totalMs: v.total / 1000 }))
    .sort((a, b) => b.selfMs - a.selfMs || b.totalMs - a.totalMs);
}

/**
 * Summarise `profile`, or only the samples taken inside `window` (e.g. a transfer, leaving the
 * daemon's start-up out). Each sample lasts until the next one (the last one gets no time), which
 * is how DevTools attributes time.
 */
export function summarizeProfile(profile: CpuProfile, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const functions = new Map<string, { self: number; total: number }>();
  const modules = new Map<string, { self: number; total: number }>();
  const bump = (map: typeof functions, key: string, self: number, total: number) => {
    const row = map.get(key) ?? { self: 0, total: 0 };
    row.self += self;
    row.total += total;
    map.set(key, row);
  };
  const callers = new Map<string, Map<string, number>>();
  let idle = 0;
  let exit = 0;
  let gc = 0;
  let program = 0;
  let all = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at >= window.toUs)) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    all += us;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    if (name === 'reallyExit' && node.callFrame.url === '') {
      exit += us;
      continue;
    }
    if (name === '(garbage collector)') gc += us;
    if (name === '(program)') program += us;
    const self = frameKey(node.callFrame);
    bump(functions, self, us, 0);
    const up = byId.get(parent.get(node.id) ?? -1)?.callFrame;
    const byCaller = callers.get(self) ?? new Map<string, number>();
    const caller = up ? frameKey(up) : '(none)';
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + us / 1000);
    callers.set(self, byCaller);
    if (!SPECIAL.has(name)) bump(modules, moduleOf(node.callFrame.url), us, 0);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      const key = frameKey(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      bump(functions, key, 0, us);
    }
  }
  return {
    wallMs:
      (Math.min(profile.endTime, window?.toUs ?? Number.POSITIVE_INFINITY) -
        Math.max(profile.startTime, window?.fromUs ?? Number.NEGATIVE_INFINITY)) /
      1000,
    busyMs: (all - idle - exit) / 1000,
    idleMs: idle / 1000,
    exitMs: exit / 1000,
    gcMs: gc / 1000,
    programMs: program / 1000,
    functions: sortRows(functions),
    modules: sortRows(modules),
    callers,
  };
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The summary as markdown: a header line and two tables of the `top` rows each. */
export function profileMarkdown(title: string, s: ProfileSummary, top = 20): string {
  const pct = (ms: number) => (s.busyMs > 0 ? `${((ms / s.busyMs) * 100).toFixed(1)} %` : '—');
  const ms = (v: number) => v.toFixed(1);
  const lines = [
    `### ${title}`,
    '',
    `Profile span ${ms(s.wallMs)} ms; busy ${ms(s.busyMs)} ms (idle ${ms(s.idleMs)} ms, exit ${ms(s.exitMs)} ms); GC ${ms(s.gcMs)} ms (${pct(s.gcMs)} of busy); (program) ${ms(s.programMs)} ms (${pct(s.programMs)}).`,
    '',
    '| module | self ms | self % of busy |',
    '|---|--:|--:|',
    ...s.modules.slice(0, top).map((r) => `| ${r.key} | ${ms(r.selfMs)} | ${pct(r.selfMs)} |`),
    '',
    '| function | self ms | self % | total ms | total % | main callers (self ms) |',
    '|---|--:|--:|--:|--:|---|',
    ...s.functions.slice(0, top).map((r) => {
      const callers = [...(s.callers.get(r.key) ?? [])]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([k, v]) => `${k} (${ms(v)})`)
        .join('; ');
      return `| ${cell(r.key)} | ${ms(r.selfMs)} | ${pct(r.selfMs)} | ${ms(r.totalMs)} | ${pct(r.totalMs)} | ${cell(callers)} |`;
    }),
    '',
  ];
  return lines.join('\n');
}

/** The `top` functions by total (inclusive) time whose key matches `pattern`, e.g. /src\//. */
export function topInclusive(s: ProfileSummary, pattern: RegExp, top = 20): ProfileRow[] {
  return s.functions
    .filter((r) => pattern.test(r.key))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, top);
}
