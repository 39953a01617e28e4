/**
 * Upload sessions on disk, one folder each, so they survive a restart (checklist item 15):
 * `<sessionsDir>/Requests/<id>/state.json` (small, fsynced, replaced atomically) beside
 * `requestfile.bin` (the data), and `<sessionsDir>/Replies/<id>/responsefile.bin` for a reply —
 * the IIS layout of §8.1.
 */
import { randomUUID } from 'node:crypto';
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatSessionId } from '../core/upload-protocol.ts';
import { createPrivateFile, openDataFile, syncDir } from './safe-fs.ts';

/** Lifecycle of a session (§8.3, simplified): bytes arriving, all bytes held, closed/cancelled. */
export type SessionPhase = 'receiving' | 'complete' | 'closed';

/** The cached outcome of the back-end notification (§8.3 NotifyCache). */
export interface NotifyResult {
  /** Absolute reply URL given by the app (BITS-Static-Response-URL), else the reply file is used. */
  readonly staticReplyUrl: string | undefined;
  readonly copyToDestination: boolean;
}

/** The persisted record of one session. */
export interface SessionRecord {
  readonly version: 1;
  readonly id: string;
  /** Decoded destination path segments under the root. */
  readonly segments: readonly string[];
  /** Absolute upload URL (for BITS-Original-Request-URL and relative notification URLs). */
  readonly originalUrl: string;
  readonly user: string;
  readonly protocol: string;
  /** File size from the first fragment's Content-Range; null until then. */
  total: number | null;
  /** Contiguous bytes held = next offset expected. */
  received: number;
  phase: SessionPhase;
  readonly createdMs: number;
  /** Wall-clock time of the last progress (session timeout is measured from it, §8.1). */
  lastProgressMs: number;
  notify: NotifyResult | null;
}

const ID_FORM = /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/;

/** Our session ids are braced upper-case GUIDs; anything else is unknown (and never touches disk). */
export function canonicalSessionId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.trim().toUpperCase();
  return ID_FORM.test(id) ? id : undefined;
}

export class SessionStore {
  readonly dir: string;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(sessionsDir: string) {
    this.dir = sessionsDir;
  }

  requestDir(id: string): string {
    return path.join(this.dir, 'Requests', id);
  }
  dataFile(id: string): string {
    return path.join(this.requestDir(id), 'requestfile.bin');
  }
  replyDir(id: string): string {
    return path.join(this.dir, 'Replies', id);
  }
  replyFile(id: string): string {
    return path.join(this.replyDir(id), 'responsefile.bin');
  }

  /**
   * Load every session from disk. Bytes past a session's recorded offset were written but never
   * acknowledged, so they are cut off rather than trusted (a crash between write and fsync).
   */
  async open(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'Requests'), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.dir, 'Replies'), { recursive: true, mode: 0o755 });
    for (const name of await fs.readdir(path.join(this.dir, 'Requests'))) {
      const id = canonicalSessionId(name);
      if (id === undefined || id !== name) continue;
      let record: SessionRecord;
      try {
        record = JSON.parse(await fs.readFile(path.join(this.requestDir(id), 'state.json'), 'utf8'));
      } catch {
        // Created but never recorded (crash inside Create-Session): never acknowledged, drop it.
        await this.#removeFiles(id);
        continue;
      }
      if (record.version !== 1 || record.id !== id) continue;
      if (record.phase !== 'closed' && !(await this.#cutToRecorded(record))) {
        // The data file is gone or was replaced (a planted symlink): the session cannot resume.
        await this.#removeFiles(id);
        continue;
      }
      this.#sessions.set(id, record);
    }
  }

  /** Truncate the data file to the recorded offset through an O_NOFOLLOW handle (a path-based
   * truncate would follow a symlink planted in its place and cut the file it points to). */
  async #cutToRecorded(record: SessionRecord): Promise<boolean> {
    let fh: fs.FileHandle;
    try {
      fh = await openDataFile(this.dataFile(record.id));
    } catch {
      return false;
    }
    try {
      // Never extend: a file shorter than recorded (tampered with) resumes from what it holds.
      const { size } = await fh.stat();
      if (size < record.received) {
        record.received = size;
        record.phase = 'receiving';
      }
      await fh.truncate(record.received);
      await fh.sync();
      return true;
    } finally {
      await fh.close();
    }
  }

  get(id: string | undefined): SessionRecord | undefined {
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  all(): IterableIterator<SessionRecord> {
    return this.#sessions.values();
  }

  /** Open sessions (not closed) of one user. */
  countOpen(user: string): number {
    let n = 0;
    for (const s of this.#sessions.values()) if (s.user === user && s.phase !== 'closed') n++;
    return n;
  }

  /** Create a session with an unguessable id (crypto.randomUUID), its empty data file and state. */
  async create(fields: Pick<SessionRecord, 'segments' | 'originalUrl' | 'user' | 'protocol'>, nowMs: number) {
    const id = formatSessionId(randomUUID());
    const dir = this.requestDir(id);
    await fs.mkdir(dir, { mode: 0o700 });
    const fh = await createPrivateFile(this.dataFile(id));
    await fh.close();
    const record: SessionRecord = {
      version: 1,
      id,
      ...fields,
      total: null,
      received: 0,
      phase: 'receiving',
      createdMs: nowMs,
      lastProgressMs: nowMs,
      notify: null,
    };
    await this.save(record);
    await syncDir(path.dirname(dir));
    this.#sessions.set(id, record);
    return record;
  }

  /** Persist a record: write a temp file, fsync, rename over state.json, fsync the folder. */
  async save(record: SessionRecord): Promise<void> {
    const dir = this.requestDir(record.id);
    const tmp = path.join(dir, 'state.json.tmp');
    const fh = await fs.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(JSON.stringify(record));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path.join(dir, 'state.json'));
    await syncDir(dir);
  }

  /** Mark closed and drop data and reply, keeping the small state file as a tombstone so a
   * repeated Close/Cancel (its first Ack lost) still gets 200 instead of a session restart. */
  async close(record: SessionRecord, nowMs: number): Promise<void> {
    record.phase = 'closed';
    record.lastProgressMs = nowMs;
    await this.save(record);
    await fs.rm(this.dataFile(record.id), { force: true });
    await fs.rm(this.replyDir(record.id), { recursive: true, force: true });
  }

  /** Forget a session entirely (timeout, cleanup). */
  async remove(id: string): Promise<void> {
    this.#sessions.delete(id);
    await this.#removeFiles(id);
  }

  async #removeFiles(id: string): Promise<void> {
    await fs.rm(this.requestDir(id), { recursive: true, force: true });
    await fs.rm(this.replyDir(id), { recursive: true, force: true });
  }

  /** Run `fn` with the session's lock held: packets of one session never interleave, even
   * when a client retries on a new connection while the old one is still being read. */
  async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }
}
