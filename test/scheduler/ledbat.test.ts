import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BaseDelay,
  DEFAULT_YIELD_POLICY,
  nextYieldRate,
  type YieldSample,
  yieldClass,
} from '../../src/scheduler/ledbat.ts';

const policy = DEFAULT_YIELD_POLICY;
const normal = yieldClass(policy, 'NORMAL');
const sample = (s: Partial<YieldSample>): YieldSample => ({
  dtMs: 200,
  queueDelayMs: 0,
  used: 1,
  limited: false,
  otherRate: null,
  capacity: null,
  linkRate: null,
  ...s,
});

/** Apply the rule for `ms` in 200 ms steps. */
function run(rate: number, ms: number, s: Partial<YieldSample>, cls = normal): number {
  let r = rate;
  for (let t = 0; t < ms; t += 200) r = nextYieldRate(r, sample(s), cls, policy);
  return r;
}

describe('nextYieldRate (the LEDBAT-style rule)', () => {
  it('grows 8-fold per reaction time on an empty queue, and only while the job uses its rate', () => {
    const grown = run(100_000, policy.reactionMs, { queueDelayMs: 0 });
    assert.ok(Math.abs(grown / 100_000 - 8) < 0.01, `grew to ${grown}`);
    const idle = nextYieldRate(100_000, sample({ used: 0.1 }), normal, policy);
    assert.equal(idle, 100_000, 'a rate the job does not use does not grow');
    const waiting = nextYieldRate(100_000, sample({ used: 0, limited: true }), normal, policy);
    assert.ok(waiting > 100_000, 'a job waiting for its rate uses it, whatever it took lately');
  });

  it('shrinks 64-fold per reaction time with the queue at twice the target, never below the floor', () => {
    const shrunk = run(6_400_000, policy.reactionMs, { queueDelayMs: 2 * normal.targetDelayMs });
    assert.ok(Math.abs(shrunk - 100_000) < 100, `shrank to ${shrunk}`);
    assert.equal(run(6_400_000, 10 * policy.reactionMs, { queueDelayMs: 500 }), policy.floorRate);
  });

  it('holds at the target delay', () => {
    assert.equal(run(1_000_000, 5000, { queueDelayMs: normal.targetDelayMs }), 1_000_000);
  });

  it('NORMAL leaves other traffic room to double; LOW goes to the floor; HIGH looks at delay only', () => {
    const others = { queueDelayMs: 0, otherRate: 1_000_000, capacity: 2_500_000 };
    assert.equal(nextYieldRate(2_000_000, sample(others), normal, policy), 500_000);
    assert.equal(nextYieldRate(2_000_000, sample(others), yieldClass(policy, 'LOW'), policy), policy.floorRate);
    assert.ok(nextYieldRate(2_000_000, sample(others), yieldClass(policy, 'HIGH'), policy) > 2_000_000);
    // Traffic under a tenth of the capacity is not a reason to yield.
    const little = { ...others, otherRate: 100_000 };
    assert.equal(nextYieldRate(1_000_000, sample(little), yieldClass(policy, 'LOW'), policy) > 1_000_000, true);
  });

  it('drains a queue of its own gently, but gives way when a new flow it starves is seen', () => {
    const capacity = 2_400_000;
    const own = { queueDelayMs: 2 * normal.targetDelayMs, otherRate: 80_000, capacity };
    // 80 kB/s of others is under a tenth of the capacity: the queue is the job's own.
    assert.equal(run(2_300_000, 2000, own), 0.85 * capacity);
    // The same little traffic seen steadily (a foreground flow that gets only what the rate
    // leaves): the queue is someone's, the rate falls 64-fold per reaction time.
    const starved = run(2_300_000, 1000, { ...own, newFlow: true });
    assert.ok(starved < 0.02 * capacity, `fell to ${starved}`);
    // Even with no queue to say so, NORMAL falls to a quarter when it arrives — of what it took,
    // when that was less than its rate; LOW goes to the floor; HIGH keeps on.
    const arrived = { queueDelayMs: 0, otherRate: 80_000, capacity, newFlow: true, newFlowArrived: true };
    assert.equal(nextYieldRate(2_000_000, sample(arrived), normal, policy), 500_000);
    const paced = { ...arrived, newFlowForMs: 0, ownLately: 1_600_000, otherLately: 100_000 };
    assert.equal(nextYieldRate(5_000_000, sample(paced), normal, policy), 400_000);
    // A job that took nothing lately (a stalled read) goes to the floor, never below it.
    const stalled = { ...paced, ownLately: 0 };
    assert.equal(nextYieldRate(5_000_000, sample(stalled), normal, policy), policy.floorRate);
    assert.equal(nextYieldRate(2_000_000, sample(arrived), yieldClass(policy, 'LOW'), policy), policy.floorRate);
    assert.ok(nextYieldRate(2_000_000, sample(arrived), yieldClass(policy, 'HIGH'), policy) > 2_000_000);
  });

  it('for two reaction times after a new flow arrives NORMAL does not grow, and falls until the newcomer has twice its rate', () => {
    const capacity = 2_500_000;
    // A queue under the target (senders that pace, as BBR does, build none) would let it grow.
    const seen = { queueDelayMs: 3, otherRate: 120_000, capacity, newFlow: true, newFlowForMs: 400 };
    const down = DEFAULT_YIELD_POLICY.reactionMs / 200;
    const starved = nextYieldRate(
      2_000_000,
      sample({ ...seen, ownLately: 2_000_000, otherLately: 300_000 }),
      normal,
      policy,
    );
    assert.ok(Math.abs(starved - 2_000_000 / 64 ** (1 / down)) < 1, `fell to ${starved}`);
    // The newcomer has twice what the job takes: no more fall, and no growth either.
    const roomy = sample({ ...seen, otherRate: 120_000, ownLately: 400_000, otherLately: 800_000 });
    assert.equal(nextYieldRate(400_000, roomy, normal, policy), 400_000);
    // HIGH and LOW are not affected (HIGH looks at the delay only, LOW is at the floor already).
    const high = nextYieldRate(
      400_000,
      sample({ ...seen, ownLately: 400_000, otherLately: 100_000 }),
      yieldClass(policy, 'HIGH'),
      policy,
    );
    assert.ok(high > 400_000, `HIGH went to ${high}`);
    // Two reaction times on, a flow that stayed (a small steady one) no longer holds the job down:
    // it grows again, up to what the cap leaves.
    const later = sample({
      ...seen,
      newFlowForMs: 2 * DEFAULT_YIELD_POLICY.reactionMs,
      ownLately: 400_000,
      otherLately: 120_000,
    });
    assert.ok(nextYieldRate(400_000, later, normal, policy) > 400_000);
  });

  it('LOW aims at half the delay NORMAL aims at, HIGH at twice', () => {
    assert.equal(yieldClass(policy, 'LOW').targetDelayMs, policy.targetDelayMs / 2);
    assert.equal(yieldClass(policy, 'HIGH').targetDelayMs, policy.targetDelayMs * 2);
    // A queue NORMAL accepts makes LOW back off.
    const q = { queueDelayMs: policy.targetDelayMs };
    assert.ok(nextYieldRate(1_000_000, sample(q), yieldClass(policy, 'LOW'), policy) < 1_000_000);
  });

  it('without a delay sample it changes nothing but the caps', () => {
    assert.equal(nextYieldRate(1_000_000, sample({ queueDelayMs: null }), normal, policy), 1_000_000);
  });
});

describe('BaseDelay (RFC 6817 base history)', () => {
  it('is the minimum of the last ten minutes, and forgets older ones', () => {
    const base = new BaseDelay();
    assert.equal(base.value, null);
    base.update(5, 0);
    base.update(9, 30_000);
    assert.equal(base.value, 5);
    for (let m = 1; m <= 10; m++) base.update(8 + m, m * 60_000);
    assert.equal(base.value, 9, 'minute 0 is forgotten after ten minutes');
  });
});
