/**
 * The stand-in downloader process (NOT openbits): `node standin-client.ts SPEC.json`.
 * undici stream() into BufferedFileSink, fdatasync checkpoints every 4 MiB recorded in a
 * checkpoint file, a durable end per file. Prints one JSON line: StandInReport.
 */
import { open, readFile } from 'node:fs/promises';
import { Agent, stream } from 'undici';
import { BufferedFileSink } from './standin-sink.ts';

/** What the adapter asks the stand-in to do. */
export interface StandInSpec {
  readonly items: ReadonlyArray<{ readonly url: string; readonly dest: string; readonly size: number }>;
  readonly mode: 'one-job' | 'concurrent-jobs';
  readonly bufferBytes: number;
  readonly checkpointBytes: number;
  readonly maxBandwidth: number;
  /** One checkpoint file per job: `${stateDir}/job-N.ckpt`, holding "fileIndex offset". */
  readonly stateDir: string;
  /** Resume each job from its checkpoint file instead of starting over. */
  readonly resume: boolean;
}

/** The stand-in's output line. */
export interface StandInReport {
  /** Per item, ms from the start of main() to its last byte being durable. */
  readonly perItemMs: number[];
  /** ms from process start to the first body byte. */
  readonly ttfbMs: number;
  readonly cpuMs: number;
  readonly peakRssKiB: number;
}

const started = performance.now();
let firstByteAt = Number.NaN;

async function readCheckpoint(path: string): Promise<{ index: number; offset: number }> {
  try {
    const [index = '0', offset = '0'] = (await readFile(path, 'utf8')).trim().split(' ');
    return { index: Number(index), offset: Number(offset) };
  } catch {
    return { index: 0, offset: 0 };
  }
}

async function runJob(spec: StandInSpec, jobIndex: number, itemIndexes: number[], agent: Agent, perItemMs: number[]) {
  const ckptPath = `${spec.stateDir}/job-${jobIndex}.ckpt`;
  const from = spec.resume ? await readCheckpoint(ckptPath) : { index: 0, offset: 0 };
  const ckpt = await open(ckptPath, spec.resume ? 'r+' : 'w', 0o600);
  try {
    for (let k = from.index; k < itemIndexes.length; k++) {
      const i = itemIndexes[k] as number;
      const item = spec.items[i];
      if (!item) throw new Error(`no item ${i}`);
      const offset = k === from.index ? from.offset : 0;
      if (offset >= item.size) continue; // finished before the restart
      const record = async (end: number) => {
        const line = Buffer.from(`${k} ${end}`.padEnd(40, ' '));
        await ckpt.write(line, 0, line.length, 0);
        await ckpt.datasync();
      };
      const handle = await open(item.dest, offset > 0 ? 'r+' : 'w', 0o644);
      try {
        if (offset > 0) await handle.truncate(offset); // bytes past the checkpoint are not trusted
        const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
        await stream(item.url, { method: 'GET', dispatcher: agent, headers }, ({ statusCode }) => {
          if (statusCode !== (offset > 0 ? 206 : 200)) throw new Error(`${item.url}: HTTP ${statusCode}`);
          return new BufferedFileSink(handle, offset, {
            bufferBytes: spec.bufferBytes,
            checkpointBytes: spec.checkpointBytes,
            maxBandwidth: spec.maxBandwidth,
            record,
            onFirstByte: () => {
              if (Number.isNaN(firstByteAt)) firstByteAt = performance.now();
            },
          });
        });
      } finally {
        await handle.close();
      }
      perItemMs[i] = performance.now() - started;
    }
  } finally {
    await ckpt.close();
  }
}

async function main(): Promise<void> {
  const specPath = process.argv[2];
  if (!specPath) throw new Error('usage: standin-client.ts SPEC.json');
  const spec = JSON.parse(await readFile(specPath, 'utf8')) as StandInSpec;
  const concurrent = spec.mode === 'concurrent-jobs';
  const agent = new Agent({ connections: concurrent ? spec.items.length : 1 });
  const perItemMs: number[] = spec.items.map(() => Number.NaN);
  const jobs = concurrent ? spec.items.map((_, i) => [i]) : [spec.items.map((_, i) => i)];
  await Promise.all(jobs.map((indexes, j) => runJob(spec, j, indexes, agent, perItemMs)));
  await agent.close();
  const usage = process.cpuUsage();
  const status = await readFile('/proc/self/status', 'utf8');
  const report: StandInReport = {
    perItemMs,
    ttfbMs: firstByteAt, // performance.now() counts from process start, so this includes start-up
    cpuMs: (usage.user + usage.system) / 1000,
    peakRssKiB: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`standin-client: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
