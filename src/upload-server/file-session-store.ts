/**
 * The single-host session store (the default): each session's record is JSON in a two-slot
 * file, `Requests/<id>/state.slots`, beside its data (record-slots.ts: a save overwrites the older
 * slot and fdatasyncs, a torn save falls back to the previous one), so sessions survive a
 * restart, a crash or a power loss (checklist item 15). Sessions written by earlier versions as
 * `state.json` are read and move to the slots at their next save. Locks are in-process.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../core/clock.ts';
import { formatSessionId } from '../core/upload-protocol.ts';
import { readSlots, type SlotState, writeSlots } from './record-slots.ts';
import type { SessionFiles } from './session-files.ts';
import {
  type ExpiryPolicy,
  isExpired,
  type NewSession,
  newRecord,
  overCap,
  ownerLimits,
  type Room,
  type SessionCaps,
  type SessionOwner,
  type SessionRecord,
} from './session-record.ts';
import { type Created, type SessionStore, type SessionTx, tooManySessions } from './session-store.ts';

/** On-disk form: version 2 added `address` (a version-1 record loads with an empty one). */
interface StoredRecord extends Omit<SessionRecord, 'address'> {
  readonly version: 1 | 2;
  readonly address?: string;
}

export class FileSessionStore implements SessionStore {
  readonly #files: SessionFiles;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Ids whose data exists but whose record is still being written (not orphans). */
  readonly #pending = new Set<string>();
  /** Where each session's next save goes; absent for a session still in a legacy state.json. */
  readonly #slots = new Map<string, SlotState>();
  #admitting: Promise<unknown> = Promise.resolve();

  constructor(files: SessionFiles) {
    this.#files = files;
  }

  #stateFile(id: string): string {
    return path.join(this.#files.requestDir(id), 'state.slots');
  }

  /** The record as versions before the slots kept it (read once, removed at the next save). */
  #legacyFile(id: string): string {
    return path.join(this.#files.requestDir(id), 'state.json');
  }

  /**
   * The stored record of `id` (slots first, else a legacy state.json); undefined only when it was
   * never recorded: no slots file or no intact slot, and no state.json. Any other failure (EIO,
   * EMFILE, EACCES, a damaged state.json) rejects, naming the session: its acknowledged bytes
   * must not be taken for a crash inside Create-Session and deleted.
   */
  async #load(id: string): Promise<StoredRecord | undefined> {
    try {
      const slots = await readSlots(this.#stateFile(id));
      if (slots !== undefined) {
        this.#slots.set(id, slots.state);
        return JSON.parse(slots.payload.toString('utf8'));
      }
      return JSON.parse(await fs.readFile(this.#legacyFile(id), 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new Error(
        `session ${id}: its record cannot be read (${code ?? String(err)}); its data is kept in ` +
          `${this.#files.requestDir(id)} — make the record readable (or remove that folder) and start again`,
        { cause: err },
      );
    }
  }

  /**
   * Load every session. Bytes past a session's recorded offset were written but never
   * acknowledged, so they are cut off rather than trusted (a crash between write and fsync).
   * A record that exists but cannot be read fails the start (the server does not run without a
   * session it acknowledged bytes of; a transient EIO or EMFILE passes at the next start).
   */
  async open(): Promise<void> {
    await this.#files.open();
    for (const { id } of await this.#files.list()) {
      const stored = await this.#load(id);
      if (stored === undefined) {
        // Created but never recorded (crash inside Create-Session): never acknowledged, drop it.
        await this.#files.remove(id);
        continue;
      }
      if ((stored.version !== 1 && stored.version !== 2) || stored.id !== id) continue;
      const { version: _v, ...rest } = stored;
      const record: SessionRecord = { ...rest, address: stored.address ?? '' };
      if (record.phase !== 'closed') {
        const held = await this.#files.recover(id, record.received);
        if (held === undefined) {
          // The data file is gone or was replaced (a planted symlink): the session cannot resume.
          await this.#files.remove(id);
          continue;
        }
        if (held < record.received) {
          record.received = held;
          record.phase = 'receiving';
        }
      }
      this.#sessions.set(id, record);
    }
  }

  async close(): Promise<void> {}

  async get(id: string): Promise<SessionRecord | undefined> {
    const record = this.#sessions.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  create(fields: NewSession, caps: SessionCaps, nowMs: number): Promise<Created> {
    return this.#admit(async () => {
      const evicted = await this.#evict(fields, { sessions: 1, bytes: 0 }, caps, undefined);
      const record = newRecord(formatSessionId(randomUUID()), fields, nowMs);
      this.#pending.add(record.id);
      try {
        await this.#files.create(record.id);
        await this.#write(record);
        this.#sessions.set(record.id, record);
      } finally {
        this.#pending.delete(record.id);
      }
      return { record: structuredClone(record), evicted };
    });
  }

  makeRoom(owner: SessionOwner, want: Room, caps: SessionCaps, self: string): Promise<string[]> {
    return this.#admit(() => this.#evict(owner, want, caps, self));
  }

  /** Admissions run one at a time, so two racing requests never overshoot a cap together. */
  #admit<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#admitting.then(fn);
    this.#admitting = run.catch(() => {});
    return run;
  }

  async #evict(owner: SessionOwner, want: Room, caps: SessionCaps, self: string | undefined): Promise<string[]> {
    const evicted: string[] = [];
    for (const limit of ownerLimits(owner, caps)) {
      const mine = [...this.#sessions.values()].filter(
        (s) => s.phase !== 'closed' && s.id !== self && s[limit.by] === owner[limit.by],
      );
      let bytes = mine.reduce((n, s) => n + (s.total ?? 0), 0);
      // The oldest idle sessions go first (IIS sheds sessions the same way); busy ones stay.
      const idle = mine.filter((s) => !this.#locks.has(s.id)).sort((a, b) => a.lastProgressMs - b.lastProgressMs);
      let count = mine.length;
      while (overCap(limit, count, bytes, want)) {
        const victim = idle.shift();
        if (victim === undefined) throw tooManySessions();
        this.#sessions.delete(victim.id);
        this.#slots.delete(victim.id);
        await this.#files.remove(victim.id);
        evicted.push(victim.id);
        count--;
        bytes -= victim.total ?? 0;
      }
    }
    return evicted;
  }

  /** Persist a record durably: in place in its slots (one fdatasync), or a new slots file. */
  async #write(record: SessionRecord): Promise<void> {
    const stored: StoredRecord = { version: 2, ...record };
    const before = this.#slots.get(record.id);
    // The record is in the map only once it is on disk: a failed save is retried as a new file.
    this.#slots.delete(record.id);
    const next = await writeSlots(this.#stateFile(record.id), Buffer.from(JSON.stringify(stored)), before);
    this.#slots.set(record.id, next);
    // The slots (synced, folder synced) now win over a legacy record; drop it.
    if (before === undefined) await fs.rm(this.#legacyFile(record.id), { force: true });
  }

  async withSession<T>(id: string, fn: (record: SessionRecord | undefined, tx: SessionTx) => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const body = () => {
      const live = this.#sessions.get(id);
      return fn(live === undefined ? undefined : structuredClone(live), this.#tx);
    };
    const run = prev.then(body, body);
    const tail = run.catch(() => {});
    this.#locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }

  readonly #tx: SessionTx = {
    save: async (record) => {
      if (!this.#sessions.has(record.id)) throw new Error(`session ${record.id} was removed`);
      await this.#write(record);
      this.#sessions.set(record.id, structuredClone(record));
    },
    close: async (record, nowMs) => {
      record.phase = 'closed';
      record.lastProgressMs = nowMs;
      await this.#tx.save(record);
      await this.#files.dropBytes(record.id);
    },
    remove: async (record) => {
      this.#sessions.delete(record.id);
      this.#slots.delete(record.id);
      await this.#files.remove(record.id);
    },
  };

  async sweep(policy: ExpiryPolicy, nowMs: number): Promise<string[]> {
    const removed: string[] = [];
    for (const s of [...this.#sessions.values()]) {
      if (!isExpired(s, policy, nowMs)) continue;
      await this.withSession(s.id, async (record, tx) => {
        if (record === undefined || !isExpired(record, policy, nowMs)) return;
        await tx.remove(record);
        removed.push(record.id);
      });
    }
    // Data no record owns (a crash inside Create-Session) is removed once it is old enough —
    // in real time, as the file system's mtimes are.
    for (const { id, mtimeMs } of await this.#files.list()) {
      if (this.#sessions.has(id) || this.#locks.has(id) || this.#pending.has(id)) continue;
      if (systemClock.wallMs() - mtimeMs > policy.emptySessionTimeoutMs) {
        await this.#files.remove(id);
        removed.push(id);
      }
    }
    return removed;
  }
}
