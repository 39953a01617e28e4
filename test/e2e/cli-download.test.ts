import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { cli, cliOk, createJob, MiB, scratchDir, sha256File, spawnCli, stateOf, waitForState } from './helpers.ts';

// The real CLI (`node bin/bitsadmin.js`, a child process per call) against a real bitsd started
// by the test, downloading from a real HTTP server on 127.0.0.1.

describe('e2e: bitsadmin + bitsd downloads', () => {
  let home: { path: string; remove(): Promise<void> };
  let out: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let server: FileServer;

  before(async () => {
    home = await scratchDir('openbits-e2e-home-');
    out = await scratchDir('openbits-e2e-out-');
    daemon = await spawnDaemon(home.path);
    server = await FileServer.start();
  });

  after(async () => {
    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await server.close();
    await home.remove();
    await out.remove();
  });

  it('/create, /addfile, /resume, /getstate, /info, /complete: published on Complete with the right sha256', async () => {
    const body = server.add('/one.bin', 8 * MiB + 123);
    const dest = join(out.path, 'one.bin');

    const created = await cli(home.path, ['/create', 'e2e-one']);
    assert.equal(created.code, 0, created.stderr);
    // On a pipe there is no banner (issue 13): the first line is the answer.
    assert.match(created.stdout, /^Created job \{[0-9A-F-]{36}\}\.\n$/u);
    const textId = /Created job (\{[0-9A-F-]{36}\})\.\n$/u.exec(created.stdout)?.[1];
    assert.ok(textId !== undefined, created.stdout);
    assert.equal(await stateOf(home.path, textId), 'SUSPENDED');

    const job = await createJob(home.path, 'e2e-one-raw');
    assert.notEqual(job, textId);
    await cliOk(home.path, ['/addfile', job, server.url('/one.bin'), dest]);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });

    // Transferred but not completed: the bytes sit in the temp file, the final name is absent.
    assert.equal(existsSync(dest), false, 'the final name must not exist before Complete');
    const temp = await cliOk(home.path, ['/rawreturn', '/gettemporaryname', job, '0']);
    assert.ok(temp.startsWith(out.path) && temp !== dest && existsSync(temp), temp);

    const info = await cliOk(home.path, ['/info', job, '/verbose']);
    const size = body.length;
    for (const line of [
      `GUID: ${job} DISPLAY: e2e-one-raw`,
      `TYPE: DOWNLOAD STATE: TRANSFERRED OWNER: ${process.getuid?.() ?? 0}`,
      `PRIORITY: NORMAL FILES: 1 / 1 BYTES: ${size} / ${size}`,
      // BG_FILE_PROGRESS.Completed means "renamed by Complete" (bits-client.md §7): not yet.
      `${size} / ${size} WORKING ${server.url('/one.bin')} -> ${dest}`,
      'NOTIFICATION COMMAND LINE: none',
      'MAX BANDWIDTH: UNLIMITED DYNAMIC CONTENT: false',
    ]) {
      assert.ok(info.split('\n').includes(line), `missing "${line}" in:\n${info}`);
    }
    assert.match(info, /^COMPLETION TIME: \d+\/\d+\/\d{4} \d+:\d\d:\d\d [AP]M$/mu);

    const json = await cli(home.path, ['--json', '/info', job]);
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout) as {
      id: string;
      state: string;
      progress: { bytesTotal: number; bytesTransferred: number; filesTotal: number; filesTransferred: number };
      files: Array<{ remoteName: string; localName: string }>;
    };
    assert.equal(`{${doc.id.toUpperCase()}}`, job);
    assert.equal(doc.state, 'TRANSFERRED');
    assert.deepEqual(doc.progress, { bytesTotal: size, bytesTransferred: size, filesTotal: 1, filesTransferred: 1 });
    assert.equal(doc.files[0]?.localName, dest);

    const completed = await cli(home.path, ['--json', '/complete', job]);
    assert.equal(completed.code, 0, completed.stderr);
    assert.deepEqual(JSON.parse(completed.stdout), { jobId: doc.id, result: 'S_OK' });
    assert.equal(await sha256File(dest), sha256(body));
    assert.equal(existsSync(temp), false, 'the temp file became the published file');

    // The completed job has left the queue; the other one is still SUSPENDED.
    const gone = await cli(home.path, ['/getstate', job]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^ERROR: BG_E_NOT_FOUND \(0x80200001\)/u);
    await cliOk(home.path, ['/cancel', textId]);
  });

  it('/transfer NAME URL PATH on a pipe: plain progress lines, exit 0, published with the right sha256', async () => {
    const body = server.add('/two.bin', 16 * MiB + 7);
    const dest = join(out.path, 'two.bin');
    const r = await cli(home.path, ['/transfer', 'e2e-two', server.url('/two.bin'), dest]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^DISPLAY: 'e2e-two' TYPE: DOWNLOAD PRIORITY: NORMAL JOB: \{[0-9A-F-]{36}\}$/u);
    const progress = lines.slice(1, -2);
    assert.ok(progress.length >= 1, r.stdout);
    for (const line of progress) {
      assert.match(
        line,
        /^STATE: [A-Z_]+ FILES: \d \/ 1 BYTES: \d+ \/ (?:\d+|UNKNOWN)(?: \(\d+%\))?(?: RATE: [\d.]+ [KMG]?i?B\/s ETA: [\d:-]+)?$/u,
        line,
      );
    }
    assert.equal(progress.at(-1), `STATE: TRANSFERRED FILES: 1 / 1 BYTES: ${body.length} / ${body.length} (100%)`);
    assert.match(lines.at(-2) ?? '', /^Transferred 16\.0 MiB \(1 file\) in \d+:\d\d at [\d.]+ [KMG]iB\/s\.$/u);
    assert.equal(lines.at(-1), 'Transfer complete.');
    assert.ok(!r.stdout.includes('\r') && !r.stdout.includes('\u001b'), 'no terminal control on a pipe');
    assert.equal(await sha256File(dest), sha256(body));
  });

  it('/cancel of a job in the middle of its transfer deletes its temp file', async () => {
    const body = server.add('/three.bin', 64 * MiB);
    const folder = join(out.path, 'cancel');
    const dest = join(folder, 'three.bin');
    await mkdir(folder);
    assert.deepEqual(await readdir(folder), []);

    const job = await createJob(home.path, 'e2e-cancel');
    await cliOk(home.path, ['/addfile', job, server.url('/three.bin'), dest]);
    // 2 MiB/s: the job stays in TRANSFERRING for the half minute this test needs at most.
    await cliOk(home.path, ['/setmaxbandwidth', job, '2M']);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getmaxbandwidth', job]), String(2 * MiB));
    await cliOk(home.path, ['/resume', job]);
    let temp = 'NULL';
    for (let i = 0; i < 100 && (temp === 'NULL' || !existsSync(temp)); i++) {
      temp = await cliOk(home.path, ['/rawreturn', '/gettemporaryname', job, '0']);
    }
    assert.ok(temp.startsWith(`${folder}/`), temp);
    await waitForState(home.path, job, 'TRANSFERRING', { daemon });
    const during = await readdir(folder);
    assert.ok(during.length === 1 && join(folder, during[0] ?? '') === temp, `folder holds ${during}`);
    const done = Number(await cliOk(home.path, ['/rawreturn', '/getbytestransferred', job]));
    assert.ok(done < body.length, `still mid-way (${done} bytes)`);

    const cancelled = await cli(home.path, ['/cancel', job]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.deepEqual(await readdir(folder), [], 'no temp file left, nothing published');
    const gone = await cli(home.path, ['/getstate', job]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /BG_E_NOT_FOUND/u);
  });

  it('/monitor on a pipe prints /list snapshots until Ctrl-C, then exits 0', async () => {
    const job = await createJob(home.path, 'e2e-monitored');
    const run = spawnCli(home.path, ['/monitor', '/refresh', '1']);
    const deadline = Date.now() + 60_000;
    while ((run.stdout().match(/MONITORING BACKGROUND COPY MANAGER/gu) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /MONITORING BACKGROUND COPY MANAGER\(1 second refresh\)/u);
    assert.ok(r.stdout.includes(`${job} e2e-monitored SUSPENDED 0 / 0 0 / 0`), r.stdout);
    assert.ok(!r.stdout.includes('\u001b'), 'no screen clearing on a pipe');
    await cliOk(home.path, ['/cancel', job]);
  });
});
