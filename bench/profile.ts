/**
 * Profile one benchmark case: a fresh bitsd (through the openbits adapter, its own home and
 * tmpfs under bench/work/profile) with `--cpu-prof`, the CLI processes with `--cpu-prof` too; or,
 * with `--strace`, no profiler but `strace -f -C -y -s 96` attached to bitsd. Then a markdown
 * summary (`<out>/summary.md`): bitsd's self time by module and function inside the measured
 * window (start-up left out), GC share, the CLI processes whole; with --strace, bitsd's syscalls
 * per transferred file, syncs and writes by target (data files, destination folder, SQLite WAL)
 * and the API requests bitsd read, by path.
 *
 * `node bench/profile.ts --case transfer-big|transfer-many|list|info|library-many|library-concurrent|api-cycles|api-list|upload
 *   [--files 1000] [--big-mib 1024] [--runs 5] [--loops 1] [--strace | --no-prof] [--out DIR] [--resummarize]`
 *
 * `--loops 16` runs api-cycles' cycles from 16 client loops at once (S8's concurrent figure, where
 * bitsd's main thread is what saturates).
 *
 * `--case upload` runs S7's route (bitsd uploads the big file to bits-upload-server) and profiles
 * or straces the upload server too; `--no-prof` runs it bare, for CPU seconds per upload.
 *
 * `--resummarize` rewrites summary.md from the files a run left in DIR (meta.json, profiles,
 * strace.log). Run it alone, not beside `npm run bench`: both drop the page cache and pin to the
 * same CPUs. Profiling and strace slow the processes down: use the figures for where time goes,
 * and the suite (S1–S14) for how long things take.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BitsClient, connect } from '../src/client/connect.ts';
import { parseCreatedJob, transferArgs } from './adapters/cli-command.ts';
import type { CliRoute, DownloadItem } from './adapters/ours.ts';
import { createOpenbitsAdapter } from './adapters/ours-openbits.ts';
import {
  type CpuProfile,
  type ProfileWindow,
  profileMarkdown,
  summarizeProfile,
  topInclusive,
} from './lib/cpu-profile.ts';
import { processCpuMs, runTimed, sleep, type TimedRun } from './lib/exec.ts';
import { generateCorpus } from './lib/files.ts';
import { startNginx } from './lib/nginx.ts';
import { countCallsByPath, countHttpRequests, groupPaths, parseStraceSummary } from './lib/strace.ts';
import { clearDir, dropCaches, makeWorkspace, unmountWorkspace } from './lib/workspace.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CASES = [
  'transfer-big',
  'transfer-many',
  'list',
  'info',
  'library-many',
  'library-concurrent',
  'api-cycles',
  'api-list',
  'upload',
] as const;
type Case = (typeof CASES)[number];
const MiB = 1024 * 1024;

/** What a run leaves for the summary (`meta.json`). */
interface RunFacts {
  readonly which: Case;
  readonly notes: string[];
  readonly daemonPid: number;
  /** Files transferred (the divisor of the per-file syscall counts); 0 for list/info. */
  readonly transferred: number;
  readonly destDir: string;
  /** The measured span on the monotonic clock (µs), as V8 stamps profile samples. */
  readonly window: ProfileWindow;
  readonly strace: boolean;
}

function log(line: string): void {
  process.stderr.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The bits-upload-server the adapter started (a child of this process, `taskset` exec'd into node). */
function uploadServerPid(): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/u.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (
        ppid === process.pid &&
        cmd.includes('bits-upload-server') &&
        readlinkSync(`/proc/${name}/exe`).includes('node')
      ) {
        return Number(name);
      }
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no bits-upload-server child found');
}
const figures = (r: TimedRun) =>
  `${(r.wallMs / 1000).toFixed(3)} s wall, ${(r.cpuMs / 1000).toFixed(3)} s CPU, peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB`;

async function runCase(options: {
  which: Case;
  out: string;
  files: number;
  bigMiB: number;
  runs: number;
  /** api-cycles: client loops at once (1: one after another). */
  loops: number;
  strace: boolean;
  /** Neither profiler nor strace: CPU seconds and wall as they are. */
  noProf: boolean;
}): Promise<RunFacts> {
  const { which, out } = options;
  const root = join(REPO, 'bench', 'work', 'profile');
  rmSync(out, { recursive: true, force: true });
  const daemonDir = join(out, 'daemon');
  const cliDir = join(out, 'cli');
  mkdirSync(daemonDir, { recursive: true });
  mkdirSync(cliDir, { recursive: true });
  const cpu = cpus().length > 1 ? '1' : '0';
  // A strace run counts syscalls only: the profiler's sampling signals would add their own.
  const prof = (dir: string) => (options.strace || options.noProf ? '' : `--cpu-prof --cpu-prof-dir=${dir}`);
  const big = which === 'transfer-big' || which === 'upload';
  const ws = makeWorkspace(root, big ? Math.ceil((options.bigMiB * 3) / 1024) + 1 : 4, log);
  const corpus = generateCorpus(ws.served, {
    bigBytes: (big ? options.bigMiB : 1) * MiB,
    smallCount: which === 'transfer-many' || which === 'library-many' ? options.files : 1,
    smallBytes: 64 * 1024,
    midCount: which === 'library-concurrent' ? 8 : 0,
    midBytes: 128 * MiB,
  });
  const nginx = await startNginx(join(ws.scratch, 'nginx'), ws.served, '0');
  // Every Node process the adapter starts (bitsd, the library client, the upload server)
  // inherits this; the CLI processes get their own folder below.
  process.env.NODE_OPTIONS = prof(daemonDir);
  const ours = createOpenbitsAdapter({ home: join(root, 'home') });
  await ours.setup({ workDir: join(ws.scratch, 'ours'), cpu });
  const route = ours.cli?.() as CliRoute;
  const cliEnv = { ...route.env, NODE_OPTIONS: prof(cliDir) };
  const url = (p: { urlPath: string }) => `${nginx.baseUrl}${p.urlPath}`;
  const cli = (args: readonly string[]) => runTimed([...route.argv, ...args], cpu, { cwd: route.cwd, env: cliEnv });

  let tracer: ReturnType<typeof spawn> | undefined;
  const startTrace = async () => {
    if (!options.strace) return;
    const pids = which === 'upload' ? [route.daemonPid, uploadServerPid()] : [route.daemonPid];
    const args = [
      '-f',
      '-C',
      '-y',
      '-s',
      '96',
      '-o',
      join(out, 'strace.log'),
      ...pids.flatMap((p) => ['-p', String(p)]),
    ];
    tracer = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tracer.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    for (let i = 0; !err.includes('attached') && i < 500; i++) await sleep(10);
  };
  const stopTrace = async () => {
    const t = tracer;
    tracer = undefined;
    if (!t) return;
    const exited = once(t, 'exit');
    t.kill('SIGINT');
    await exited;
  };

  const notes: string[] = [];
  let transferred = 0;
  let destDir = '';
  let fromUs = 0;
  let toUs = 0;
  try {
    if (which === 'transfer-big' || which === 'transfer-many') {
      destDir = which === 'transfer-big' ? ws.tmpDest : join(ws.diskDest, 'small');
      clearDir(destDir);
      const pairs =
        which === 'transfer-big'
          ? [{ url: url(corpus.big), dest: join(destDir, 'big.bin') }]
          : corpus.small.map((f) => ({ url: url(f), dest: join(destDir, basename(f.path)) }));
      const args = transferArgs(`prof-${which}`, pairs, which === 'transfer-many' ? 'foreground' : undefined);
      await cli(['/list']); // the compile cache, as an installed CLI has it
      if (which === 'transfer-many') dropCaches();
      await startTrace();
      fromUs = nowUs();
      const r = await cli(args);
      toUs = nowUs();
      notes.push(
        `bitsadmin ${args.slice(0, 4).join(' ')} … (${pairs.length} pairs): ${figures(r)} (${options.strace ? 'under strace' : 'profiled'})`,
      );
      transferred = pairs.length;
    } else if (which === 'upload') {
      // S7's route: the library client asks bitsd to upload the big file to bits-upload-server
      // (on the disk beside bitsd's home); --runs uploads, the first one untimed (JIT, sockets).
      destDir = join(root, 'openbits-up');
      await ours.upload?.(corpus.big.path, corpus.big.size, cpu);
      await startTrace();
      const serverCpu0 = await processCpuMs(uploadServerPid());
      fromUs = nowUs();
      for (let i = 0; i < options.runs; i++) {
        const m = await ours.upload?.(corpus.big.path, corpus.big.size, cpu);
        if (m === undefined) throw new Error('the adapter cannot upload');
        notes.push(
          `upload ${i + 1} of ${options.bigMiB} MiB: ${(m.wallMs / 1000).toFixed(3)} s wall = ${(((corpus.big.size / 1e6) * 1000) / m.wallMs).toFixed(0)} MB/s, ${(m.cpuMs / 1000).toFixed(3)} s CPU client + bitsd (${options.strace ? 'under strace' : options.noProf ? 'bare' : 'profiled'})`,
        );
      }
      toUs = nowUs();
      const serverCpu = (await processCpuMs(uploadServerPid())) - serverCpu0;
      notes.push(`bits-upload-server CPU over the ${options.runs} uploads: ${(serverCpu / 1000).toFixed(3)} s`);
      transferred = options.runs;
    } else if (which === 'list' || which === 'info') {
      const job = parseCreatedJob((await cli(['/rawreturn', '/create', 'prof-idle'])).stdout);
      await cli(['/addfile', job, url(corpus.big), join(ws.tmpDest, 'idle.bin')]);
      await cli(['/list']);
      await startTrace();
      fromUs = nowUs();
      for (let i = 0; i < options.runs; i++) {
        const r = await cli(which === 'list' ? ['/list'] : ['/info', job]);
        notes.push(`bitsadmin /${which} run ${i + 1}: ${figures(r)} (${options.strace ? 'under strace' : 'profiled'})`);
      }
      toUs = nowUs();
      await stopTrace();
      await cli(['/cancel', job]);
    } else if (which === 'api-cycles' || which === 'api-list') {
      // S8's calls through the library client: --files cycles of create+addfile+resume+cancel
      // (from --loops client loops at once, each on its own connection, as S8's concurrent
      // figure), or --files queued jobs and --runs lists of them; bitsd's CPU per call from /proc.
      const connectClient = () => connect({ socketPath: route.socketPath, autoStart: false, timeoutMs: 120_000 });
      const client = connectClient();
      const loops = which === 'api-cycles' ? Math.max(1, options.loops) : 1;
      const others = Array.from({ length: loops - 1 }, connectClient);
      try {
        const cycle = async (i: number, url: string, c: BitsClient = client) => {
          const job = await c.createJob(`prof-${i}`);
          await c.addFile(job.id, url, join(ws.diskDest, `prof-${i}.bin`));
          await c.resume(job.id);
          if (which === 'api-cycles') await c.cancel(job.id);
        };
        for (let i = 0; i < 20; i++) await cycle(i, 'http://127.0.0.1:9/never.bin'); // warm the JIT
        const calls = which === 'api-cycles' ? options.files : options.runs;
        if (which === 'api-list') {
          for (let i = 0; i < options.files; i++) await cycle(i, 'http://127.0.0.1:9/never.bin');
          await client.enumJobs();
        }
        await startTrace();
        const cpuBefore = await processCpuMs(route.daemonPid);
        fromUs = nowUs();
        if (which === 'api-cycles') {
          await Promise.all(
            [client, ...others].map(async (c, k) => {
              for (let i = k; i < calls; i += loops) await cycle(i, 'http://127.0.0.1:9/never.bin', c);
            }),
          );
        } else for (let i = 0; i < calls; i++) await client.enumJobs();
        toUs = nowUs();
        const cpuMs = (await processCpuMs(route.daemonPid)) - cpuBefore;
        const what =
          which === 'api-cycles'
            ? `create+addfile+resume+cancel cycles${loops > 1 ? ` from ${loops} client loops` : ''}`
            : `lists of ${options.files} jobs`;
        notes.push(
          `${calls} ${what}: ${((toUs - fromUs) / 1000).toFixed(0)} ms wall, bitsd ${cpuMs.toFixed(0)} ms CPU = ${(cpuMs / calls).toFixed(2)} ms per ${which === 'api-cycles' ? 'cycle' : 'list'} (${options.strace ? 'under strace' : options.noProf ? 'bare' : 'profiled'})`,
        );
        transferred = which === 'api-cycles' ? calls : 0;
      } finally {
        await Promise.all([client, ...others].map((c) => c.close()));
      }
    } else {
      const many = which === 'library-many';
      destDir = join(many ? ws.diskDest : ws.tmpDest, many ? 'small' : 'mid');
      const items: DownloadItem[] = (many ? corpus.small : corpus.mid).map((f) => ({
        url: url(f),
        dest: join(destDir, basename(f.path)),
        size: f.size,
      }));
      clearDir(destDir);
      dropCaches();
      await startTrace();
      fromUs = nowUs();
      const m = await ours.download(items, { mode: many ? 'one-job' : 'concurrent-jobs', cpu });
      toUs = nowUs();
      notes.push(
        `library client (the S3/S4 route), ${items.length} items: ${(m.wallMs / 1000).toFixed(2)} s wall, ${(m.cpuMs / 1000).toFixed(2)} s CPU client + bitsd (${options.strace ? 'under strace' : options.noProf ? 'bare' : 'profiled'})`,
      );
      transferred = items.length;
    }
    await stopTrace();
  } finally {
    await stopTrace();
    await ours.teardown(); // SIGTERM: bitsd exits and writes its profile
    await nginx.stop();
    unmountWorkspace(root);
    delete process.env.NODE_OPTIONS;
  }
  return {
    which,
    notes,
    daemonPid: route.daemonPid,
    transferred,
    destDir,
    window: { fromUs, toUs },
    strace: options.strace,
  };
}

/** The markdown summary of a run's files. */
function summarize(out: string, facts: RunFacts): string {
  const profiles = (dir: string, pick: (name: string) => boolean) =>
    readdirSync(dir)
      .filter((n) => n.endsWith('.cpuprofile') && pick(n))
      .sort()
      .map((n) => ({ name: n, profile: JSON.parse(readFileSync(join(dir, n), 'utf8')) as CpuProfile }));
  const inclusive = (s: ReturnType<typeof summarizeProfile>, top: number) => [
    'Inclusive time of openbits functions (src/):',
    '',
    '| function | total ms |',
    '|---|--:|',
    ...topInclusive(s, /\(src\//u, top).map((r) => `| ${r.key} | ${r.totalMs.toFixed(1)} |`),
    '',
  ];
  const report = [`# Profile: ${facts.which}`, '', ...facts.notes.map((n) => `- ${n}`), ''];
  const mine = `.${facts.daemonPid}.`;
  const span = `${((facts.window.toUs - facts.window.fromUs) / 1000).toFixed(0)} ms`;
  for (const { name, profile } of profiles(join(out, 'daemon'), (n) => n.includes(mine))) {
    const s = summarizeProfile(profile, facts.window);
    report.push(profileMarkdown(`bitsd during the measured ${span} (${name})`, s, 25), ...inclusive(s, 25));
  }
  const cliProfiles = profiles(join(out, 'cli'), () => true);
  // The first CLI profile is the untimed /list that fills the compile cache (or /create).
  for (const { name, profile } of cliProfiles.slice(-Math.min(cliProfiles.length, 2))) {
    const s = summarizeProfile(profile);
    report.push(profileMarkdown(`bitsadmin, whole process (${name})`, s, 25), ...inclusive(s, 15));
  }
  for (const { name, profile } of profiles(join(out, 'daemon'), (n) => !n.includes(mine))) {
    const s = summarizeProfile(profile, facts.window);
    if (s.busyMs < 50) continue;
    const server = topInclusive(s, /\(src\/upload-server\//u, 1).length > 0;
    const who = server ? 'bits-upload-server' : 'the library client';
    report.push(profileMarkdown(`${who} during the measured ${span} (${name})`, s, server ? 25 : 15));
    if (server) report.push(...inclusive(s, 25));
  }
  if (facts.strace) report.push(...syscallTables(readFileSync(join(out, 'strace.log'), 'utf8'), facts));
  return `${report.join('\n')}\n`;
}

function syscallTables(text: string, facts: RunFacts): string[] {
  const per = facts.transferred > 0 ? facts.transferred : 1;
  const unit = facts.transferred > 0 ? 'per file' : 'per run';
  const out = [
    `### bitsd syscalls (strace -f -C; ${unit}: ÷${per})`,
    '',
    `| syscall | calls | ${unit} | errors | seconds |`,
    '|---|--:|--:|--:|--:|',
  ];
  for (const r of parseStraceSummary(text)
    .sort((a, b) => b.calls - a.calls)
    .slice(0, 30)) {
    out.push(`| ${r.syscall} | ${r.calls} | ${(r.calls / per).toFixed(2)} | ${r.errors} | ${r.seconds.toFixed(3)} |`);
  }
  const dest = facts.destDir;
  const classify = (p: string) => {
    if (p.endsWith('jobs.db-wal')) return 'SQLite WAL (jobs.db-wal)';
    if (p.endsWith('jobs.db')) return 'SQLite database (jobs.db)';
    if (p.endsWith('-shm')) return 'SQLite shared memory';
    if (dest && p === dest) return 'destination folder';
    if (dest && p.startsWith(`${dest}/`)) return 'data files (temp/final)';
    if (p === '') return '(no path)';
    if (p.startsWith('socket:[') || p.startsWith('UNIX:[') || p.startsWith('TCP:[')) return 'sockets';
    if (p.startsWith('pipe:[')) return 'pipes';
    if (p.startsWith('anon_inode:')) return p;
    return 'other';
  };
  const byPath = countCallsByPath(text);
  out.push('', `| syscall | target | calls | ${unit} |`, '|---|---|--:|--:|');
  const calls = [
    'fdatasync',
    'fsync',
    'pwrite64',
    'pwritev',
    'write',
    'writev',
    'io_uring_enter',
    'read',
    'openat',
    'rename',
    'close',
    'statx',
    'ftruncate',
    'unlink',
  ];
  for (const sc of calls) {
    for (const [group, n] of groupPaths(byPath.get(sc) ?? new Map(), classify)) {
      out.push(`| ${sc} | ${group} | ${n} | ${(n / per).toFixed(2)} |`);
    }
  }
  out.push('', `| API request read by bitsd | count | ${unit} |`, '|---|--:|--:|');
  for (const [request, n] of [...countHttpRequests(text)].sort((a, b) => b[1] - a[1])) {
    out.push(`| ${request} | ${n} | ${(n / per).toFixed(2)} |`);
  }
  out.push('');
  return out;
}

const { values } = parseArgs({
  options: {
    case: { type: 'string' },
    files: { type: 'string', default: '1000' },
    'big-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    loops: { type: 'string', default: '1' },
    strace: { type: 'boolean', default: false },
    'no-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    resummarize: { type: 'boolean', default: false },
  },
  strict: true,
});
const which = values.case as Case;
if (!CASES.includes(which)) throw new Error(`--case must be one of ${CASES.join(', ')}`);
const out = values.out ?? join(REPO, 'bench', 'work', 'profiles', `${which}${values.strace ? '-strace' : ''}`);
let facts: RunFacts;
if (values.resummarize) facts = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as RunFacts;
else {
  const started = performance.now();
  facts = await runCase({
    which,
    out,
    files: Number(values.files),
    bigMiB: Number(values['big-mib']),
    runs: Number(values.runs),
    loops: Number(values.loops),
    strace: values.strace ?? false,
    noProf: values['no-prof'] ?? false,
  });
  writeFileSync(join(out, 'meta.json'), `${JSON.stringify(facts, null, 2)}\n`);
  log(`case done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
writeFileSync(join(out, 'summary.md'), summarize(out, facts));
log(`wrote ${join(out, 'summary.md')}`);
