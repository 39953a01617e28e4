import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one timed child process cost. */
export interface TimedRun {
  readonly wallMs: number;
  /** user + system CPU of the child and its waited-for descendants (GNU time). */
  readonly cpuMs: number;
  /** Largest resident set of the child or one descendant, KiB (GNU time %M). */
  readonly maxRssKiB: number;
  readonly stdout: string;
  readonly stderr: string;
}

let seq = 0;

/**
 * Run `argv` pinned to `cpu` under GNU time; wall time is measured here from spawn to exit.
 * Rejects on a non-zero exit, with the tail of stderr.
 */
export async function runTimed(
  argv: readonly string[],
  cpu: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TimedRun> {
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${seq++}.txt`);
  const full = ['-c', cpu, '/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, ...argv];
  const started = performance.now();
  const { stdout, stderr } = await collect('taskset', full, options.cwd, options.env);
  const wallMs = performance.now() - started;
  const fields = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
  await rm(timeFile, { force: true });
  const [, user = Number.NaN, sys = Number.NaN, rss = Number.NaN] = fields;
  return { wallMs, cpuMs: (user + sys) * 1000, maxRssKiB: rss, stdout, stderr };
}

/** Run a command to completion and collect its output; rejects on a non-zero exit. */
export function collect(
  cmd: string,
  args: readonly string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} exited ${code ?? signal}: ${stderr.slice(-800)}`));
    });
  });
}

/**
 * utime + stime of a `/proc/PID/stat` line, ms (USER_HZ = 100 on Linux). The command name is
 * parenthesised and may itself hold spaces and parentheses, so fields count from the last `)`:
 * utime and stime are fields 14 and 15. NaN for a malformed line. Pure.
 */
export function statCpuMs(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close === -1) return Number.NaN;
  const rest = stat.slice(close + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return rest.length < 13 ? Number.NaN : (ticks * 1000) / 100;
}

/** CPU time (user + system) a live process has used so far, ms; NaN once it is gone. */
export async function processCpuMs(pid: number): Promise<number> {
  try {
    return statCpuMs(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set (VmHWM, KiB) of `pid` plus all its live descendants (an upper bound). */
export async function processTreeHwmKiB(pid: number): Promise<number> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  let total = 0;
  for (const p of tree) {
    try {
      const status = await readFile(`/proc/${p}/status`, 'utf8');
      total += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return total;
}

/**
 * Reset the peak-RSS mark (VmHWM) of a long-lived process, e.g. the daemon before each run
 * (`echo 5 > /proc/PID/clear_refs`). False when not permitted.
 */
export async function resetPeakRss(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
