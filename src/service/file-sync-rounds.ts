import type { FileChange } from '../store/job-store.ts';

/** Finished files whose last fdatasync is pending or running at once (each holds its handle open). */
export const MAX_PENDING = 32;

/** A file waiting for its last fdatasync, and the change recording it transferred. */
interface Finished {
  readonly fileIndex: number;
  readonly sync: () => Promise<void>;
  readonly finish: () => FileChange;
}

/**
 * The last fdatasync of finished files, off the download path and in rounds (group commit):
 * the next file's request starts while the kernel writes the previous ones out. A round syncs
 * every file that finished while the previous round ran — in parallel on the thread pool, where
 * they share the file system's journal commits — and then records all of them transferred in
 * one store commit (`record`), in the order they were added (as BITS sends FileTransferred). The
 * checkpoint rule holds: no file is recorded before its own sync succeeded. A failed sync (or
 * record) is kept as `fail(fileIndex, err)`; the others of the round are still recorded.
 */
export class FileSyncRounds {
  #waiting: Finished[] = [];
  #pending = 0;
  #round: Promise<void> | null = null;
  /** Resolves when the running round ends (add() waits on it when too many are pending). */
  #roundEnded: PromiseWithResolvers<void> = Promise.withResolvers();
  readonly #record: (changes: FileChange[]) => void;
  readonly #fail: (fileIndex: number, err: unknown) => void;

  constructor(record: (changes: FileChange[]) => void, fail: (fileIndex: number, err: unknown) => void) {
    this.#record = record;
    this.#fail = fail;
  }

  /** Queue file `fileIndex`'s last sync; waits while too many are pending. */
  async add(fileIndex: number, sync: () => Promise<void>, finish: () => FileChange): Promise<void> {
    while (this.#pending >= MAX_PENDING) await this.#roundEnded.promise;
    this.#waiting.push({ fileIndex, sync, finish });
    this.#pending++;
    this.#round ??= this.#rounds();
  }

  /** Waits until every queued file was synced and recorded (or failed). */
  async settle(): Promise<void> {
    while (this.#round !== null) await this.#round;
  }

  async #rounds(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting;
      this.#waiting = [];
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
      this.#roundEnded.resolve();
      this.#roundEnded = Promise.withResolvers();
    }
    this.#round = null;
  }
}
