import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scheduler, type SchedulerActions } from '../../src/scheduler/scheduler.ts';
import { TestClock } from '../helpers/test-clock.ts';

const policy = { maxBackgroundJobs: 1, timeSliceMs: 60_000, jobInactivityTimeoutMs: 10 ** 12 };

function scheduler(clock: TestClock): { s: Scheduler; fired: string[] } {
  const fired: string[] = [];
  const record =
    (what: string) =>
    (id: string): void => {
      fired.push(`${what}:${id}`);
    };
  const actions: SchedulerActions = {
    start: () => {},
    preempt: record('preempt'),
    retryDue: record('retry'),
    noProgressTimeout: record('no-progress'),
    maxDownloadTime: record('max'),
    inactivityTimeout: record('inactive'),
  };
  return { s: new Scheduler(clock, policy, actions), fired };
}

const props = { priority: 'NORMAL' as const, maxDownloadTimeS: 100, noProgressTimeoutS: 50 };

describe('scheduler timers as the transition step saves them', () => {
  it('timersOnEntering predicts what entering a phase leaves, and changes nothing', () => {
    const clock = new TestClock();
    const { s } = scheduler(clock);
    s.track('j', props);
    s.queued('j');
    s.running('j');
    clock.advance(3_000);
    const before = s.timers('j');
    assert.deepEqual(s.timersOnEntering('j', 'waiting', 10_000), {
      activeMs: 3_000,
      noProgressMs: 0,
      retryRemainingMs: 10_000,
      inactiveMs: 3_000,
    });
    assert.deepEqual(s.timersOnEntering('j', 'waiting', null), { ...before, retryRemainingMs: null });
    assert.deepEqual(s.timersOnEntering('j', 'idle'), { ...before, noProgressMs: null, retryRemainingMs: null });
    assert.deepEqual(s.timers('j'), before, 'prediction changed the scheduler');
    // What the prediction said is what entering the phase does.
    s.transient('j', 10_000);
    assert.deepEqual(s.timers('j'), { activeMs: 3_000, noProgressMs: 0, retryRemainingMs: 10_000, inactiveMs: 3_000 });
    clock.advance(1_000);
    assert.deepEqual(s.timersOnEntering('j', 'queued'), {
      activeMs: 3_000,
      noProgressMs: 1_000,
      retryRemainingMs: null,
      inactiveMs: 4_000,
    });
  });

  it('CONNECTING → TRANSFERRING keeps counting MaximumDownloadTime from the start of the run', () => {
    // Entering TRANSFERRING used to restart the run's clock: the time spent connecting was lost
    // and the MaxDownloadTime deadline moved later by as much.
    const clock = new TestClock();
    const { s, fired } = scheduler(clock);
    s.track('j', props);
    s.queued('j');
    s.running('j');
    clock.advance(40_000);
    s.running('j');
    clock.advance(59_999);
    assert.deepEqual(fired, []);
    assert.equal(s.timers('j').activeMs, 99_999);
    clock.advance(1);
    assert.deepEqual(fired, ['max:j']);
    s.stop();
  });
});
