import { constants, type FileHandle, open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { RemoteValidators } from '../core/index.ts';
import { validatorsChanged } from './content-range.ts';
import type { DownloadState } from './download-state.ts';
import { transferError } from './failure-table.ts';
import { planSegments, segmentsTotal, spanAt } from './range-plan.ts';
import { abortError } from './transfer-error.ts';

const READ_BYTES = 1024 * 1024;

/**
 * `file://` source: copied into the temp file with the same resume, checkpoint and
 * change-detection rules as HTTP (validators: size and mtime).
 */
export async function fileUrlDownload(st: DownloadState): Promise<void> {
  const path = fileURLToPath(st.url);
  let src: FileHandle;
  try {
    src = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw sourceError(err, path);
  }
  try {
    const stat = await src.stat();
    if (!stat.isFile()) throw transferError('source:not-a-file', `${path} is not a regular file`);
    const fresh: RemoteValidators = { size: stat.size, lastModified: stat.mtime.toUTCString(), etag: null };
    if (st.sink.position > 0 && validatorsChanged(st.validators, fresh)) {
      await st.restart('the source file changed (size or modification time)');
    }
    const segments = planSegments(st.req.ranges ?? [{ offset: 0, length: -1 }], stat.size);
    st.learn(segmentsTotal(segments), fresh);
    st.connected();
    let buf: Buffer | undefined;
    for (;;) {
      if (st.req.signal.aborted) throw abortError(st.req.signal);
      if (st.sink.position >= st.bytesTotal) return;
      const span = spanAt(segments, st.sink.position);
      if (span === null) return;
      const last = span.remoteLast ?? stat.size - 1;
      const want = Math.min(READ_BYTES, last - span.remoteFirst + 1);
      // One buffer serves every read: the sink copies what it is given before it returns.
      buf ??= Buffer.allocUnsafe(READ_BYTES);
      let n: number;
      try {
        ({ bytesRead: n } = await src.read(buf, 0, want, span.remoteFirst));
      } catch (err) {
        throw sourceError(err, path);
      }
      if (n === 0) throw transferError('remote:changed', `${path} shrank`);
      await st.sink.write(buf.subarray(0, n));
    }
  } finally {
    await src.close();
  }
}

function sourceError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return transferError('source:missing', `${path} does not exist`, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return transferError('source:denied', `${path} cannot be read`, { cause: err });
  }
  return transferError('source:other', `${path}: ${String(err)}`, { cause: err });
}
