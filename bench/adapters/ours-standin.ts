/**
 * The stand-in "ours" adapter: runs bench/adapters/standin-client.ts (undici stream() into a
 * 1 MiB double-buffered writer, fdatasync checkpoints every 4 MiB) in a separate process.
 * It is NOT openbits; every report labels it so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuMs, runTimed, sleep } from '../lib/exec.ts';
import type { DownloadItem, DownloadMeasure, KillResumeMeasure, OursAdapter, RunningDownload } from './ours.ts';
import type { StandInReport, StandInSpec } from './standin-client.ts';

const CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'standin-client.ts');
const MiB = 1024 * 1024;
const CHECKPOINT_BYTES = 4 * MiB;

/** Create the stand-in adapter. */
export function createStandInAdapter(): OursAdapter {
  let workDir = '';
  let seq = 0;

  /** Write a spec file (with a fresh state folder unless resuming) and return its path. */
  const writeSpec = (items: readonly DownloadItem[], mode: StandInSpec['mode'], extra: Partial<StandInSpec>) => {
    const stateDir = extra.stateDir ?? join(workDir, `state-${seq}`);
    if (!extra.resume) {
      rmSync(stateDir, { recursive: true, force: true });
      mkdirSync(stateDir, { recursive: true });
    }
    const spec: StandInSpec = {
      items,
      mode,
      bufferBytes: MiB,
      checkpointBytes: CHECKPOINT_BYTES,
      maxBandwidth: 0,
      resume: false,
      ...extra,
      stateDir,
    };
    const path = join(workDir, `spec-${seq++}.json`);
    writeFileSync(path, JSON.stringify(spec));
    return { path, stateDir };
  };

  const timed = async (specPath: string, cpu: string): Promise<{ measure: DownloadMeasure; report: StandInReport }> => {
    const run = await runTimed([process.execPath, CLIENT, specPath], cpu);
    const report = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as StandInReport;
    return {
      measure: { wallMs: run.wallMs, cpuMs: run.cpuMs, peakRssKiB: run.maxRssKiB, perItemMs: report.perItemMs },
      report,
    };
  };

  const startDetached = (specPath: string, cpu: string): { child: ChildProcess; exited: Promise<void> } => {
    const child = spawn('taskset', ['-c', cpu, process.execPath, CLIENT, specPath], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    return { child, exited };
  };

  return {
    label: 'stand-in (undici stream + 1 MiB buffered writer, not openbits)',
    isStandIn: true,
    checkpointIntervalBytes: CHECKPOINT_BYTES,

    async setup(env) {
      workDir = join(env.workDir, 'standin');
      mkdirSync(workDir, { recursive: true });
    },

    async teardown() {
      rmSync(workDir, { recursive: true, force: true });
    },

    async download(items, options) {
      const { path } = writeSpec(items, options.mode, {});
      return (await timed(path, options.cpu)).measure;
    },

    async startThrottled(item, bytesPerSecond, cpu): Promise<RunningDownload> {
      const { path } = writeSpec([item], 'one-job', { maxBandwidth: bytesPerSecond });
      const { child, exited } = startDetached(path, cpu);
      return {
        cpuMs: () => (child.pid ? processCpuMs(child.pid) : Promise.resolve(Number.NaN)),
        async stop() {
          child.kill('SIGKILL');
          await exited;
        },
      };
    },

    async killAndResume(item, killAtFraction, cpu): Promise<KillResumeMeasure> {
      const first = writeSpec([item], 'one-job', {});
      const { child, exited } = startDetached(first.path, cpu);
      let gone = false;
      void exited.then(() => {
        gone = true;
      });
      let bytesOnDiskAtKill = 0;
      for (;;) {
        if (gone) throw new Error('the stand-in finished before it could be killed; use a bigger file');
        try {
          bytesOnDiskAtKill = statSync(item.dest).size;
        } catch {
          bytesOnDiskAtKill = 0;
        }
        if (bytesOnDiskAtKill >= item.size * killAtFraction) break;
        await sleep(1);
      }
      child.kill('SIGKILL');
      await exited;
      bytesOnDiskAtKill = statSync(item.dest).size; // what the crash left behind
      const ckpt = readFileSync(join(first.stateDir, 'job-0.ckpt'), 'utf8').trim().split(' ');
      const resumedFrom = Number(ckpt[1] ?? 0);
      const second = writeSpec([item], 'one-job', { resume: true, stateDir: first.stateDir });
      const { measure, report } = await timed(second.path, cpu);
      return { bytesOnDiskAtKill, resumedFrom, ttfbAfterRestartMs: report.ttfbMs, resumeWallMs: measure.wallMs };
    },
  };
}
