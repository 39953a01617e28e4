/**
 * Store benchmark: committed operations per second of the SQLite job store with WAL and
 * synchronous=FULL on a temp file on disk (every commit waits for fsync), next to the memory
 * store (the cost of the rules alone). `npm run bench:store [-- --dir DIR] [-- --scale N]`.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JobEvent, JobState } from '../src/core/index.ts';
import { type JobStore, MemoryJobStore, openSqliteJobStore } from '../src/store/index.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' }, scale: { type: 'string', default: '1' } } });
const scale = Number(values.scale);
const base = values.dir ?? tmpdir();
const T0 = 1_700_000_000_000;
const admin = (now: number) => ({ owner: 'bench', isAdmin: true, now });
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** The filesystem a path lives on (longest mount point that prefixes it), from /proc/self/mounts. */
function filesystemOf(path: string): string {
  try {
    const real = realpathSync(path);
    let best = { mount: '', text: 'unknown' };
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [device, mount, type] = line.split(' ');
      if (device === undefined || mount === undefined || type === undefined) continue;
      const inside = real === mount || real.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
      if (inside && mount.length >= best.mount.length) best = { mount, text: `${type} on ${device}` };
    }
    return best.text;
  } catch {
    return 'unknown';
  }
}

interface Result {
  readonly store: string;
  readonly operation: string;
  readonly count: number;
  readonly seconds: number;
}

function time(store: string, operation: string, count: number, fn: (i: number) => void): Result {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return { store, operation, count, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

function runAll(name: string, store: JobStore, n: number): Result[] {
  let now = T0;
  store.createJob({ ...admin(now), id: id(0), type: 'DOWNLOAD', displayName: 'bench' });
  store.addFiles(id(0), [{ remoteName: 'https://example.org/big.iso', localName: '/srv/big.iso' }], admin(now));
  store.updateFile(id(0), 0, { bytesTotal: 2 ** 40 }, now);
  store.applyTransition(id(0), { expected: 'SUSPENDED', event: 'resume', now });
  const cycle: Array<[JobState, JobEvent]> = [
    ['QUEUED', 'pick'],
    ['CONNECTING', 'connected'],
    ['TRANSFERRING', 'slice_end'],
  ];
  const results = [
    time(name, 'applyTransition', n * 3, (i) => {
      const [expected, event] = cycle[i % 3] as [JobState, JobEvent];
      store.applyTransition(id(0), { expected, event, now: ++now });
    }),
    time(name, 'saveCheckpoint', n * 3, (i) => store.saveCheckpoint(id(0), 0, (i + 1) * 1_048_576, ++now)),
    time(name, 'createJob+addFile', n, (i) => {
      const job = id(i + 1);
      store.createJob({ ...admin(++now), id: job, type: 'DOWNLOAD', displayName: `job ${i}` });
      store.addFiles(job, [{ remoteName: `https://example.org/${i}`, localName: `/srv/f${i}` }], admin(now));
    }),
  ];
  return results;
}

const dir = mkdtempSync(join(base, 'openbits-bench-'));
try {
  const n = Math.max(1, Math.round(1000 * scale));
  const sqlite = openSqliteJobStore(join(dir, 'jobs.db'));
  const settings = sqlite.durabilitySettings();
  const results = [...runAll('sqlite', sqlite, n), ...runAll('memory', new MemoryJobStore(), n)];
  sqlite.close();
  console.log(
    `openbits store benchmark: node ${process.version}, journal_mode=${settings.journalMode}, ` +
      `synchronous=${settings.synchronous}, file in ${dir} (${filesystemOf(dir)})\n`,
  );
  const rows = results.map((r) => [
    r.store,
    r.operation,
    String(r.count),
    r.seconds.toFixed(2),
    Math.round(r.count / r.seconds).toLocaleString('en-US'),
    ((r.seconds / r.count) * 1000).toFixed(3),
  ]);
  const header = ['store', 'operation', 'count', 'seconds', 'per second', 'ms each'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
