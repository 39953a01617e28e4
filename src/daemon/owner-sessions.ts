import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { BitsError } from '../core/bits-error.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { OwnerPresence } from '../service/owner-presence.ts';

/** How owner sessions are watched (`bitsd --system --sessions=…`). */
export type SessionMode = 'auto' | 'logind' | 'processes' | 'none';

export interface OwnerSessionsOptions {
  readonly clock: Clock;
  readonly mode: SessionMode;
  /** logind's per-user files (default /run/systemd/users; OPENBITS_SESSIONS_DIR in tests). */
  readonly logindDir?: string;
  /** Processes that do not make their user present (bitsd itself and its workers). */
  readonly ignorePids?: () => readonly number[];
  /** Uids below this are service accounts, always present (default: UID_MIN of /etc/login.defs, else 1000). */
  readonly uidMin?: number;
  /** How often the sessions are looked at (default 2 s). */
  readonly pollMs?: number;
  /** Names and groups of accounts (policy lists name users and `@group`s; default: uids only). */
  readonly isListed?: (uid: number, entries: readonly string[]) => boolean;
}

/** UID_MIN of /etc/login.defs: the first uid of a person rather than a service. */
export function loginDefsUidMin(path = '/etc/login.defs'): number {
  try {
    const m = /^\s*UID_MIN\s+(\d+)/mu.exec(readFileSync(path, 'utf8'));
    if (m !== null) return Number(m[1]);
  } catch {
    // no login.defs: the Debian and Fedora default
  }
  return 1000;
}

/** Uids with a session in logind's folder (one file per user, named by the uid). */
function logindUids(dir: string): Set<number> {
  try {
    return new Set(
      readdirSync(dir)
        .filter((n) => /^\d+$/u.test(n))
        .map(Number),
    );
  } catch {
    return new Set();
  }
}

/** Uids that own a process (real uid), leaving out `ignore`. */
function processUids(ignore: ReadonlySet<number>): Set<number> {
  const uids = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/u.test(name) || ignore.has(Number(name))) continue;
    try {
      const m = /^Uid:\s+(\d+)/mu.exec(readFileSync(`/proc/${name}/status`, 'utf8'));
      if (m !== null) uids.add(Number(m[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  return uids;
}

/**
 * Who is logged on, for the system daemon (bits-client.md §2.2 rule 6: jobs transfer only
 * while their owner is logged on; service accounts always are). With systemd (`auto` on a
 * machine booted with it): logind's `/run/systemd/users/<uid>` files, which exist while the
 * user has a session (lingering users included, as logind counts them). Without logind: a user
 * with any process (other than bitsd's workers) counts as logged on. `none`: everybody is.
 * Looked at every 2 s; a change is reported once.
 */
export class OwnerSessions implements OwnerPresence {
  readonly #o: OwnerSessionsOptions;
  readonly #mode: Exclude<SessionMode, 'auto'>;
  readonly #uidMin: number;
  readonly #listeners: Array<(owner: string, present: boolean) => void> = [];
  #present: Set<number>;
  #timer: TimerHandle | null = null;

  constructor(options: OwnerSessionsOptions) {
    this.#o = options;
    const logindDir = options.logindDir ?? '/run/systemd/users';
    // sd_booted(): systemd runs the machine, so logind keeps the users' files.
    this.#mode = options.mode === 'auto' ? (existsSync('/run/systemd/system') ? 'logind' : 'processes') : options.mode;
    if (this.#mode === 'logind' && !existsSync(logindDir)) {
      throw new BitsError(
        'E_INVALIDARG',
        `--sessions=logind: ${logindDir} does not exist (is systemd-logind running?)`,
      );
    }
    this.#uidMin = options.uidMin ?? loginDefsUidMin();
    this.#present = this.#scan();
    if (this.#mode !== 'none') this.#arm();
  }

  /** What decides (for the log). */
  get mode(): string {
    return this.#mode;
  }

  isPresent(owner: string): boolean {
    if (this.#mode === 'none' || !/^\d+$/u.test(owner)) return true;
    const uid = Number(owner);
    return uid < this.#uidMin || this.#present.has(uid);
  }

  isListed(owner: string, entries: readonly string[]): boolean {
    if (entries.includes(owner)) return true;
    return /^\d+$/u.test(owner) && (this.#o.isListed?.(Number(owner), entries) ?? false);
  }

  onChange(listener: (owner: string, present: boolean) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #scan(): Set<number> {
    if (this.#mode === 'logind') return logindUids(this.#o.logindDir ?? '/run/systemd/users');
    if (this.#mode === 'processes') return processUids(new Set([process.pid, ...(this.#o.ignorePids?.() ?? [])]));
    return new Set();
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimer(this.#o.pollMs ?? 2_000, () => {
      const now = this.#scan();
      const before = this.#present;
      this.#present = now;
      for (const uid of new Set([...before, ...now])) {
        if (before.has(uid) === now.has(uid) || uid < this.#uidMin) continue;
        for (const l of this.#listeners) l(String(uid), now.has(uid));
      }
      this.#arm();
    });
  }
}
