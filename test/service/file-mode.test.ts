import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import { currentUmask } from '../../src/transfer/commit-file.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';

// Issue 13: Complete published every file 0600; curl, wget and BITS (the folder's ACL) follow
// the user's umask. A temp file is 0600 while it fills; once its last byte is in, the download
// gives it the mode Complete would (the run's umask or the job's mode) before the fsync its
// TRANSFERRED record waits for, and Complete only renames it — unless that mode lets others
// write, or the mode to publish with changed since (a new umask, setFileMode): Complete then sets
// it (and fsyncs) itself.

let server: FileServer;
let m: InProcessManager;
let home: string;
before(async () => {
  server = await FileServer.start();
  home = tempDir();
  m = await createManager({ home, network: new ManualNetworkSource(true) });
});
after(async () => {
  await m.close();
  await server.close();
});

/** The temp file's mode while bytes arrive, once TRANSFERRED, and the published file's. */
interface Modes {
  filling: number;
  transferred: number;
  published: number;
}

async function download(
  name: string,
  mode: number | null | undefined,
  options: { umask?: number; modeAfterTransfer?: number } = {},
): Promise<Modes> {
  server.add(`/${name}`, 2_000_000, { rateBps: 4_000_000 });
  const job = await m.createJob(name);
  const local = join(home, name);
  await m.addFile(job.id, server.url(`/${name}`), local);
  if (mode !== undefined) await m.setFileMode(job.id, mode);
  await m.resume(job.id);
  // The temp file is at its derived name once bytes arrive (the record names it later).
  const temp = derivedTempName(local, { jobId: job.id, fileIndex: 0 });
  let filling: number | undefined;
  const deadline = Date.now() + 30_000;
  while (filling === undefined && Date.now() < deadline) {
    const st = statSync(temp, { throwIfNoEntry: false });
    if (st !== undefined && st.size > 0 && st.size < 2_000_000) filling = st.mode & 0o777;
    else await new Promise((resolve) => setTimeout(resolve, 5)); // the engine's progress: polled
  }
  await waitForState(m, job.id, 'TRANSFERRED');
  const transferred = statSync(temp).mode & 0o777;
  if (options.modeAfterTransfer !== undefined) await m.setFileMode(job.id, options.modeAfterTransfer);
  const previous = options.umask === undefined ? undefined : process.umask(options.umask);
  try {
    await m.complete(job.id);
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  return { filling: filling ?? -1, transferred, published: statSync(local).mode & 0o777 };
}

describe('file modes', () => {
  it('by default a published file gets 0666 & ~umask (022 → 0644, 027 → 0640); the temp file is 0600 while it fills', async () => {
    const previous = process.umask(0o022);
    try {
      const a = await download('umask-022.bin', undefined);
      assert.deepEqual(a, { filling: 0o600, transferred: 0o644, published: 0o644 });
      // The run read umask 022; Complete reads 027 and sets the mode itself.
      const b = await download('umask-027.bin', undefined, { umask: 0o027 });
      assert.deepEqual(b, { filling: 0o600, transferred: 0o644, published: 0o640 });
    } finally {
      process.umask(previous);
    }
    const before = process.umask(0o027);
    try {
      assert.equal(currentUmask(), 0o027);
      assert.equal(currentUmask(), 0o027, 'reading the umask (from /proc) leaves it as it was');
    } finally {
      process.umask(before);
    }
  });

  it('setFileMode(0o600) keeps the file private throughout; another mode is applied as given', async () => {
    assert.deepEqual(await download('private.bin', 0o600, { umask: 0o022 }), {
      filling: 0o600,
      transferred: 0o600,
      published: 0o600,
    });
    assert.deepEqual(await download('group.bin', 0o640, { umask: 0o077 }), {
      filling: 0o600,
      transferred: 0o640,
      published: 0o640,
    });
  });

  it('a mode that lets others write keeps the temp file 0600 until Complete sets it', async () => {
    // A 0664 or 0666 temp file could be changed or hard-linked by others before Complete.
    assert.deepEqual(await download('shared.bin', 0o664, { umask: 0o002 }), {
      filling: 0o600,
      transferred: 0o600,
      published: 0o664,
    });
  });

  it("a mode without the owner's write keeps the temp file 0600 until Complete sets it", async () => {
    // A 0444 temp file left by a kill -9 before its last sync could not be reopened to fill again.
    assert.deepEqual(await download('read-only.bin', 0o444), {
      filling: 0o600,
      transferred: 0o600,
      published: 0o444,
    });
  });

  it('a mode set after the file was transferred is the one Complete publishes with', async () => {
    assert.deepEqual(await download('later.bin', 0o640, { modeAfterTransfer: 0o600 }), {
      filling: 0o600,
      transferred: 0o640,
      published: 0o600,
    });
  });
});
