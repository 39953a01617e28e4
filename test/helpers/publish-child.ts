// Child of test/transfer/publish-syncs.test.ts: makes `count` temp files in `folder` as a download
// leaves them (data, then `readyMode` and the Last-Modified time, then fsync), writes the line
// "publishing" (the parent's marker in the strace log), publishes them with mode `mode` through
// commitFiles, and prints the outcomes as one JSON line.
import { closeSync, fchmodSync, fstatSync, fsyncSync, futimesSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { commitFiles } from '../../src/transfer/commit-file.ts';

const [folder = '', count = '0', readyMode = '0', mode = '0'] = process.argv.slice(2);
const lastModified = 'Wed, 01 Jan 2025 00:00:00 GMT';
const items = [];
for (let i = 0; i < Number(count); i++) {
  const temporaryName = join(folder, `.f${i}.bits-tmp`);
  const fd = openSync(temporaryName, 'wx', 0o600);
  writeSync(fd, Buffer.alloc(4096, i));
  const at = new Date(Date.parse(lastModified));
  futimesSync(fd, at, at);
  fchmodSync(fd, Number(readyMode));
  fsyncSync(fd);
  const st = fstatSync(fd, { bigint: true });
  closeSync(fd);
  items.push({
    temporaryName,
    localName: join(folder, `f${i}`),
    lastModified,
    mode: Number(mode),
    fileId: `${st.dev}:${st.ino}`,
  });
}
process.stdout.write('publishing\n');
const outcomes = await commitFiles(items);
process.stdout.write(`${JSON.stringify({ outcomes: outcomes.map((o) => o?.name ?? null) })}\n`);
