import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobTimers } from '../../src/core/index.ts';
import {
  DEFAULT_TIMERS,
  isDefaultTimers,
  SAVE_STEP_MS,
  SavedTimers,
  timersMoved,
} from '../../src/service/saved-timers.ts';

const t = (activeMs: number, noProgressMs: number | null, retryRemainingMs: number | null, inactiveMs: number) =>
  ({ activeMs, noProgressMs, retryRemainingMs, inactiveMs }) satisfies JobTimers;

describe('saved timers: written only when a value moved by 1 s or flipped null', () => {
  it('the step is one second', () => {
    assert.equal(SAVE_STEP_MS, 1000);
  });

  it('nothing saved yet: always written', () => {
    assert.equal(timersMoved(undefined, DEFAULT_TIMERS), true);
  });

  const cases: Array<[string, JobTimers, JobTimers, boolean]> = [
    ['the same values', t(500, null, null, 20), t(500, null, null, 20), false],
    ['milliseconds later (a Resume, a pick, a Cancel)', t(0, null, null, 0), t(3, null, null, 7), false],
    ['activeMs 999 ms on', t(0, null, null, 0), t(999, null, null, 0), false],
    ['activeMs 1000 ms on', t(0, null, null, 0), t(1000, null, null, 0), true],
    ['activeMs back to 0 from 1.5 s (a Resume resets it)', t(1500, null, null, 0), t(0, null, null, 0), true],
    ['activeMs 0.4 s back (still within the step)', t(400, null, null, 0), t(0, null, null, 0), false],
    ['inactiveMs 1 s on', t(0, null, null, 200), t(0, null, null, 1200), true],
    ['inactiveMs 0.9 s on', t(0, null, null, 200), t(0, null, null, 1100), false],
    ['a retry timer opens (null → 0)', t(0, null, null, 0), t(0, null, 0, 0), true],
    ['a retry timer closes (5 ms → null)', t(0, null, 5, 0), t(0, null, null, 0), true],
    ['retryRemainingMs 999 ms less', t(0, 0, 5000, 0), t(0, 999, 4001, 0), false],
    ['retryRemainingMs 1 s less', t(0, 0, 5000, 0), t(0, 999, 4000, 0), true],
    ['a no-progress window opens (null → 0)', t(0, null, null, 0), t(0, 0, null, 0), true],
    ['a no-progress window closes', t(0, 10, null, 0), t(0, null, null, 0), true],
    ['noProgressMs 1 s on', t(0, 10, null, 0), t(0, 1010, null, 0), true],
  ];
  for (const [name, saved, next, expected] of cases) {
    it(`${name}: ${expected ? 'written' : 'not written'}`, () => {
      assert.equal(timersMoved(saved, next), expected);
    });
  }

  it('defaults are 0 and null only', () => {
    assert.equal(isDefaultTimers(DEFAULT_TIMERS), true);
    assert.equal(isDefaultTimers(t(0, null, null, 0)), true);
    assert.equal(isDefaultTimers(t(1, null, null, 0)), false);
    assert.equal(isDefaultTimers(t(0, null, null, 1)), false);
    assert.equal(isDefaultTimers(t(0, 0, null, 0)), false);
    assert.equal(isDefaultTimers(t(0, null, 0, 0)), false);
  });

  it('a new job with default timers stores none; others are stored as given', () => {
    const saved = new SavedTimers();
    assert.equal(saved.initial(t(0, null, null, 0)), undefined);
    const odd = t(0, null, 5, 0);
    assert.equal(saved.initial(odd), odd);
  });

  it('compares with the value last saved, never the last one seen (small moves do not add up unseen)', () => {
    const saved = new SavedTimers();
    saved.stored('a', undefined); // created with defaults: no row, which restores as defaults
    let written = 0;
    for (let ms = 0; ms <= 3000; ms += 300) {
      const due = saved.due('a', t(ms, null, null, 0));
      if (due === undefined) continue;
      written++;
      saved.stored('a', due);
    }
    // 0 → 1200 → 2400 (each at least 1 s past the last write): at most 1 s behind at any time.
    assert.equal(written, 2);
    assert.deepEqual(saved.due('a', t(2400 + 999, null, null, 0)), undefined);
  });

  it('an unknown job (none saved by this process) is always written; a forgotten one again', () => {
    const saved = new SavedTimers();
    assert.deepEqual(saved.due('x', DEFAULT_TIMERS), DEFAULT_TIMERS);
    saved.stored('x', DEFAULT_TIMERS);
    assert.equal(saved.due('x', DEFAULT_TIMERS), undefined);
    saved.forget('x');
    assert.deepEqual(saved.due('x', DEFAULT_TIMERS), DEFAULT_TIMERS);
  });
});
