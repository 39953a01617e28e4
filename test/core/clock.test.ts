import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { MAX_TIMEOUT_MS, systemClock } from '../../src/core/clock.ts';

// Regression: there were two system clocks. The upload server's clamped a delay to setTimeout's
// ceiling (2^31-1 ms, ~24.8 days) and so fired a 90-day MaxDownloadTime or a long Cancel-Session
// window weeks early; the service's waited it out in steps. The one clock must wait out the
// whole delay. setTimeout is mocked, so no test sleeps.
describe('systemClock timers', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('a delay past 2^31 ms fires when due, not at the ceiling and not at once', () => {
    let fired = 0;
    systemClock.setTimer(MAX_TIMEOUT_MS + 5_000, () => fired++);
    mock.timers.tick(1);
    assert.equal(fired, 0, 'fired at once (setTimeout overflow)');
    mock.timers.tick(MAX_TIMEOUT_MS);
    assert.equal(fired, 0, 'fired at the 2^31 ms ceiling, 5 s early');
    mock.timers.tick(4_998);
    assert.equal(fired, 0);
    mock.timers.tick(2);
    assert.equal(fired, 1);
  });

  it('a long timer can be cancelled in any of its steps; a short one fires once', () => {
    let long = 0;
    let short = 0;
    const handle = systemClock.setTimer(3 * MAX_TIMEOUT_MS, () => long++);
    systemClock.setTimer(10, () => short++);
    mock.timers.tick(MAX_TIMEOUT_MS + 1);
    handle.cancel();
    mock.timers.tick(3 * MAX_TIMEOUT_MS);
    assert.equal(long, 0);
    assert.equal(short, 1);
  });
});
