// A run's live totals (LiveFiles) are kept per report and always equal jobProgress of its files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type JobFile, jobProgress, SIZE_UNKNOWN } from '../../src/core/index.ts';
import { LiveFiles } from '../../src/service/live-files.ts';

function file(index: number, bytesTotal: number, bytesTransferred = 0, transferred = false): JobFile {
  return { index, bytesTotal, bytesTransferred, transferred } as JobFile;
}

describe('LiveFiles', () => {
  it('keeps the totals of jobProgress through every kind of change, in O(1) per change', () => {
    const live = new LiveFiles([file(0, 100, 100, true), file(1, SIZE_UNKNOWN), file(2, 50, 10)]);
    assert.deepEqual(live.progress, jobProgress(live.files));
    assert.equal(live.progress.bytesTotal, SIZE_UNKNOWN);
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 500; step++) {
      const i = next(3);
      const kind = next(3);
      if (kind === 0) live.set(i, { bytesTransferred: next(200) });
      else if (kind === 1) live.set(i, { bytesTotal: next(4) === 0 ? SIZE_UNKNOWN : next(200) });
      else live.set(i, { transferred: next(2) === 0 });
      assert.deepEqual(live.progress, jobProgress(live.files), `step ${step}`);
    }
    live.set(9, { bytesTransferred: 1 }); // no such file: ignored
    assert.deepEqual(live.progress, jobProgress(live.files));
  });
});
