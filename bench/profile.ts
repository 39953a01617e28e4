/**
 * Profile one benchmark case: a fresh bitsd (through the openbits adapter, its own home and
 * tmpfs under bench/work/profile) with `--cpu-prof`, the CLI processes with `--cpu-prof` too; or,
 * with `--strace`, no profiler but `strace -f -C -y -s 96` attached to bitsd; then a markdown summary of every profile (self
 * time by module and function, GC share) and of the syscalls (calls per transferred file, syncs
 * by path: data files, destination folder, SQLite WAL; API requests bitsd read, by path).
 *
 * `node bench/profile.ts --case transfer-big|transfer-many|list|info|library-many|library-concurrent
 *   [--files 1000] [--big-mib 1024] [--runs 5] [--strace] [--out DIR]`
 *
 * Run it alone (not beside `npm run bench`: both drop the page cache and pin to the same CPUs).
 * Profiling and strace slow the processes down: use the figures for where time goes, and the
 * suite (S1–S14) for how long things take.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseCreatedJob, transferArgs } from './adapters/cli-command.ts';
import type { CliRoute, DownloadItem } from './adapters/ours.ts';
import { createOpenbitsAdapter } from './adapters/ours-openbits.ts';
import { type CpuProfile, profileMarkdown, summarizeProfile, topInclusive } from './lib/cpu-profile.ts';
import { runTimed, sleep } from './lib/exec.ts';
import { generateCorpus } from './lib/files.ts';
import { startNginx } from './lib/nginx.ts';
import { countCallsByPath, countHttpRequests, groupPaths, parseStraceSummary } from './lib/strace.ts';
import { clearDir, dropCaches, makeWorkspace, unmountWorkspace } from './lib/workspace.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CASES = ['transfer-big', 'transfer-many', 'list', 'info', 'library-many', 'library-concurrent'] as const;
type Case = (typeof CASES)[number];
const MiB = 1024 * 1024;

function log(line: string): void {
  process.stderr.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

const { values } = parseArgs({
  options: {
    case: { type: 'string' },
    files: { type: 'string', default: '1000' },
    'big-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    strace: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  strict: true,
});
const which = values.case as Case;
if (!CASES.includes(which)) throw new Error(`--case must be one of ${CASES.join(', ')}`);
const files = Number(values.files);
const runs = Number(values.runs);
const root = join(REPO, 'bench', 'work', 'profile');
const out = values.out ?? join(REPO, 'bench', 'work', 'profiles', which);
rmSync(out, { recursive: true, force: true });
const daemonDir = join(out, 'daemon');
const cliDir = join(out, 'cli');
mkdirSync(daemonDir, { recursive: true });
mkdirSync(cliDir, { recursive: true });
const cpu = cpus().length > 1 ? '1' : '0';
// A strace run counts syscalls only: the profiler's sampling signals would add their own.
const prof = (dir: string) => (values.strace ? '' : `--cpu-prof --cpu-prof-dir=${dir}`);

const ws = makeWorkspace(
  root,
  which === 'transfer-big' ? Math.ceil((Number(values['big-mib']) * 3) / 1024) + 1 : 4,
  log,
);
const corpus = generateCorpus(ws.served, {
  bigBytes: (which === 'transfer-big' ? Number(values['big-mib']) : 1) * MiB,
  smallCount: which === 'transfer-many' || which === 'library-many' ? files : 1,
  smallBytes: 64 * 1024,
  midCount: which === 'library-concurrent' ? 8 : 0,
  midBytes: 128 * MiB,
});
const nginx = await startNginx(join(ws.scratch, 'nginx'), ws.served, '0');
// Every Node process the adapter starts (bitsd, the library client) inherits this; the CLI
// processes get their own folder below.
process.env.NODE_OPTIONS = prof(daemonDir);
const ours = createOpenbitsAdapter({ home: join(root, 'home') });
await ours.setup({ workDir: join(ws.scratch, 'ours'), cpu });
const route = ours.cli?.() as CliRoute;
const cliRoute: CliRoute = { ...route, env: { ...route.env, NODE_OPTIONS: prof(cliDir) } };
const url = (p: { urlPath: string }) => `${nginx.baseUrl}${p.urlPath}`;
const cli = (args: readonly string[]) =>
  runTimed([...cliRoute.argv, ...args], cpu, { cwd: cliRoute.cwd, env: cliRoute.env });

let tracer: ReturnType<typeof spawn> | undefined;
const straceFile = join(out, 'strace.log');
async function startTrace(): Promise<void> {
  if (!values.strace) return;
  tracer = spawn('strace', ['-f', '-C', '-y', '-s', '96', '-o', straceFile, '-p', String(route.daemonPid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  tracer.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  for (let i = 0; !err.includes('attached') && i < 500; i++) await sleep(10);
}
async function stopTrace(): Promise<void> {
  if (!tracer) return;
  const t = tracer;
  tracer = undefined;
  const exited = once(t, 'exit');
  t.kill('SIGINT');
  await exited;
}

const notes: string[] = [];
let transferred = 0;
let destDir = '';
const started = performance.now();
try {
  if (which === 'transfer-big') {
    const dest = join(ws.tmpDest, 'big.bin');
    destDir = ws.tmpDest;
    await cli(['/list']); // compile cache
    await startTrace();
    const r = await cli(transferArgs('prof-big', [{ url: url(corpus.big), dest }]));
    notes.push(
      `/transfer of ${values['big-mib']} MiB: ${(r.wallMs / 1000).toFixed(2)} s wall, CLI ${(r.cpuMs / 1000).toFixed(2)} s CPU, CLI peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB (profiled)`,
    );
    transferred = 1;
  } else if (which === 'transfer-many') {
    destDir = join(ws.diskDest, 'small');
    clearDir(destDir);
    const pairs = corpus.small.map((f) => ({ url: url(f), dest: join(destDir, basename(f.path)) }));
    await cli(['/list']);
    dropCaches();
    await startTrace();
    const r = await cli(transferArgs('prof-many', pairs, 'foreground'));
    notes.push(
      `/transfer /priority foreground of ${files} × 64 KiB: ${(r.wallMs / 1000).toFixed(2)} s wall, CLI ${(r.cpuMs / 1000).toFixed(2)} s CPU, CLI peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB (profiled)`,
    );
    transferred = files;
  } else if (which === 'list' || which === 'info') {
    const job = parseCreatedJob((await cli(['/rawreturn', '/create', 'prof-idle'])).stdout);
    await cli(['/addfile', job, url(corpus.big), join(ws.tmpDest, 'idle.bin')]);
    await cli(['/list']);
    await startTrace();
    for (let i = 0; i < runs; i++) {
      const r = await cli(which === 'list' ? ['/list'] : ['/info', job]);
      notes.push(
        `/${which} run ${i + 1}: ${(r.wallMs / 1000).toFixed(3)} s wall, ${(r.cpuMs / 1000).toFixed(3)} s CPU, ${(r.maxRssKiB / 1024).toFixed(0)} MiB (profiled)`,
      );
    }
    await stopTrace();
    await cli(['/cancel', job]);
  } else {
    const items: DownloadItem[] =
      which === 'library-many'
        ? corpus.small.map((f) => ({ url: url(f), dest: join(ws.diskDest, 'small', basename(f.path)), size: f.size }))
        : corpus.mid.map((f) => ({ url: url(f), dest: join(ws.tmpDest, 'mid', basename(f.path)), size: f.size }));
    destDir = join(which === 'library-many' ? ws.diskDest : ws.tmpDest, which === 'library-many' ? 'small' : 'mid');
    clearDir(destDir);
    dropCaches();
    await startTrace();
    const m = await ours.download(items, { mode: which === 'library-many' ? 'one-job' : 'concurrent-jobs', cpu });
    notes.push(
      `library client (S3/S4 route), ${items.length} items: ${(m.wallMs / 1000).toFixed(2)} s wall, ${(m.cpuMs / 1000).toFixed(2)} s CPU client+bitsd (profiled)`,
    );
    transferred = items.length;
  }
  await stopTrace();
} finally {
  await ours.teardown(); // SIGTERM: bitsd exits and writes its profile
  await nginx.stop();
  unmountWorkspace(root);
  delete process.env.NODE_OPTIONS;
}
log(`case done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/** Merge the profiles of one folder into one summary (several CLI runs are one picture). */
function summaries(dir: string, pick: (name: string) => boolean) {
  const names = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile') && pick(n));
  return names.map((n) => ({
    name: n,
    s: summarizeProfile(JSON.parse(readFileSync(join(dir, n), 'utf8')) as CpuProfile),
  }));
}
const report: string[] = [`# Profile: ${which}`, '', ...notes.map((n) => `- ${n}`), ''];
const daemonPid = String(route.daemonPid);
for (const { name, s } of summaries(daemonDir, (n) => n.includes(`.${daemonPid}.`))) {
  report.push(profileMarkdown(`bitsd (${name})`, s, 25));
  report.push('Inclusive time of openbits functions (src/):', '', '| function | total ms |', '|---|--:|');
  for (const r of topInclusive(s, /\(src\//u, 25)) report.push(`| ${r.key} | ${r.totalMs.toFixed(1)} |`);
  report.push('');
}
for (const { name, s } of summaries(cliDir, () => true).slice(0, which === 'list' || which === 'info' ? 2 : 10)) {
  report.push(profileMarkdown(`bitsadmin (${name})`, s, 25));
  report.push('Inclusive time of openbits functions (src/):', '', '| function | total ms |', '|---|--:|');
  for (const r of topInclusive(s, /\(src\//u, 15)) report.push(`| ${r.key} | ${r.totalMs.toFixed(1)} |`);
  report.push('');
}
for (const { name, s } of summaries(daemonDir, (n) => !n.includes(`.${daemonPid}.`))) {
  report.push(profileMarkdown(`other process of ours (${name}: the library client or the upload server)`, s, 15));
}
if (values.strace) {
  const text = readFileSync(straceFile, 'utf8');
  const per = transferred > 0 ? transferred : 1;
  report.push(`### bitsd syscalls (strace -f -C, per ${transferred > 0 ? 'transferred file' : 'run'}: ÷${per})`, '');
  report.push('| syscall | calls | per file | errors | seconds |', '|---|--:|--:|--:|--:|');
  for (const r of parseStraceSummary(text)
    .sort((a, b) => b.calls - a.calls)
    .slice(0, 30)) {
    report.push(
      `| ${r.syscall} | ${r.calls} | ${(r.calls / per).toFixed(2)} | ${r.errors} | ${r.seconds.toFixed(3)} |`,
    );
  }
  const classify = (p: string) => {
    if (p.endsWith('jobs.db-wal')) return 'SQLite WAL (jobs.db-wal)';
    if (p.endsWith('jobs.db')) return 'SQLite database (jobs.db)';
    if (p.endsWith('-shm')) return 'SQLite shared memory';
    if (destDir && p === destDir) return 'destination folder';
    if (destDir && p.startsWith(`${destDir}/`)) return 'data files (temp/final)';
    if (p === '') return '(no path)';
    if (p.startsWith('socket:[') || p.startsWith('UNIX:[')) return 'sockets';
    if (p.startsWith('pipe:[')) return 'pipes';
    if (p.startsWith('anon_inode:')) return p;
    return 'other';
  };
  const byPath = countCallsByPath(text);
  report.push('', '| syscall | target | calls | per file |', '|---|---|--:|--:|');
  for (const sc of [
    'fdatasync',
    'fsync',
    'pwrite64',
    'pwritev',
    'write',
    'writev',
    'openat',
    'rename',
    'renameat2',
    'close',
    'statx',
    'newfstatat',
    'ftruncate',
  ]) {
    const paths = byPath.get(sc);
    if (!paths) continue;
    for (const [group, n] of groupPaths(paths, classify)) {
      report.push(`| ${sc} | ${group} | ${n} | ${(n / per).toFixed(2)} |`);
    }
  }
  report.push('', '| API request read by bitsd | count | per file |', '|---|--:|--:|');
  for (const [request, n] of [...countHttpRequests(text)].sort((a, b) => b[1] - a[1])) {
    report.push(`| ${request} | ${n} | ${(n / per).toFixed(2)} |`);
  }
  report.push('');
}
const summaryPath = join(out, 'summary.md');
writeFileSync(summaryPath, `${report.join('\n')}\n`);
log(`wrote ${summaryPath}`);
