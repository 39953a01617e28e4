import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WARM_UP_LATEST_MS, WARM_UP_TICK_MS, WARM_UP_UNASKED_MS, warmUpTransfers } from '../../src/daemon/warm-up.ts';
import { tempDir } from '../api/helpers.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

describe('bitsd warms up what a first download needs', () => {
  /** Calls as the API server counts them, moved by hand. */
  const calls = () => {
    let inFlight = 0;
    let answered = 0;
    return {
      inFlight: () => inFlight,
      answered: () => answered,
      start: () => inFlight++,
      end: () => {
        inFlight--;
        answered++;
      },
    };
  };
  /** Steps that record when each starts and finish when the test says. */
  const steps = (n: number) => {
    const started: number[] = [];
    const finish: Array<() => void> = [];
    const list = Array.from({ length: n }, (_, i) => () => {
      started.push(i);
      return new Promise<void>((resolve) => {
        finish[i] = resolve;
      });
    });
    return { list, started, finish };
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('waits for the first answer, then loads one step per quiet tick, and says how long the loading took', async () => {
    const clock = new TestClock();
    const activity = calls();
    const logged: number[] = [];
    const s = steps(2);
    warmUpTransfers(clock, activity, (ms) => logged.push(ms), s.list);
    clock.advance(WARM_UP_TICK_MS * 5);
    assert.deepEqual(s.started, [], 'no call answered yet: the first call comes first');
    activity.start();
    clock.advance(WARM_UP_TICK_MS * 2);
    assert.deepEqual(s.started, [], 'a call in flight');
    activity.end();
    clock.advance(WARM_UP_TICK_MS);
    assert.deepEqual(s.started, [], 'a call was answered during the last tick');
    clock.advance(WARM_UP_TICK_MS);
    assert.deepEqual(s.started, [0], 'a quiet tick after the first answer');
    clock.advance(30);
    s.finish[0]?.();
    await settle();
    activity.start();
    clock.advance(WARM_UP_TICK_MS * 3);
    assert.deepEqual(s.started, [0], 'the next step waits for the call in flight');
    activity.end();
    clock.advance(WARM_UP_TICK_MS * 2);
    assert.deepEqual(s.started, [0, 1]);
    clock.advance(12);
    s.finish[1]?.();
    await settle();
    assert.deepEqual(logged, [42], "the steps' own time, not the waits between them");
    assert.equal(clock.pending, 0, 'nothing left armed');
  });

  it('with no call at all it warms up after WARM_UP_UNASKED_MS', async () => {
    const clock = new TestClock();
    const s = steps(1);
    const logged: number[] = [];
    warmUpTransfers(clock, calls(), (ms) => logged.push(ms), s.list);
    clock.advance(WARM_UP_UNASKED_MS - 1);
    assert.deepEqual(s.started, []);
    clock.advance(1); // the tick at WARM_UP_UNASKED_MS (a multiple of the tick)
    assert.deepEqual(s.started, [0]);
    s.finish[0]?.();
    await settle();
    assert.deepEqual(logged, [0]);
  });

  it('calls that never leave a quiet tick hold it WARM_UP_LATEST_MS at most', async () => {
    const clock = new TestClock();
    const activity = calls();
    const s = steps(1);
    warmUpTransfers(clock, activity, () => {}, s.list);
    // A call answered in every tick, from the start.
    for (let t = 0; t < WARM_UP_LATEST_MS - WARM_UP_TICK_MS; t += WARM_UP_TICK_MS) {
      activity.start();
      activity.end();
      clock.advance(WARM_UP_TICK_MS);
    }
    assert.deepEqual(s.started, [], 'never quiet before WARM_UP_LATEST_MS');
    activity.start();
    clock.advance(WARM_UP_TICK_MS);
    assert.deepEqual(s.started, [0], 'a call in flight, but the limit is reached');
  });

  it('a step that throws at once is a failed step, not an uncaught exception', async () => {
    const clock = new TestClock();
    const logged: number[] = [];
    warmUpTransfers(clock, calls(), (ms) => logged.push(ms), [
      () => {
        throw new Error('thrown synchronously');
      },
    ]);
    clock.advance(WARM_UP_UNASKED_MS + WARM_UP_TICK_MS);
    await settle();
    assert.deepEqual(logged, []);
    assert.equal(clock.pending, 0);
  });

  it('a failed step is left to the first download, which reports it: no log, no later step', async () => {
    const clock = new TestClock();
    const logged: number[] = [];
    let later = 0;
    warmUpTransfers(clock, calls(), (ms) => logged.push(ms), [
      () => Promise.reject(new Error('broken module')),
      async () => later++,
    ]);
    clock.advance(WARM_UP_UNASKED_MS + WARM_UP_TICK_MS);
    await settle();
    clock.advance(WARM_UP_TICK_MS * 3);
    await settle();
    assert.deepEqual(logged, []);
    assert.equal(later, 0);
    assert.equal(clock.pending, 0);
  });

  it('a real bitsd loads them on its own, with no job', async () => {
    const home = await tempDir('openbits-warm-');
    const daemon = await spawnDaemon(home.path, { OPENBITS_LOG_LEVEL: 'debug' });
    try {
      await until(() => daemon.stderr().includes('transfer modules loaded'), 'the warm-up log line', 60_000);
      const line = daemon
        .stderr()
        .split('\n')
        .find((l) => l.includes('transfer modules loaded'));
      assert.ok(line, daemon.stderr());
      assert.ok(Number.isFinite((JSON.parse(line) as { ms: number }).ms));
    } finally {
      await stopDaemon(daemon);
      await home.remove();
    }
  });
});
