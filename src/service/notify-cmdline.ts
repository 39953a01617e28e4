import { basename } from 'node:path';
import { type Clock, type Job, NotifyFlag, type TimerHandle } from '../core/index.ts';
import type { OwnerIo } from './owner-io.ts';

type NotifyEvent = 'TRANSFERRED' | 'ERROR';

/**
 * The notify command line (SetNotifyCmdLine, bits-client.md §5.3): the program runs for
 * TRANSFERRED and ERROR only, as the job's owner, never through a shell; a non-zero exit runs it
 * again after MinimumRetryDelay while the job is still in that state (not completed or
 * cancelled). Parameters are split like a command line; a first word naming the program is
 * argv[0], as in BITS, and is not passed again.
 */
export class NotifyCommandRunner {
  readonly #clock: Clock;
  readonly #getJob: (id: string) => Job | undefined;
  readonly #io: OwnerIo;
  readonly #busy = new Map<string, { event: NotifyEvent; timer: TimerHandle | null }>();
  #stopped = false;

  constructor(options: { clock: Clock; getJob: (id: string) => Job | undefined; io: OwnerIo }) {
    this.#clock = options.clock;
    this.#getJob = options.getJob;
    this.#io = options.io;
  }

  /** The job just entered `event`'s state. */
  fire(jobId: string, event: NotifyEvent): void {
    const job = this.#getJob(jobId);
    if (job === undefined || !wants(job, event)) return;
    const busy = this.#busy.get(jobId);
    if (busy !== undefined) {
      if (busy.event === event) return;
      busy.timer?.cancel();
    }
    this.#busy.set(jobId, { event, timer: null });
    this.#run(job, event);
  }

  /** The command line or flags changed: it runs even if set after the event occurred. */
  fireIfDue(jobId: string): void {
    const job = this.#getJob(jobId);
    if (job?.state === 'TRANSFERRED' || job?.state === 'ERROR') this.fire(jobId, job.state);
  }

  forget(jobId: string): void {
    this.#busy.get(jobId)?.timer?.cancel();
    this.#busy.delete(jobId);
  }

  stop(): void {
    this.#stopped = true;
    for (const b of this.#busy.values()) b.timer?.cancel();
    this.#busy.clear();
  }

  #run(job: Job, event: NotifyEvent): void {
    const cmd = job.notifyCmdLine;
    if (cmd === null || this.#stopped) return;
    const words = splitCommandLine(cmd.parameters ?? '');
    const first = words[0];
    const args =
      first !== undefined && (first === cmd.program || first === basename(cmd.program)) ? words.slice(1) : words;
    const retry = (): void => {
      const entry = this.#busy.get(job.id);
      if (entry === undefined || this.#stopped) return;
      entry.timer = this.#clock.setTimer(job.minimumRetryDelay * 1000, () => {
        entry.timer = null;
        const current = this.#getJob(job.id);
        if (current?.state === event && wants(current, event)) this.#run(current, event);
        else this.#busy.delete(job.id);
      });
    };
    // As the owner: in this process (the per-user daemon), or by the owner's worker.
    this.#io.runCommand(job.owner, cmd.program, args, { BITS_JOB_ID: job.id, BITS_JOB_STATE: event }).then((code) => {
      if (code === 0) this.#busy.delete(job.id);
      else retry();
    }, retry);
  }
}

function wants(job: Job, event: NotifyEvent): boolean {
  if (job.notifyCmdLine === null || (job.notifyFlags & NotifyFlag.DISABLE) !== 0) return false;
  const flag = event === 'TRANSFERRED' ? NotifyFlag.JOB_TRANSFERRED : NotifyFlag.JOB_ERROR;
  return (job.notifyFlags & flag) !== 0;
}

/** Split a command line into words: whitespace separates, "double" and 'single' quotes group. */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of text) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/u.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
