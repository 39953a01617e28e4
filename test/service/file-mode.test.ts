import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import { currentUmask } from '../../src/transfer/commit-file.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';

// Issue 13: Complete published every file 0600; curl, wget and BITS (the folder's ACL) follow
// the user's umask. Temp files stay 0600 until Complete either way.

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

async function download(
  name: string,
  mode: number | null | undefined,
  umask?: number,
): Promise<{ temp: number; published: number }> {
  server.add(`/${name}`, 2_000_000, { rateBps: 4_000_000 });
  const job = await m.createJob(name);
  const local = join(home, name);
  await m.addFile(job.id, server.url(`/${name}`), local);
  if (mode !== undefined) await m.setFileMode(job.id, mode);
  await m.resume(job.id);
  // The temp file exists once bytes arrive.
  let temp: number | undefined;
  const deadline = Date.now() + 30_000;
  while (temp === undefined && Date.now() < deadline) {
    const name = (await m.enumFiles(job.id))[0]?.temporaryName;
    if (name) temp = statSync(name).mode & 0o777;
    else await new Promise((resolve) => setTimeout(resolve, 20)); // the engine's progress: polled
  }
  await waitForState(m, job.id, 'TRANSFERRED');
  const previous = umask === undefined ? undefined : process.umask(umask);
  try {
    await m.complete(job.id);
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
  return { temp: temp ?? -1, published: statSync(local).mode & 0o777 };
}

describe('file modes', () => {
  it('by default a published file gets 0666 & ~umask (022 → 0644, 027 → 0640); the temp file is 0600', async () => {
    const a = await download('umask-022.bin', undefined, 0o022);
    assert.deepEqual(a, { temp: 0o600, published: 0o644 });
    const b = await download('umask-027.bin', undefined, 0o027);
    assert.deepEqual(b, { temp: 0o600, published: 0o640 });
    const previous = process.umask(0o027);
    try {
      assert.equal(currentUmask(), 0o027);
      assert.equal(currentUmask(), 0o027, 'reading the umask (from /proc) leaves it as it was');
    } finally {
      process.umask(previous);
    }
  });

  it('setFileMode(0o600) keeps the published file private; another mode is applied as given', async () => {
    assert.deepEqual(await download('private.bin', 0o600, 0o022), { temp: 0o600, published: 0o600 });
    assert.deepEqual(await download('group.bin', 0o640, 0o077), { temp: 0o600, published: 0o640 });
  });
});
