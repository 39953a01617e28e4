import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BitsError } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { sha256 } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { startBackEnd } from '../upload-server/helpers/back-end.ts';
import { payload } from '../upload-server/helpers/fixture.ts';

const open = () => createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true) });

const rejectsWith = async (p: Promise<unknown>, name: string): Promise<void> => {
  await assert.rejects(p, (err: unknown) => err instanceof BitsError && err.name === name);
};

describe('in-process manager: upload jobs against our BITS upload server', () => {
  it('uploads one file (BG_JOB_TYPE_UPLOAD): second file refused, Complete only in TRANSFERRED', async () => {
    const root = tempDir();
    const server = await startBitsUploadServer({ root });
    const m = await open();
    try {
      const src = join(tempDir(), 'up.bin');
      const data = payload(5 * 1024 * 1024 + 3);
      writeFileSync(src, data);
      const job = await m.createJob('up', 'UPLOAD');
      const url = `http://127.0.0.1:${server.port}/incoming/up.bin`;
      await rejectsWith(m.addFile(job.id, url, join(root, 'missing.bin')), 'ERROR_FILE_NOT_FOUND');
      await m.addFile(job.id, url, src);
      await rejectsWith(m.addFile(job.id, url, src), 'BG_E_TOO_MANY_FILES');
      await rejectsWith(m.complete(job.id), 'BG_E_INVALID_STATE');
      await rejectsWith(m.addFileWithRanges(job.id, url, src, [{ offset: 0, length: 10 }]), 'E_NOTIMPL');
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRED');
      const info = await m.getJob(job.id);
      assert.equal(info.progress.bytesTransferred, data.length);
      assert.equal(info.progress.bytesTotal, data.length);
      assert.equal(sha256(readFileSync(join(root, 'incoming', 'up.bin'))), sha256(data));
      assert.equal(await m.complete(job.id), 'S_OK');
    } finally {
      await m.close();
      await server.close();
    }
  });

  it('upload-reply: the back end’s reply is downloaded, GetReplyData returns it, Complete publishes the reply file', async () => {
    const app = await startBackEnd((n, res) => {
      const body = Buffer.from(`got ${n.body.length} bytes`);
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
    const root = tempDir();
    const server = await startBitsUploadServer({ root, notificationType: 'by-value', notificationUrl: app.url });
    const m = await open();
    try {
      const dir = tempDir();
      const src = join(dir, 'form.bin');
      writeFileSync(src, payload(300_000));
      const replyFile = join(dir, 'reply.txt');
      const job = await m.createJob('reply', 'UPLOAD_REPLY');
      await m.addFile(job.id, `http://127.0.0.1:${server.port}/forms/form.bin`, src);
      await m.setReplyFileName(job.id, replyFile);
      assert.deepEqual(await m.getReplyProgress(job.id), { bytesTotal: -1, bytesTransferred: 0 });
      await rejectsWith(m.getReplyData(job.id), 'BG_E_INVALID_STATE');
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRED');
      const expected = 'got 300000 bytes';
      assert.equal((await m.getReplyData(job.id))?.toString(), expected);
      assert.deepEqual(await m.getReplyProgress(job.id), {
        bytesTotal: expected.length,
        bytesTransferred: expected.length,
      });
      // Regression: getJob's replyProgress was always null (toJobInfo was never given the reply).
      assert.deepEqual((await m.getJob(job.id)).replyProgress, await m.getReplyProgress(job.id));
      await rejectsWith(m.setReplyFileName(job.id, join(dir, 'other.txt')), 'BG_E_INVALID_STATE');
      assert.equal(existsSync(replyFile), false, 'the reply file appears only on Complete');
      assert.equal(await m.complete(job.id), 'S_OK');
      assert.equal(readFileSync(replyFile, 'utf8'), expected);
      assert.equal((await m.getReplyData(job.id))?.toString(), expected, 'GetReplyData works after Complete');
      await rejectsWith(m.getReplyData((await m.createJob('dl')).id), 'E_NOTIMPL');
    } finally {
      await m.close();
      await server.close();
      await app.close();
    }
  });

  it('a local file changed after the upload started → ERROR BG_E_LOCAL_FILE_CHANGED', async () => {
    const root = tempDir();
    const server = await startBitsUploadServer({ root });
    const m = await open();
    try {
      const src = join(tempDir(), 'changing.bin');
      writeFileSync(src, payload(4 * 1024 * 1024));
      const job = await m.createJob('changing', 'UPLOAD');
      await m.addFile(job.id, `http://127.0.0.1:${server.port}/c/changing.bin`, src);
      // A per-job limit on the test clock (never advanced) holds the upload mid-way.
      await m.setMaxBandwidth(job.id, 1024 * 1024);
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRING');
      await m.suspend(job.id);
      writeFileSync(src, payload(4 * 1024 * 1024 + 1, 7));
      await m.resume(job.id);
      await waitForState(m, job.id, 'ERROR');
      const err = await m.getError(job.id);
      assert.equal(err.name, 'BG_E_LOCAL_FILE_CHANGED');
      assert.equal(err.context, 'LOCAL_FILE');
    } finally {
      await m.close();
      await server.close();
    }
  });
});
