/**
 * Whether a job's owner is "logged on" (bits-client.md §2.2: jobs transfer only while their
 * owner is, unless the owner is a service account). The per-user daemon's owner always is; the
 * system daemon asks logind or the process table (src/daemon/owner-sessions.ts).
 */
export interface OwnerPresence {
  /** The owner (a uid as text) may transfer now. */
  isPresent(owner: string): boolean;
  /** Called with an owner whose presence changed. */
  onChange(listener: (owner: string, present: boolean) => void): void;
  close(): void;
}

/** Every owner is present: the per-user daemon and the library. */
export const ALWAYS_PRESENT: OwnerPresence = {
  isPresent: () => true,
  onChange: () => undefined,
  close: () => undefined,
};
