import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WARM_UP_DELAY_MS, warmUpTransfers } from '../../src/daemon/warm-up.ts';
import { tempDir } from '../api/helpers.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

describe('bitsd warms up what a first download needs', () => {
  it('loads the modules a moment after the first answer, not before, and says how long it took', async () => {
    const clock = new TestClock();
    const logged: number[] = [];
    let loads = 0;
    let finish = (): void => {};
    warmUpTransfers(
      clock,
      (ms) => logged.push(ms),
      () => {
        loads++;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    );
    clock.advance(WARM_UP_DELAY_MS - 1);
    assert.equal(loads, 0, 'the first requests come first');
    clock.advance(1);
    assert.equal(loads, 1);
    clock.advance(30);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(logged, [30]);
  });

  it('a failed load is left to the first download, which reports it', async () => {
    const clock = new TestClock();
    const logged: number[] = [];
    warmUpTransfers(
      clock,
      (ms) => logged.push(ms),
      () => Promise.reject(new Error('broken module')),
    );
    clock.advance(WARM_UP_DELAY_MS);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(logged, []);
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
