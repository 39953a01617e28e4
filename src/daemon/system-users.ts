import { execFileSync } from 'node:child_process';
import type { Clock } from '../core/clock.ts';

/** A local account, as the name service (NSS: /etc/passwd, LDAP, …) has it. */
export interface Account {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly home: string;
}

/** How long an answer of the name service is reused (group changes take effect within this). */
const CACHE_MS = 30_000;

/** `getent`'s answer, or undefined when the key is unknown (exit 2) or getent is missing. */
function getent(database: 'passwd' | 'group', key: string): string | undefined {
  try {
    return execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/**
 * Accounts and administrators for the system daemon, through getent and id (the name service,
 * so LDAP and sssd users count too). Root is always an administrator; so are the members of
 * `adminGroup`, when one is configured.
 */
export class SystemUsers {
  readonly #clock: Clock;
  readonly #adminGroup: string | null;
  readonly #accounts = new Map<number, { at: number; account: Account | undefined }>();
  readonly #admins = new Map<number, { at: number; admin: boolean }>();
  readonly #groups = new Map<number, { at: number; groups: readonly string[] }>();

  constructor(options: { clock: Clock; adminGroup: string | null }) {
    this.#clock = options.clock;
    this.#adminGroup = options.adminGroup;
  }

  /** The account with this uid, or undefined when there is none. */
  account(uid: number): Account | undefined {
    const now = this.#clock.monotonicMs();
    const cached = this.#accounts.get(uid);
    if (cached !== undefined && now - cached.at < CACHE_MS) return cached.account;
    const line = getent('passwd', String(uid))?.split('\n')[0];
    const f = line?.split(':');
    const account =
      f === undefined || f.length < 7 || Number(f[2]) !== uid
        ? undefined
        : { uid, gid: Number(f[3]), name: f[0] as string, home: f[5] as string };
    this.#accounts.set(uid, { at: now, account });
    return account;
  }

  /** The account with this name (not cached: read once, at start). */
  named(name: string): Account | undefined {
    const f = getent('passwd', name)?.split('\n')[0]?.split(':');
    if (f === undefined || f.length < 7 || f[0] !== name) return undefined;
    return { uid: Number(f[2]), gid: Number(f[3]), name, home: f[5] as string };
  }

  /** Names of the groups of a uid (primary and supplementary), as `id -Gn` says. */
  groupNames(uid: number): readonly string[] {
    const now = this.#clock.monotonicMs();
    const cached = this.#groups.get(uid);
    if (cached !== undefined && now - cached.at < CACHE_MS) return cached.groups;
    const account = this.account(uid);
    let groups: string[] = [];
    if (account !== undefined) {
      try {
        groups = execFileSync('id', ['-Gn', '--', account.name], { encoding: 'utf8' }).trim().split(/\s+/u);
      } catch {
        groups = [];
      }
    }
    this.#groups.set(uid, { at: now, groups });
    return groups;
  }

  /** Whether a uid is one of `entries`: its uid, its user name, or `@group` of one of its groups. */
  isListed(uid: number, entries: readonly string[]): boolean {
    if (entries.includes(String(uid))) return true;
    const name = this.account(uid)?.name;
    if (name !== undefined && entries.includes(name)) return true;
    if (!entries.some((e) => e.startsWith('@'))) return false;
    return this.groupNames(uid).some((g) => entries.includes(`@${g}`));
  }

  /** Root, or a member of the admin group (primary or supplementary). */
  isAdmin(uid: number): boolean {
    if (uid === 0) return true;
    if (this.#adminGroup === null) return false;
    const now = this.#clock.monotonicMs();
    const cached = this.#admins.get(uid);
    if (cached !== undefined && now - cached.at < CACHE_MS) return cached.admin;
    const account = this.account(uid);
    let admin = false;
    if (account !== undefined) {
      const groupLine = getent('group', this.#adminGroup)?.split('\n')[0];
      const gid = groupLine === undefined ? Number.NaN : Number(groupLine.split(':')[2]);
      try {
        const ids = execFileSync('id', ['-G', '--', account.name], { encoding: 'utf8' }).trim().split(/\s+/u);
        admin = Number.isInteger(gid) && ids.map(Number).includes(gid);
      } catch {
        admin = false;
      }
    }
    this.#admins.set(uid, { at: now, admin });
    return admin;
  }
}
