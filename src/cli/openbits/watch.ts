import { type BitsManager, type JobInfo, systemClock } from '../bits-vocabulary.ts';
import { RateMeter } from '../human.ts';
import type { OpenbitsIo } from './io.ts';
import { jobLine } from './job-line.ts';

const DONE = new Set(['TRANSFERRED', 'ERROR', 'ACKNOWLEDGED', 'CANCELLED']);

/**
 * `openbits watch [JOB…]`: one line per job, redrawn in place on a terminal (printed when it
 * changes on a pipe), refreshed on every event and at least once a second. Ends on Ctrl-C, or
 * when every named job is transferred, in error or gone.
 */
export async function watchJobs(
  io: OpenbitsIo,
  manager: BitsManager,
  ids: readonly string[],
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
): Promise<number> {
  const meters = new Map<string, RateMeter>();
  const now = io.now ?? systemClock.monotonicMs;
  const stop = new AbortController();
  const signal = io.signal === undefined ? stop.signal : AbortSignal.any([io.signal, stop.signal]);
  let poke: (() => void) | undefined;
  const off = manager.subscribe(() => poke?.());
  let drawn = 0;
  const printed = new Map<string, string>();
  try {
    while (!signal.aborted) {
      let jobs: JobInfo[];
      if (ids.length === 0) jobs = await manager.enumJobs();
      else {
        jobs = [];
        for (const id of ids) {
          const job = await manager.getJob(id).catch(() => undefined);
          if (job !== undefined) jobs.push(job);
        }
      }
      const lines = jobs.map((j) => {
        const meter = meters.get(j.id) ?? new RateMeter();
        meters.set(j.id, meter);
        meter.sample(now(), j.progress.bytesTransferred);
        return { id: j.id, text: jobLine(j, meter) };
      });
      if (io.isTTY) {
        const width = io.columns ?? 120;
        const up = drawn > 0 ? `\x1b[${drawn}F` : '';
        const body = lines.map((l) => `\x1b[2K${l.text.slice(0, width - 1)}\n`).join('');
        const cleared = drawn > lines.length ? '\x1b[2K\n'.repeat(drawn - lines.length) : '';
        io.stdout.write(`${up}${body}${cleared}`);
        drawn = Math.max(lines.length, drawn);
      } else {
        for (const l of lines) {
          if (printed.get(l.id) === l.text) continue;
          printed.set(l.id, l.text);
          io.stdout.write(`${l.text}\n`);
        }
      }
      if (ids.length > 0 && jobs.every((j) => DONE.has(j.state))) return 0;
      await Promise.race([
        sleep(1000, signal),
        new Promise<void>((resolve) => {
          poke = resolve;
        }),
      ]);
      poke = undefined;
    }
    return 0;
  } finally {
    off();
    stop.abort();
  }
}
