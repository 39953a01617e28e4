/**
 * Whether a job's owner is "logged on" (bits-client.md §2.2: jobs transfer only while their
 * owner is, unless the owner is a service account). The per-user daemon's owner always is; the
 * system daemon asks logind or the process table (src/daemon/owner-sessions.ts).
 */
export interface OwnerPresence {
  /** The owner (a uid as text) may transfer now. */
  isPresent(owner: string): boolean;
  /**
   * The owner is one of these accounts: user names, uids, `@group` (policy
   * `logoff.keepBackgroundJobs`); names and groups need the name service.
   */
  isListed(owner: string, entries: readonly string[]): boolean;
  /** Called with an owner whose presence changed. */
  onChange(listener: (owner: string, present: boolean) => void): void;
  close(): void;
}

/** Every owner is present: the per-user daemon and the library. Lists match by uid only. */
export const ALWAYS_PRESENT: OwnerPresence = {
  isPresent: () => true,
  isListed: (owner, entries) => entries.includes(owner),
  onChange: () => undefined,
  close: () => undefined,
};
