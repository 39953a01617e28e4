/**
 * The bytes of upload sessions, in the IIS layout of §8.1 under the sessions folder:
 * `Requests/<id>/requestfile.bin` (the data, written at acknowledged offsets) and
 * `Replies/<id>/responsefile.bin` (an upload-reply's reply). The folder may be local (one host)
 * or on storage every farm instance mounts: writes are positional and synced before a range is
 * acknowledged, and the commit is one rename/link, so any instance can continue any session.
 *
 * `SessionData` is the seam for other byte stores (docs/upload-server.md: an S3 multipart
 * backend maps Create-Session to CreateMultipartUpload, each acknowledged range to one part,
 * Close-Session to CompleteMultipartUpload); this file is the only implementation.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BodyReader } from './http/socket-input.ts';
import { writeBodyDurably } from './pipelined-write.ts';
import { commitFile, createPrivateFile, openDataFile, syncDir } from './safe-fs.ts';
import { canonicalSessionId } from './session-record.ts';

/** Where session bytes live. Every method is safe to call from any instance of a farm. */
export interface SessionData {
  /** Create the folders (idempotent). */
  open(): Promise<void>;
  /** Make the empty data of a new session. */
  create(id: string): Promise<void>;
  /**
   * Write the body at `offset`, dropping its first `skip` bytes (already held), and make the
   * bytes durable before resolving. On failure the bytes past `offset` are not trusted.
   */
  write(id: string, offset: number, skip: number, body: BodyReader): Promise<void>;
  /** Give back bytes past `length` (after a failed write, e.g. a full disk). */
  discardPast(id: string, length: number): Promise<void>;
  /**
   * After a restart: cut what lies past `recorded` (written, never acknowledged) and return the
   * bytes held, at most `recorded`; undefined when the data is gone or was replaced.
   */
  recover(id: string, recorded: number): Promise<number | undefined>;
  /** Move the finished upload to `root/segments` atomically (403 if it exists and `!allowOverwrite`). */
  commit(id: string, root: string, segments: readonly string[], allowOverwrite: boolean): Promise<void>;
  /** Delete the data and the reply (closed session). */
  dropBytes(id: string): Promise<void>;
  /** Delete everything of a session. */
  remove(id: string): Promise<void>;
  /** Ids that have data, with the last modification time (to find orphans). */
  list(): Promise<Array<{ id: string; mtimeMs: number }>>;
  /** Local paths (by-reference notification, by-value body, reply serving). */
  dataFile(id: string): string;
  replyDir(id: string): string;
  replyFile(id: string): string;
}

/** `SessionData` on a (possibly shared) file system. */
export class SessionFiles implements SessionData {
  readonly dir: string;

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

  async open(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'Requests'), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.dir, 'Replies'), { recursive: true, mode: 0o755 });
  }

  async create(id: string): Promise<void> {
    const dir = this.requestDir(id);
    await fs.mkdir(dir, { mode: 0o700 });
    const fh = await createPrivateFile(this.dataFile(id));
    await fh.close();
    await syncDir(dir);
    await syncDir(path.dirname(dir));
  }

  async write(id: string, offset: number, skip: number, body: BodyReader): Promise<void> {
    const fh = await openDataFile(this.dataFile(id));
    try {
      await writeBodyDurably(fh, offset, skip, body);
    } finally {
      await fh.close();
    }
  }

  async discardPast(id: string, length: number): Promise<void> {
    const fh = await openDataFile(this.dataFile(id));
    try {
      await fh.truncate(length);
    } finally {
      await fh.close();
    }
  }

  async recover(id: string, recorded: number): Promise<number | undefined> {
    // Through an O_NOFOLLOW handle: a path-based truncate would follow a planted symlink.
    let fh: fs.FileHandle;
    try {
      fh = await openDataFile(this.dataFile(id));
    } catch {
      return undefined;
    }
    try {
      // Never extend: a file shorter than recorded (tampered with) resumes from what it holds.
      const { size } = await fh.stat();
      const held = Math.min(size, recorded);
      await fh.truncate(held);
      await fh.sync();
      return held;
    } finally {
      await fh.close();
    }
  }

  async commit(id: string, root: string, segments: readonly string[], allowOverwrite: boolean): Promise<void> {
    await commitFile(this.dataFile(id), root, segments, allowOverwrite, `.bits-${id}.part`);
  }

  async dropBytes(id: string): Promise<void> {
    await fs.rm(this.dataFile(id), { force: true });
    await fs.rm(this.replyDir(id), { recursive: true, force: true });
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.requestDir(id), { recursive: true, force: true });
    await fs.rm(this.replyDir(id), { recursive: true, force: true });
  }

  async list(): Promise<Array<{ id: string; mtimeMs: number }>> {
    const out: Array<{ id: string; mtimeMs: number }> = [];
    for (const name of await fs.readdir(path.join(this.dir, 'Requests'))) {
      if (canonicalSessionId(name) !== name) continue;
      const st = await fs.lstat(this.requestDir(name)).catch(() => undefined);
      if (st !== undefined) out.push({ id: name, mtimeMs: st.mtimeMs });
    }
    return out;
  }
}
