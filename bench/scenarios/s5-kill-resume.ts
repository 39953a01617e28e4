import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KillResumeMeasure } from '../adapters/ours.ts';
import { alternate, type BenchContext, notAvailable, push, type Scenario } from '../lib/context.ts';
import { runTimed, sleep } from '../lib/exec.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { dropCaches } from '../lib/workspace.ts';
import { OURS } from './download-tools.ts';

const MiB = 2 ** 20;

/** curl's resume as context: kill -9 at `fraction`, then `curl -C -`. */
async function curlKillResume(ctx: BenchContext, url: string, dest: string, size: number): Promise<KillResumeMeasure> {
  const child = spawn('taskset', ['-c', ctx.clientCpu, 'curl', '-s', '-o', dest, url], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  let onDisk = 0;
  while (onDisk < size / 2) {
    if (gone) throw new Error('curl finished before it could be killed');
    try {
      onDisk = statSync(dest).size;
    } catch {
      onDisk = 0;
    }
    await sleep(1);
  }
  child.kill('SIGKILL');
  await exited;
  const resumedFrom = statSync(dest).size;
  const r = await runTimed(['curl', '-s', '-f', '-C', '-', '-o', dest, url], ctx.clientCpu);
  return { bytesOnDiskAtKill: resumedFrom, resumedFrom, ttfbAfterRestartMs: Number.NaN, resumeWallMs: r.wallMs };
}

/** S5: kill -9 at 50 % and restart; bytes fetched again, measured at nginx and at the file. */
export const s5: Scenario = {
  id: 'S5',
  title: 'kill -9 at 50 % and restart',
  async run(ctx) {
    const ours = ctx.ours;
    const killAndResume = ours.killAndResume?.bind(ours);
    if (!killAndResume) return notAvailable('Not available yet: the adapter has no killAndResume capability.');
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const dest = join(ctx.ws.diskDest, 'big.bin');
    const item = { url, dest, size: file.size };
    const interval = ours.checkpointIntervalBytes;
    const notes = [
      `${file.size / MiB} MiB to disk, killed at 50 %. Server rework = body bytes nginx sent for the file − its size (socket buffers included). File rework = bytes in the file after the kill − offset resumed from (the checkpoint, or the bytes written past it in the same boot: docs/durability.md). Checkpoint interval ${interval / MiB} MiB.`,
      'curl -C - is context: it resumes from whatever reached its file, so its file rework is 0 by construction (and nothing was fsync’d).',
    ];
    const tools = [
      { tool: OURS, run: () => killAndResume(item, 0.5, ctx.clientCpu) },
      ...(ctx.has('curl') ? [{ tool: 'curl -C -', run: () => curlKillResume(ctx, url, dest, file.size) }] : []),
    ];
    const server = new Map<string, number[]>();
    const onFile = new Map<string, number[]>();
    const ttfb = new Map<string, number[]>();
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        rmSync(dest, { force: true });
        dropCaches();
        const offset = ctx.nginx.logOffset();
        const m = await t.run();
        await sleep(50); // let nginx log the aborted request
        const sent = ctx.nginx
          .entriesSince(offset)
          .filter((e) => e.uri === file.urlPath)
          .reduce((a, e) => a + e.bodyBytesSent, 0);
        push(server, t.tool, (sent - file.size) / MiB);
        push(onFile, t.tool, (m.bytesOnDiskAtKill - m.resumedFrom) / MiB);
        if (Number.isFinite(m.ttfbAfterRestartMs)) push(ttfb, t.tool, m.ttfbAfterRestartMs);
      },
      notes,
      ctx.log,
    );
    rmSync(dest, { force: true });
    const measurements = [
      ...[...server].map(([tool, s]) => measurement(tool, 'server rework', 'MiB', 'lower', s)),
      ...[...onFile].map(([tool, s]) => measurement(tool, 'file rework', 'MiB', 'lower', s)),
      ...[...ttfb].map(([tool, s]) => measurement(tool, 'first byte after restart', 'ms', 'lower', s)),
    ];
    const intervalMiB = interval / MiB;
    const ratios = [
      ratioRow(
        'ours server rework / checkpoint interval',
        medianOf(measurements, OURS, 'server rework') / intervalMiB,
        {
          op: '<=',
          value: 1,
        },
      ),
      ratioRow('ours file rework / checkpoint interval', medianOf(measurements, OURS, 'file rework') / intervalMiB, {
        op: '<=',
        value: 1,
      }),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
