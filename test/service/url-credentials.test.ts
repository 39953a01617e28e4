// Issue 12 item 3: a password inside a URL is a server credential. AddFile (and SetRemoteName,
// ReplaceRemotePrefix) move it into the job's credentials; the URL is stored, shown and sent
// without it, and the transfer still answers the origin's Basic challenge with it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { sha256 } from '../helpers/file-server.ts';
import { AuthChecker } from '../helpers/http-auth.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { requireAuth, serving, startOrigin } from '../helpers/origin-server.ts';
import { TestClock } from '../helpers/test-clock.ts';

const SECRET = 'Sw0rdfish-7f3a';

describe('URL credentials (issue 12 item 3)', () => {
  it('AddFile moves user:pw into SERVER/BASIC credentials; the URL never shows them; a Basic origin is answered', async () => {
    const origin = await startOrigin();
    const body = randomBytes(300_000);
    // The password carries a reserved character, percent-encoded in the URL.
    const checker = new AuthChecker({ scheme: 'basic', user: 'alice', password: `${SECRET}@x` });
    origin.route('/cred.bin', requireAuth(checker, serving(body)));
    const home = tempDir();
    const m = await createManager({ home, clock: new TestClock(), network: new ManualNetworkSource(true) });
    const events: ManagerEvent[] = [];
    const off = m.subscribe((e) => events.push(e));
    try {
      const job = await m.createJob('url-creds');
      const dest = join(tempDir(), 'cred.bin');
      const bare = origin.url('/cred.bin');
      await m.addFile(job.id, bare.replace('http://', `http://alice:${SECRET}%40x@`), dest);
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRED');

      const info = await m.getJob(job.id);
      assert.equal(info.files[0]?.remoteName, bare);
      assert.deepEqual(info.credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'alice' }]);
      assert.equal((await m.enumFiles(job.id))[0]?.remoteName, bare);
      for (const text of [JSON.stringify(info), JSON.stringify(await m.enumJobs()), JSON.stringify(events)]) {
        assert.ok(!text.includes(SECRET), text);
      }
      // The origin saw the credential only in Authorization, never in the request line.
      assert.ok(origin.hits('/cred.bin').some((r) => checker.check(r.headers.authorization, 'GET', '/cred.bin')));
      assert.ok(origin.requests.every((r) => !r.path.includes(SECRET)));
      assert.equal(await m.complete(job.id), 'S_OK');
      assert.equal(sha256(readFileSync(dest)), sha256(body));
    } finally {
      off();
      await m.close();
      await origin.close();
    }
  });

  it('SetRemoteName and ReplaceRemotePrefix move userinfo too, under the scheme the job already uses', async () => {
    const home = tempDir();
    const m = await createManager({ home, clock: new TestClock(), network: new ManualNetworkSource(true) });
    try {
      const job = await m.createJob('rename-creds');
      const dir = tempDir();
      await m.addFile(job.id, 'http://127.0.0.1:9/a', join(dir, 'a'));
      await m.addFile(job.id, 'http://127.0.0.1:9/b', join(dir, 'b'));
      await m.setCredentials(job.id, { target: 'SERVER', scheme: 'DIGEST', userName: 'old', password: 'old-pw' });
      await m.setRemoteName(job.id, 0, `http://bob:${SECRET}@127.0.0.1:9/a2`);
      let info = await m.getJob(job.id);
      assert.equal(info.files[0]?.remoteName, 'http://127.0.0.1:9/a2');
      assert.deepEqual(info.credentials, [{ target: 'SERVER', scheme: 'DIGEST', userName: 'bob' }]);

      assert.equal(
        await m.replaceRemotePrefix(job.id, 'http://127.0.0.1:9/', 'http://carol:pw@127.0.0.1:9/v2/'),
        'S_OK',
      );
      info = await m.getJob(job.id);
      assert.deepEqual(
        info.files.map((f) => f.remoteName),
        ['http://127.0.0.1:9/v2/a2', 'http://127.0.0.1:9/v2/b'],
      );
      assert.deepEqual(info.credentials, [{ target: 'SERVER', scheme: 'DIGEST', userName: 'carol' }]);
      assert.ok(!JSON.stringify(info).includes(SECRET));
    } finally {
      await m.close();
    }
  });
});
