/**
 * The client half of the openbits adapter, run in its own pinned process under GNU time:
 * connects to a running bitsd through `connect()` (src/client), creates the job(s) of a spec,
 * resumes them together, waits for each job's TRANSFERRED event and calls Complete, then prints
 * one JSON report. Timing starts just before the first createJob (the Node start-up of this process is not
 * counted, as a long-lived application calling the API would not pay it per transfer).
 *
 * `node bench/adapters/openbits-client.ts <spec.json>`
 */
import { readFileSync } from 'node:fs';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { connect } from '../../src/client/connect.ts';
import type { FileDigest, PieceDigests } from '../../src/core/job.ts';
import type { JobPriority, JobType } from '../../src/core/job-state.ts';

/** What to transfer. */
export interface OpenbitsClientSpec {
  readonly socketPath: string;
  readonly items: ReadonlyArray<{
    readonly url: string;
    readonly dest: string;
    readonly mirrors?: readonly string[];
    readonly digests?: readonly FileDigest[];
    readonly pieces?: PieceDigests;
  }>;
  /** Connections per file (1: front to back). */
  readonly maxConnections?: number;
  /** `one-job`: one job with every item; `concurrent-jobs`: one job per item, all resumed at once. */
  readonly mode: 'one-job' | 'concurrent-jobs';
  readonly type: JobType;
  readonly priority: JobPriority;
}

/** The JSON line the client prints. */
export interface OpenbitsClientReport {
  /** createJob of the first job → the last Complete returned. */
  readonly wallMs: number;
  /**
   * From the moment every job was resumed (together, after all were set up) to each item's end:
   * one-job, the file's TRANSFERRED event (the job's Complete for the last); else its job's Complete.
   */
  readonly perItemMs: number[];
  /** CPU of this process inside the timed window, ms. */
  readonly clientCpuMs: number;
  /** file:source-dropped events, as `url: reason`. */
  readonly dropped: string[];
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as OpenbitsClientSpec;
  const client = connect({ socketPath: spec.socketPath, autoStart: false, timeoutMs: 600_000 });
  await client.status(); // connect (and warm the connection) outside the timed window

  const groups = spec.mode === 'one-job' ? [spec.items] : spec.items.map((i) => [i]);
  const perItemMs = new Array<number>(spec.items.length).fill(Number.NaN);
  const firstIndex = new Map<string, number>(); // job id → index of its first item
  const waiting = new Map<string, () => void>();
  const failures: string[] = [];
  const dropped: string[] = [];
  let started = 0;

  const onEvent = (event: ManagerEvent) => {
    const base = firstIndex.get(event.jobId);
    if (base === undefined) return;
    if (event.type === 'file:source-dropped') dropped.push(`${event.url}: ${event.reason}`);
    else if (event.type === 'file:transferred') perItemMs[base + event.fileIndex] = performance.now() - started;
    else if (event.type === 'job:transferred') waiting.get(event.jobId)?.();
    else if (event.type === 'job:state' && event.state === 'TRANSIENT_ERROR') {
      // A retry would wait MinimumRetryDelay (10 min): a bench run fails instead.
      failures.push(`${event.jobId}: TRANSIENT_ERROR`);
      waiting.get(event.jobId)?.();
    } else if (event.type === 'job:error') {
      failures.push(`${event.jobId}: ${JSON.stringify(event.error)}`);
      waiting.get(event.jobId)?.();
    }
  };
  const unsubscribe = client.subscribe(onEvent);
  await unsubscribe.ready;

  const cpu0 = process.cpuUsage();
  started = performance.now();
  // Every job is created (suspended) with its files first, then all are resumed together: with
  // one job per item (S4) none starts moving bytes while the others are still being set up, and
  // each item is timed from that common start (the wall still counts the set-up).
  const jobs: Array<{ id: string; base: number; size: number; transferred: Promise<void> }> = [];
  let offset = 0;
  for (const group of groups) {
    const job = await client.createJob('bench', spec.type);
    const base = offset;
    offset += group.length;
    firstIndex.set(job.id, base);
    if (spec.priority !== 'NORMAL') await client.setPriority(job.id, spec.priority);
    if ((spec.maxConnections ?? 1) > 1) await client.setMaxConnections(job.id, spec.maxConnections ?? 1);
    await client.addFileSet(
      job.id,
      group.map((i) => ({
        remoteName: i.url,
        localName: i.dest,
        ...(i.mirrors === undefined ? {} : { mirrors: i.mirrors }),
        ...(i.digests === undefined ? {} : { digests: i.digests }),
        ...(i.pieces === undefined ? {} : { pieces: i.pieces }),
      })),
    );
    jobs.push({ id: job.id, base, size: group.length, transferred: new Promise((r) => waiting.set(job.id, r)) });
  }
  const resumedAt = performance.now() - started;
  await Promise.all(jobs.map((j) => client.resume(j.id)));
  const done = jobs.map(({ id, base, size, transferred }) =>
    transferred.then(async () => {
      if (failures.length > 0) return;
      await client.complete(id);
      const at = performance.now() - started;
      // The last item of a job is published by Complete; earlier ones by their TRANSFERRED event.
      perItemMs[base + size - 1] = at;
      for (let i = base; i < base + size; i++) if (Number.isNaN(perItemMs[i])) perItemMs[i] = at;
    }),
  );
  await Promise.all(done);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  unsubscribe();
  await client.close();
  if (failures.length > 0) throw new Error(`job error: ${failures.join('; ')}`);
  const report: OpenbitsClientReport = {
    wallMs,
    perItemMs: perItemMs.map((ms) => ms - resumedAt),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    dropped,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
