/**
 * How many jobs the queue holds (every job not CANCELLED or ACKNOWLEDGED), in all and per
 * owner, for createJob's quota check: counted once with SQL, then kept — +1 for each job this
 * connection creates, −1 for each job it takes out of the queue (CANCELLED, ACKNOWLEDGED) — so
 * queueing the 10,000th job does not scan the 9,999 before it, nor does the create after a
 * cancel. A change that gives a job another owner drops them (`clear`), and so does a commit by
 * another connection (`PRAGMA data_version`); the next check counts again.
 */
export class QueueCounts {
  #total: number | undefined;
  readonly #byOwner = new Map<string, number>();
  #dataVersion: unknown;

  /** Inside the write transaction: the counts the quota check needs. */
  get(
    dataVersion: unknown,
    owner: string,
    count: { all: () => number; owner: (owner: string) => number },
  ): { machine: number; owner: number } {
    if (dataVersion !== this.#dataVersion) {
      this.clear();
      this.#dataVersion = dataVersion;
    }
    this.#total ??= count.all();
    let mine = this.#byOwner.get(owner);
    if (mine === undefined) {
      mine = count.owner(owner);
      this.#byOwner.set(owner, mine);
    }
    return { machine: this.#total, owner: mine };
  }

  /** A job of `owner` was created (its commit succeeded). */
  added(owner: string): void {
    if (this.#total !== undefined) this.#total++;
    const mine = this.#byOwner.get(owner);
    if (mine !== undefined) this.#byOwner.set(owner, mine + 1);
  }

  /** A job of `owner` left the queue (its commit succeeded). */
  left(owner: string): void {
    if (this.#total !== undefined) this.#total--;
    const mine = this.#byOwner.get(owner);
    if (mine !== undefined) this.#byOwner.set(owner, mine - 1);
  }

  clear(): void {
    this.#total = undefined;
    this.#byOwner.clear();
  }
}
