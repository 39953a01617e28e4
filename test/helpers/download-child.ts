// Runs one downloadFile in its own process (for fault injection around it, e.g. strace) and
// prints what the hooks reported as one JSON line: argv = remoteName localName checkpointBytes.

import { systemClock as realClock } from '../../src/core/clock.ts';
import { downloadFile, isTransferError } from '../../src/transfer/index.ts';
import { RecordedFile } from './download-request.ts';

const [remoteName = '', localName = '', checkpointBytes = '1048576'] = process.argv.slice(2);
const f = new RecordedFile(remoteName, localName);
let failure: unknown = null;
try {
  await downloadFile(f.request({ clock: realClock, options: { checkpointBytes: Number(checkpointBytes) } }));
} catch (err) {
  failure = isTransferError(err) ? err.failure : String(err);
}
process.stdout.write(
  `${JSON.stringify({ checkpoints: f.checkpoints, temporaryName: f.temporaryName, temporaryFileId: f.temporaryFileId, bytesTotal: f.bytesTotal, validators: f.validators, failure })}\n`,
);
