import type { Clock, TimerHandle } from '../core/index.ts';
import type { FileChange } from '../store/job-store.ts';

/** Finished files whose last fdatasync is pending or running at once (each holds its handle open). */
export const MAX_PENDING = 32;
/**
 * Files a killed run can have left unrecorded: MAX_PENDING waiting for their round, one waiting
 * to hand its sync over, and the next one, whose download starts beside it (download-runner.ts).
 */
export const MAX_UNRECORDED = MAX_PENDING + 2;
/** A round starts once this many files wait… */
const ROUND_FILES = 16;
/** …or this long after the first of them finished (a FileTransferred is never held up longer). */
const ROUND_WAIT_MS = 25;

/** A file waiting for its last fdatasync, and the change recording it transferred. */
interface Finished {
  readonly fileIndex: number;
  readonly sync: () => Promise<void>;
  readonly finish: () => FileChange;
}

/**
 * The last fdatasync of finished files, off the download path and in rounds (group commit):
 * the next file's request starts while the kernel writes the previous ones out. A round gathers
 * the files that finished — 16 of them, or those of the last 25 ms, or all at the end of the
 * run — syncs them in parallel on the thread pool, where they share the file system's journal
 * commits, and then records all of them transferred in one store commit (`record`), in the order
 * they were added (as BITS sends FileTransferred). The checkpoint rule holds: no file is recorded
 * before its own sync succeeded. A failed sync (or record) is kept as `fail(fileIndex, err)`; the
 * others of the round are still recorded.
 */
export class FileSyncRounds {
  #waiting: Finished[] = [];
  /** When the first of #waiting finished (monotonic ms). */
  #waitingSince = 0;
  #pending = 0;
  #round: Promise<void> | null = null;
  #timer: TimerHandle | null = null;
  /** Resolves when the running round ends (add() waits on it when too many are pending). */
  #roundEnded: PromiseWithResolvers<void> = Promise.withResolvers();
  readonly #clock: Clock;
  readonly #record: (changes: FileChange[]) => void;
  readonly #fail: (fileIndex: number, err: unknown) => void;

  constructor(clock: Clock, record: (changes: FileChange[]) => void, fail: (fileIndex: number, err: unknown) => void) {
    this.#clock = clock;
    this.#record = record;
    this.#fail = fail;
  }

  /** Queue file `fileIndex`'s last sync; waits while too many are pending. */
  async add(fileIndex: number, sync: () => Promise<void>, finish: () => FileChange): Promise<void> {
    while (this.#pending >= MAX_PENDING) await this.#roundEnded.promise;
    if (this.#waiting.length === 0) this.#waitingSince = this.#clock.monotonicMs();
    this.#waiting.push({ fileIndex, sync, finish });
    this.#pending++;
    this.#startWhenDue(false);
  }

  /** Syncs and records every queued file now; resolves once all of them are recorded (or failed). */
  async settle(): Promise<void> {
    while (this.#round !== null || this.#waiting.length > 0) {
      this.#startWhenDue(true);
      await this.#round;
    }
  }

  /** Start a round if none runs and one is due (`now`: whatever waits); else arm the timer. */
  #startWhenDue(now: boolean): void {
    if (this.#round !== null || this.#waiting.length === 0) return;
    const waited = this.#clock.monotonicMs() - this.#waitingSince;
    if (now || this.#waiting.length >= ROUND_FILES || waited >= ROUND_WAIT_MS) {
      this.#timer?.cancel();
      this.#timer = null;
      this.#round = this.#run(this.#waiting);
      this.#waiting = [];
      return;
    }
    this.#timer ??= this.#clock.setTimer(ROUND_WAIT_MS - waited, () => {
      this.#timer = null;
      this.#startWhenDue(true);
    });
  }

  async #run(batch: Finished[]): Promise<void> {
    const results = await Promise.allSettled(batch.map((f) => f.sync()));
    const changes: FileChange[] = [];
    for (const [i, f] of batch.entries()) {
      const result = results[i] as PromiseSettledResult<void>;
      if (result.status === 'fulfilled') changes.push(f.finish());
      else this.#fail(f.fileIndex, result.reason);
    }
    try {
      if (changes.length > 0) this.#record(changes);
    } catch (err) {
      for (const c of changes) this.#fail(c.index, err);
    }
    this.#pending -= batch.length;
    this.#round = null;
    this.#roundEnded.resolve();
    this.#roundEnded = Promise.withResolvers();
    this.#startWhenDue(false);
  }
}
