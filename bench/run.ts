/**
 * The benchmark suite (reference §4.5): `npm run bench [-- --quick] [--only S1,S6] [--runs N]`.
 * Sets up peers, a tmpfs corpus and a pinned nginx, runs the scenarios, writes one JSON per
 * scenario under bench/results/<runId>/ and regenerates docs/benchmarks.md and .svg.
 */
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentOurs } from './adapters/ours.ts';
import { parseBenchArgs } from './lib/args.ts';
import type { BenchContext } from './lib/context.ts';
import { generateCorpus } from './lib/files.ts';
import { unmountJournaledDisk } from './lib/journaled-disk.ts';
import { startNginx } from './lib/nginx.ts';
import { ensurePackages, hasBinary } from './lib/packages.ts';
import { holdPageReporting } from './lib/page-reporting.ts';
import { writeReport } from './lib/report-files.ts';
import { runIdFor, runMeta, writeResult } from './lib/results.ts';
import type { ScenarioOutcome } from './lib/types.ts';
import { makeWorkspace, unmountWorkspace, warmMemory } from './lib/workspace.ts';
import { fmtMet, fmtRatio, fmtTarget } from './report/format.ts';
import { SCENARIOS } from './scenarios/index.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(REPO, 'bench', 'results');
const DOCS = join(REPO, 'docs');
const WORK = join(REPO, 'bench', 'work');
const KiB = 1024;
const MiB = 1024 * KiB;

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.reportOnly) {
    const { md } = writeReport(RESULTS, DOCS);
    log(`wrote ${md}`);
    return;
  }
  const selected = args.only ? SCENARIOS.filter((s) => args.only?.includes(s.id)) : SCENARIOS;
  if (selected.length === 0) throw new Error(`no scenario matches --only ${args.only?.join(',')}`);
  if (!args.noInstall) ensurePackages(log);

  // Full: 2.1 GiB of corpus, S16F's lying copy (1 GiB) and a destination (1 GiB).
  const ws = makeWorkspace(WORK, args.quick ? 1 : 6, log);
  const cleanups: Array<() => Promise<void> | void> = [
    holdPageReporting(log),
    () => (args.keep ? undefined : unmountWorkspace(WORK)),
    // S3's journaled disk, when a run stopped inside it (Ctrl-C, a crash of the scenario).
    () => {
      unmountJournaledDisk(WORK, log);
    },
  ];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  process.once('SIGINT', () => {
    log('interrupted; cleaning up');
    void cleanup().then(() => process.exit(130));
  });
  try {
    log(`generating corpus in ${ws.served}${ws.tmpfsMounted ? ' (tmpfs)' : ''}`);
    const corpus = generateCorpus(
      ws.served,
      args.quick
        ? { bigBytes: 128 * MiB, smallCount: 200, smallBytes: 64 * KiB, midCount: 8, midBytes: 16 * MiB }
        : { bigBytes: 1024 * MiB, smallCount: 1000, smallBytes: 64 * KiB, midCount: 8, midBytes: 128 * MiB },
    );
    const warm = args.quick ? 512 * MiB : 3072 * MiB;
    log(
      `warmed ${warm / MiB} MiB of memory in ${(warmMemory(ws, warm) / 1000).toFixed(1)} s (first touch paid here, by no tool)`,
    );
    const nginx = await startNginx(join(ws.scratch, 'nginx'), ws.served, '0', {
      putDir: join(ws.diskDest, 'nginx-put'),
    });
    cleanups.push(() => nginx.stop());
    log(`nginx on ${nginx.baseUrl} (CPU 0)`);
    const ours = currentOurs();
    const clientCpu = cpus().length > 1 ? '1' : '0';
    await ours.setup({ workDir: join(ws.scratch, 'ours'), cpu: clientCpu });
    cleanups.push(() => ours.teardown());

    const known = new Map<string, boolean>();
    const ctx: BenchContext = {
      quick: args.quick,
      runs: args.runs,
      corpus,
      nginx,
      ws,
      ours,
      clientCpu,
      url: (file) => `${nginx.baseUrl}${file.urlPath}`,
      has(bin) {
        if (!known.has(bin)) known.set(bin, hasBinary(bin));
        return known.get(bin) ?? false;
      },
      log,
    };
    const meta = runMeta(runIdFor(new Date()), args.quick ? 'quick' : 'full', ours, REPO);
    for (const scenario of selected) {
      log(`${scenario.id}: ${scenario.title}`);
      const started = performance.now();
      const loadAverage = loadavg()[0] ?? Number.NaN;
      let outcome: ScenarioOutcome;
      try {
        outcome = await scenario.run(ctx);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`${scenario.id} failed: ${message}`);
        outcome = { status: 'failed', measurements: [], ratios: [], notes: [message.slice(0, 500)] };
      }
      const durationMs = performance.now() - started;
      writeResult(RESULTS, { scenario: scenario.id, title: scenario.title, meta, durationMs, loadAverage, ...outcome });
      if (outcome.status === 'not-available') log(`  ${outcome.notes.join(' ')}`);
      for (const row of outcome.ratios) {
        log(
          `  ${row.label}: ${fmtRatio(row.value, row.target)} (target ${fmtTarget(row.target)}) ${fmtMet(row).replaceAll('*', '')}`,
        );
      }
      log(`  ${(durationMs / 1000).toFixed(1)} s`);
    }
  } finally {
    await cleanup();
  }
  const { md } = writeReport(RESULTS, DOCS);
  log(`wrote ${md}`);
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
