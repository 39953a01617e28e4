import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { RunMeta, ScenarioResult } from './types.ts';

/** Each peer's version ("curl 7.88.1"); absent tools are left out. */
export function toolVersions(): Record<string, string> {
  const probes: Array<[string, string[]]> = [
    ['curl', ['--version']],
    ['wget', ['--version']],
    ['aria2c', ['--version']],
    ['nginx', ['-v']],
  ];
  const versions: Record<string, string> = {};
  for (const [bin, args] of probes) {
    // nginx prints its version on stderr.
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    const version = /\d+\.\d+(\.\d+)?/.exec((r.stdout || r.stderr || '').split('\n')[0] ?? '')?.[0];
    if (r.status === 0 && version) versions[bin] = `${bin} ${version}`;
  }
  return versions;
}

/** Facts about this run: commit, Node, machine. */
export function runMeta(
  runId: string,
  mode: RunMeta['mode'],
  ours: { label: string; isStandIn: boolean },
  repo: string,
): RunMeta {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    runId,
    mode,
    commit,
    node: process.version,
    oursLabel: ours.label,
    oursIsStandIn: ours.isStandIn,
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      kernel: release(),
    },
    startedAt: new Date().toISOString(),
    tools: toolVersions(),
  };
}

/** A sortable run id from a date: 2026-11-21T07-50-00Z. */
export function runIdFor(date: Date): string {
  return `${date.toISOString().slice(0, 19).replaceAll(':', '-')}Z`;
}

/** Write one scenario's result to `<resultsDir>/<runId>/<scenario>.json`. */
export function writeResult(resultsDir: string, result: ScenarioResult): string {
  const dir = join(resultsDir, result.meta.runId);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.scenario}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/**
 * The newest result of each scenario across all runs (the latest run wins; a run with --only
 * replaces only the scenarios it ran). Sorted by scenario id.
 */
export function latestResults(resultsDir: string): ScenarioResult[] {
  let runs: string[] = [];
  try {
    runs = readdirSync(resultsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
  const latest = new Map<string, ScenarioResult>();
  for (const run of runs) {
    for (const name of readdirSync(join(resultsDir, run)).filter((n) => /^S\d+[A-Z]?\.json$/.test(n))) {
      const result = JSON.parse(readFileSync(join(resultsDir, run, name), 'utf8')) as ScenarioResult;
      latest.set(result.scenario, result);
    }
  }
  return [...latest.values()].sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
}
