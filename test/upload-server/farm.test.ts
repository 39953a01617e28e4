// Issue 18: an upload-server farm — three bits-upload-server processes, sessions in PostgreSQL,
// bytes on one shared folder, nginx round-robin in front (every packet to the next instance).
// Uploads from openbits' engine and from an independent raw-HTTP client; kill -9 of an instance
// mid-upload; two instances receiving the same fragment at once; sha-256 of every file.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeUploadAgents, uploadFile } from '../../src/transfer/upload/index.ts';
import { sha256, sha256File } from '../helpers/digest.ts';
import { RecordedUpload } from '../transfer/upload/upload-request.ts';
import { assertOk } from './helpers/assertions.ts';
import { type Farm, rawUpload, startFarm } from './helpers/farm.ts';
import { createSession, fragment, packet, payload } from './helpers/fixture.ts';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.ts';
import { RawClient } from './helpers/raw-client.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

let db: TestDatabase;
let farm: Farm;
let local: string;
before(async () => {
  db = await createTestDatabase('bits_farm');
  farm = await startFarm({ instances: 3, databaseUrl: db.url });
  local = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-farm-src-'));
});
after(async () => {
  closeUploadAgents();
  await farm?.stop();
  await db?.drop();
  if (local !== undefined) await fs.rm(local, { recursive: true, force: true });
});

/** Upload with openbits' engine, resuming from the persisted state after transient failures. */
async function engineUpload(url: string, file: string): Promise<void> {
  const rec = new RecordedUpload(url, file);
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadFile(rec.request({ options: { initialFragmentSize: 256 * KiB } }));
      return;
    } catch (err) {
      if (attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Run `jobs` with at most `width` at a time. */
async function pool(jobs: Array<() => Promise<void>>, width: number): Promise<void> {
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await job();
    }),
  );
}

describe('upload-server farm behind nginx (PostgreSQL sessions, shared folder)', () => {
  test('64 concurrent uploads (openbits engine and a raw-HTTP client), packets spread over every instance, sha-256 exact', async () => {
    const n = 64;
    const size = 2 * MiB + 4321;
    const jobs: Array<() => Promise<void>> = [];
    const expected = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const data = payload(size, 1000 + i);
      const name = `rr/${i % 2 === 0 ? 'engine' : 'raw'}-${i}.bin`;
      expected.set(name, sha256(data));
      if (i % 2 === 0) {
        const file = path.join(local, `src-${i}.bin`);
        jobs.push(async () => {
          await fs.writeFile(file, data);
          await engineUpload(`${farm.url}/${name}`, file);
        });
      } else {
        jobs.push(async () => void (await rawUpload(farm.url, `/${name}`, data, 256 * KiB)));
      }
    }
    await pool(jobs, 16);
    for (const [name, digest] of expected) assert.equal(await sha256File(path.join(farm.root, name)), digest, name);
    // Which instance took each packet: every instance served, and sessions moved between them.
    const lines = (await farm.log()).filter((l) => l.session.startsWith('{'));
    const byUpstream = new Set(lines.map((l) => l.upstream));
    assert.equal(byUpstream.size, 3, `packets reached ${[...byUpstream].join(', ')}`);
    const perSession = new Map<string, Set<string>>();
    for (const l of lines) perSession.set(l.session, (perSession.get(l.session) ?? new Set()).add(l.upstream));
    const spread = [...perSession.values()].filter((s) => s.size >= 2).length;
    assert.ok(spread >= n * 0.9, `${spread} of ${perSession.size} sessions were served by two or more instances`);
    // Nothing is left in the shared session folder but tombstones.
    const left = await fs.readdir(path.join(farm.root, 'BITS-Sessions', 'Requests'), { recursive: true });
    assert.deepEqual(
      left.filter((f) => String(f).endsWith('requestfile.bin')),
      [],
    );
  });

  test('kill -9 of one instance mid-upload: every upload still completes, byte-exact', async () => {
    const n = 8;
    const size = 6 * MiB;
    const datas = Array.from({ length: n }, (_, i) => payload(size, 2000 + i));
    let acked = 0;
    let killed: Promise<void> | undefined;
    const victim = farm.instances[1];
    assert.ok(victim);
    const uploads = datas.map((data, i) =>
      rawUpload(farm.url, `/kill/${i}.bin`, data, 256 * KiB, () => {
        acked++;
        if (killed === undefined && acked >= n * 6) {
          victim.child.kill('SIGKILL');
          killed = victim.exited.then((code) => assert.equal(code, 'SIGKILL'));
        }
      }),
    );
    await Promise.all(uploads);
    assert.ok(killed !== undefined, 'the instance was killed mid-upload');
    await killed;
    for (const [i, data] of datas.entries()) {
      assert.equal(await sha256File(path.join(farm.root, 'kill', `${i}.bin`)), sha256(data), `upload ${i}`);
    }
    await farm.restart(1);
  });

  test('two instances receiving the same (and overlapping) fragments at once: one writes, the data stays exact', async () => {
    const [a, b] = farm.instances;
    assert.ok(a && b);
    const ca = await RawClient.connect(a.port);
    const cb = await RawClient.connect(b.port);
    try {
      const data = payload(3 * MiB, 77);
      const { id } = await createSession(ca, '/race/same.bin');
      const first = data.subarray(0, 2 * MiB);
      const [ra, rb] = await Promise.all([
        fragment(ca, '/race/same.bin', id, 0, first, data.length),
        fragment(cb, '/race/same.bin', id, 0, first, data.length),
      ]);
      assertOk(ra);
      assertOk(rb);
      assert.equal(ra.get('BITS-Received-Content-Range'), String(2 * MiB));
      assert.equal(rb.get('BITS-Received-Content-Range'), String(2 * MiB));
      // Overlapping ranges at once: whichever goes second writes only what is new.
      const [oa, ob] = await Promise.all([
        fragment(
          ca,
          '/race/same.bin',
          id,
          2 * MiB - 1000,
          data.subarray(2 * MiB - 1000, 2 * MiB + 500_000),
          data.length,
        ),
        fragment(cb, '/race/same.bin', id, 2 * MiB - 10, data.subarray(2 * MiB - 10, data.length), data.length),
      ]);
      assert.ok(
        [oa.status, ob.status].every((s) => s === 200 || s === 416),
        `${oa.statusLine} / ${ob.statusLine}`,
      );
      let r = Math.max(Number(oa.get('BITS-Received-Content-Range')), Number(ob.get('BITS-Received-Content-Range')));
      if (r < data.length) {
        assertOk(await fragment(ca, '/race/same.bin', id, r, data.subarray(r), data.length));
        r = data.length;
      }
      assertOk(await packet(cb, '/race/same.bin', 'Close-Session', id));
      assert.equal(await sha256File(path.join(farm.root, 'race', 'same.bin')), sha256(data));
    } finally {
      ca.destroy();
      cb.destroy();
    }
  });
});
