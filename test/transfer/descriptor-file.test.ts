import assert from 'node:assert/strict';
import { constants, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DescriptorFile } from '../../src/transfer/descriptor-file.ts';

const CREATE = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY;

for (const onLoop of [true, false]) {
  test(`a descriptor file opened ${onLoop ? 'on the event loop' : 'on the thread pool'}: create, write, datasync, truncate, close once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openbits-fd-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'f');
    const file = await DescriptorFile.open(path, CREATE, 0o600, onLoop);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const { bytesWritten } = await file.write(Buffer.from('hello world'), 0, 11, 0);
    assert.equal(bytesWritten, 11);
    await file.datasync();
    await file.truncate(5);
    const closed = file.close();
    assert.equal(file.close(), closed, 'a second close is the first one');
    await closed;
    assert.equal(readFileSync(path, 'utf8'), 'hello');
    // The descriptor number may belong to another file by now: nothing reaches it.
    await assert.rejects(file.write(Buffer.from('x'), 0, 1, 0), { code: 'EBADF' });
    await assert.rejects(file.datasync(), { code: 'EBADF' });
    // O_EXCL | O_NOFOLLOW: an existing name, or a symlink planted there, is never opened.
    await assert.rejects(DescriptorFile.open(path, CREATE, 0o600, onLoop), { code: 'EEXIST' });
    const target = join(dir, 'target');
    writeFileSync(target, 'keep');
    symlinkSync(target, join(dir, 'link'));
    await assert.rejects(DescriptorFile.open(join(dir, 'link'), CREATE, 0o600, onLoop), { code: 'EEXIST' });
    assert.equal(readFileSync(target, 'utf8'), 'keep');
  });
}
