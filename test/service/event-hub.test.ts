// The event hub's progress coalescing and its order promise (docs/api.md, event stream): at most
// 10 progress events a second per job; a file:transferred never overtakes held-back progress,
// and does not flush it either (a job of many small files would get one progress per file).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import type { JobProgress } from '../../src/core/index.ts';
import { EventHub } from '../../src/service/event-hub.ts';
import { TestClock } from '../helpers/test-clock.ts';

const JOB = '6e0faea9-2a2c-4b4a-a77b-108aadb6d944';

function progressAt(filesTransferred: number): JobProgress {
  return { bytesTotal: 1000, bytesTransferred: filesTransferred * 10, filesTotal: 100, filesTransferred };
}

function label(e: ManagerEvent): string {
  if (e.type === 'job:progress') return `progress${e.progress.filesTransferred}`;
  if (e.type === 'file:transferred') return `file${e.fileIndex}`;
  if (e.type === 'job:state') return `state:${e.state}`;
  return e.type;
}

function hubWithLog(): { hub: EventHub; clock: TestClock; seen: string[] } {
  const clock = new TestClock();
  const hub = new EventHub(clock);
  const seen: string[] = [];
  hub.subscribe((e) => seen.push(label(e)), { jobId: JOB });
  return { hub, clock, seen };
}

describe('EventHub', () => {
  it('holds file:transferred behind held-back progress and sends them after it, ≤ 10 progress/s', () => {
    const { hub, clock, seen } = hubWithLog();
    let done = 0;
    let computed = 0;
    const compute = (): JobProgress => {
      computed++;
      return progressAt(done);
    };
    // 100 small files in 500 ms: each reports progress, then is transferred.
    for (let i = 0; i < 100; i++) {
      hub.progress(JOB, compute);
      done = i + 1;
      hub.emit({ type: 'file:transferred', jobId: JOB, fileIndex: i });
      clock.advance(5);
    }
    hub.emit({ type: 'job:state', jobId: JOB, state: 'TRANSFERRED', previous: 'TRANSFERRING' });
    const progress = seen.filter((s) => s.startsWith('progress'));
    assert.ok(progress.length <= 7, `${progress.length} progress events in 500 ms: ${seen.join(' ')}`);
    assert.equal(computed, progress.length, 'totals are computed only for the progress delivered');
    assert.deepEqual(
      seen.filter((s) => s.startsWith('file')),
      Array.from({ length: 100 }, (_, i) => `file${i}`),
      'every file, in order',
    );
    // Each file comes after a progress event that counts it.
    let counted = 0;
    for (const s of seen) {
      if (s.startsWith('progress')) counted = Number(s.slice('progress'.length));
      else if (s.startsWith('file'))
        assert.ok(Number(s.slice(4)) < counted, `${s} before its progress: ${seen.join(' ')}`);
    }
    assert.equal(seen.at(-1), 'state:TRANSFERRED');
    assert.equal(seen.at(-2), 'file99', 'the state change flushed the held files first');
  });

  it('a file right after a progress event waits for a recount (≤ 100 ms); with no run progress, none', () => {
    const { hub, clock, seen } = hubWithLog();
    let done = 0;
    hub.progress(JOB, () => progressAt(done));
    done = 1;
    hub.emit({ type: 'file:transferred', jobId: JOB, fileIndex: 0 });
    assert.deepEqual(seen, ['progress0']);
    clock.advance(100);
    assert.deepEqual(seen, ['progress0', 'progress1', 'file0']);
    clock.advance(100);
    done = 2;
    hub.emit({ type: 'file:transferred', jobId: JOB, fileIndex: 1 });
    assert.deepEqual(seen.slice(3), ['progress2', 'file1'], 'past the gap: counted and sent at once');
    hub.emit({ type: 'job:state', jobId: JOB, state: 'SUSPENDED', previous: 'TRANSFERRING' });
    hub.emit({ type: 'file:transferred', jobId: JOB, fileIndex: 2 });
    assert.deepEqual(seen.slice(5), ['state:SUSPENDED', 'file2'], 'no run: no progress to count it');
  });

  it('a progress due after the gap goes out with the files held behind an older one', () => {
    const { hub, clock, seen } = hubWithLog();
    hub.progress(JOB, () => progressAt(0));
    hub.progress(JOB, () => progressAt(0)); // held back
    hub.emit({ type: 'file:transferred', jobId: JOB, fileIndex: 0 });
    assert.deepEqual(seen, ['progress0']);
    clock.advance(100);
    assert.deepEqual(seen, ['progress0', 'progress0', 'file0']);
  });
});
