import type { JobPriority } from '../core/index.ts';

/**
 * The yield policy (`bandwidth.yield` in the policy file): background jobs move bytes with the
 * link's idle capacity and give way to other traffic, in the spirit of LEDBAT (RFC 6817).
 */
export interface YieldPolicy {
  readonly enabled: boolean;
  /** The rate a yielding job never goes below (bytes/s), so it keeps measuring. */
  readonly floorRate: number;
  /** How long a queue at twice the target takes to bring the rate from the link's to the floor. */
  readonly reactionMs: number;
  /** Queueing delay NORMAL jobs aim at (RFC 6817 TARGET); HIGH aims at twice it, LOW at half. */
  readonly targetDelayMs: number;
}

export const DEFAULT_YIELD_POLICY: YieldPolicy = {
  enabled: true,
  floorRate: 16 * 1024,
  reactionMs: 1000,
  targetDelayMs: 15,
};

/** How a background priority yields: its target delay and what it does when it sees other traffic. */
export interface YieldClass {
  readonly targetDelayMs: number;
  /** `cap`: take at most what the others leave; `floor`: any other traffic sends it to the floor; `none`: delay only. */
  readonly others: 'none' | 'cap' | 'floor';
}

/** LOW yields more than NORMAL, NORMAL more than HIGH (FOREGROUND never yields). */
export function yieldClass(policy: YieldPolicy, priority: Exclude<JobPriority, 'FOREGROUND'>): YieldClass {
  switch (priority) {
    case 'HIGH':
      return { targetDelayMs: policy.targetDelayMs * 2, others: 'none' };
    case 'NORMAL':
      return { targetDelayMs: policy.targetDelayMs, others: 'cap' };
    case 'LOW':
      return { targetDelayMs: policy.targetDelayMs / 2, others: 'floor' };
  }
}

/** What one control step sees. */
export interface YieldSample {
  /** Time since the previous step. */
  readonly dtMs: number;
  /** Queueing delay now (current filtered delay minus the base delay); null when unknown. */
  readonly queueDelayMs: number | null;
  /** The share of the bytes its rate allowed over the last reaction time that the job took. */
  readonly used: number;
  /** Whether the job is waiting for the rate now (it would take more). */
  readonly limited: boolean;
  /** Other traffic on the interface (its counters less headers, minus our own bytes), or null without counters. */
  readonly otherRate: number | null;
  /**
   * Others have crossed the interface steadily in the last steps, though maybe only a little
   * (a new flow starved by the job's rate): the queue is not the job's own. Optional: false.
   */
  readonly newFlow?: boolean;
  /** `newFlow` became true at this step. Optional: false. */
  readonly newFlowArrived?: boolean;
  /** How long `newFlow` has held (ms since it arrived). Optional: unknown, as if long ago. */
  readonly newFlowForMs?: number;
  /**
   * The job's own rate and the others' over the last two steps (the fast path), or null. Optional:
   * without them the rule cannot tell whether the new flow still gets less than the job.
   */
  readonly ownLately?: number | null;
  readonly otherLately?: number | null;
  /** The most the interface carried lately (payload bytes/s); null without counters. */
  readonly capacity: number | null;
  /** The most it carried lately while a queue stood: the link's rate; null until seen. */
  readonly linkRate: number | null;
}

/** A rate doubles in a third of the reaction time when the queue is empty. */
const UP_DOUBLINGS_PER_REACTION = 3;
/** A queue at twice the target for the reaction time divides the rate by this. */
const DOWN_FACTOR_PER_REACTION = 64;
/** Other traffic counts once it is above this share of the capacity (and the floor below). */
const OTHERS_SHARE = 0.1;
const OTHERS_MIN_RATE = 64 * 1024;
/**
 * Only a rate the job uses may grow: a slow server would let it run away, and a link that carries
 * less than the rate needs no more of it (the queue the sender builds then says how far to go).
 */
const USE_TO_GROW = 0.75;

/** Near the link's capacity growth turns additive: a tenth of the capacity per reaction time. */
const NEAR_CAPACITY = 0.9;
/**
 * A queue only the job built is drained gently (a queue near the target is what LEDBAT aims at,
 * and a burst of window updates makes one for a step or two), down to here, not to the floor.
 */
const OWN_DOWN_FACTOR_PER_REACTION = 4;
const OWN_QUEUE_DRAIN = 0.85;
/**
 * For this many reaction times after a new flow arrives, NORMAL does not grow, and it shrinks as
 * under a queue at twice the target until the newcomer gets twice what the job takes, whatever
 * the delay says: senders that pace (BBR) keep the queue under the target however full the link
 * is, so there the queue never says that the newcomer is starved. Only then: a small flow that
 * stays beside the job costs it one dip, and the cap below gives it back what that flow leaves.
 */
const NEW_FLOW_YIELD_REACTIONS = 2;
/** NORMAL's rate when a new flow is first seen: what it took, divided by this. */
const NEW_FLOW_CUT = 4;

/**
 * One step of the rate rule. RFC 6817 moves its window in proportion to how far the queueing
 * delay is off target; this does the same to a rate. Off target by +1 (empty queue) the rate
 * grows 8-fold per reaction time (so it fills an idle link within seconds whatever its speed) up
 * to 90 % of the link's rate (what the counters showed while a queue stood), and from there by a
 * tenth of it per reaction time (so it does not overshoot the link by much); off by -1 (queue at
 * twice the target) it shrinks 64-fold per reaction time. While the counters show no other
 * traffic the queue is the job's own: it is only drained, 4-fold per reaction time at most and
 * down to 85 % of the capacity, not given away. Traffic of others caps the rate at what they
 * leave with room for them to double (NORMAL) or sends it to the floor (LOW). A new flow counts
 * as others however little it gets: NORMAL falls to a quarter of what it took when one is first
 * seen, and for two reaction times after does not grow and shrinks as under a queue at twice the
 * target until the newcomer gets twice what the job takes, whatever the delay (paced senders
 * build no queue to say so). Never below the floor.
 */
export function nextYieldRate(rate: number, s: YieldSample, cls: YieldClass, policy: YieldPolicy): number {
  const floor = policy.floorRate;
  const current = Math.max(rate, floor);
  const cap = s.capacity;
  const others =
    s.newFlow === true || (s.otherRate !== null && s.otherRate > Math.max(OTHERS_MIN_RATE, OTHERS_SHARE * (cap ?? 0)));
  // What the job took lately, when it took less than its rate allows: a cut is made from that (a
  // paced sender, BBR, lets a rate grow far past the link's without ever using it).
  const taken = Math.max(floor, Math.min(current, s.ownLately ?? current));
  let next = current;
  if (s.queueDelayMs !== null) {
    const off = Math.max(-1, Math.min(1, (cls.targetDelayMs - s.queueDelayMs) / cls.targetDelayMs));
    const share = (s.dtMs / policy.reactionMs) * off;
    if (off < 0) {
      const own = cap !== null && s.otherRate !== null && !others;
      next = current * Math.exp(Math.log(own ? OWN_DOWN_FACTOR_PER_REACTION : DOWN_FACTOR_PER_REACTION) * share);
      if (own) next = Math.min(current, Math.max(next, OWN_QUEUE_DRAIN * (cap as number)));
    } else if (off > 0 && (s.limited || s.used >= USE_TO_GROW)) {
      const link = s.linkRate;
      if (link !== null && current >= NEAR_CAPACITY * link) next = current + 0.1 * link * share;
      else {
        next = current * Math.exp(UP_DOUBLINGS_PER_REACTION * Math.LN2 * share);
        if (link !== null) next = Math.min(next, NEAR_CAPACITY * link);
      }
    }
  }
  if (
    cls.others === 'cap' &&
    s.newFlow === true &&
    (s.newFlowForMs ?? Number.POSITIVE_INFINITY) < NEW_FLOW_YIELD_REACTIONS * policy.reactionMs
  ) {
    // The newcomer is still finding its rate: no growth, and a fall until it gets twice what the
    // job takes (room to double, as the cap below leaves it).
    next = Math.min(next, current);
    if (s.ownLately != null && s.otherLately != null && 2 * s.ownLately > s.otherLately)
      next = Math.min(next, taken / DOWN_FACTOR_PER_REACTION ** (s.dtMs / policy.reactionMs));
  }
  if (others && cls.others === 'floor') next = floor;
  // A flow that just arrived and gets only what the job leaves it: a quarter of what the job took
  // at once (TCP halves on a loss; a background job gives more), so the newcomer grows into the
  // room and the cap below sees it in a step or two.
  if (s.newFlowArrived === true && cls.others === 'cap') next = Math.min(next, taken / NEW_FLOW_CUT);
  // Room for twice what the others carry: a new flow grows into it instead of waiting for the queue.
  if (others && cls.others === 'cap' && cap !== null) next = Math.min(next, cap - 2 * (s.otherRate as number));
  return Math.max(floor, next);
}

/**
 * The base delay of RFC 6817 §3.4.2: the minimum of the last ten one-minute minimums, so a
 * route change is forgotten within ten minutes while a long queue never becomes the base.
 */
export class BaseDelay {
  readonly #minutes: Array<{ minute: number; min: number }> = [];

  update(delayMs: number, nowMs: number): void {
    const minute = Math.floor(nowMs / 60_000);
    const last = this.#minutes.at(-1);
    if (last !== undefined && last.minute === minute) last.min = Math.min(last.min, delayMs);
    else this.#minutes.push({ minute, min: delayMs });
    while (this.#minutes.length > 0 && (this.#minutes[0] as { minute: number }).minute <= minute - 10)
      this.#minutes.shift();
  }

  /** The base delay, or null before the first sample. */
  get value(): number | null {
    if (this.#minutes.length === 0) return null;
    return Math.min(...this.#minutes.map((m) => m.min));
  }
}
