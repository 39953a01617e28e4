import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineLimiters, TokenBucket } from '../../src/scheduler/token-bucket.ts';
import { TestClock } from '../helpers/test-clock.ts';

/** Drain `rounds` takes of `chunk` bytes from each of `takers` and record when each is granted. */
async function drain(bucket: TokenBucket, clock: TestClock, takers: string[], chunk: number, rounds: number) {
  const grants: Array<{ who: string; at: number }> = [];
  const signal = new AbortController().signal;
  const loops = takers.map(async (who) => {
    for (let i = 0; i < rounds; i++) {
      await bucket.take(chunk, signal);
      grants.push({ who, at: clock.monotonicMs() });
    }
  });
  let guard = 0;
  while (grants.length < takers.length * rounds && guard++ < 100_000) {
    await new Promise((r) => setImmediate(r));
    clock.advance(10);
  }
  await Promise.all(loops);
  return grants;
}

describe('TokenBucket (throttling on the injected clock)', () => {
  it('holds the mean rate within 2% over 30 s', async () => {
    const clock = new TestClock();
    const rate = 1_000_000;
    const bucket = new TokenBucket(clock, rate);
    const grants = await drain(bucket, clock, ['a'], 64 * 1024, 460);
    const last = grants.at(-1)?.at ?? 0;
    const bytes = grants.length * 64 * 1024;
    const mean = bytes / (last / 1000);
    assert.ok(Math.abs(mean - rate) / rate < 0.02, `mean ${mean} B/s`);
  });

  it('gives two jobs sharing one bucket equal shares', async () => {
    const clock = new TestClock();
    const bucket = new TokenBucket(clock, 500_000);
    const grants = await drain(bucket, clock, ['a', 'b'], 32 * 1024, 100);
    const firstHalf = grants.slice(0, 100);
    const a = firstHalf.filter((g) => g.who === 'a').length;
    assert.ok(a >= 45 && a <= 55, `a got ${a} of the first 100 grants`);
  });

  it('blocks at rate 0 until the rate changes', async () => {
    const clock = new TestClock();
    const bucket = new TokenBucket(clock, 0);
    let granted = false;
    // The initial burst is the 16 KiB floor; drain it first.
    await bucket.take(16 * 1024, new AbortController().signal);
    const wait = bucket.take(1024, new AbortController().signal);
    assert.ok(wait !== null, 'no tokens left: the take waits');
    const p = wait.then(() => {
      granted = true;
    });
    clock.advance(60_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(granted, false);
    bucket.setRate(1_000_000);
    clock.advance(100);
    await p;
    assert.equal(granted, true);
  });

  it('lets at most its burst through at once after an idle spell (a tenth of a second unless told)', async () => {
    const signal = new AbortController().signal;
    const burstAfterIdle = async (bucket: TokenBucket, clock: TestClock) => {
      clock.advance(5000);
      let granted = 0;
      for (;;) {
        let done = false;
        const p = (bucket.take(8 * 1024, signal) ?? Promise.resolve()).then(() => {
          done = true;
        });
        await new Promise((r) => setImmediate(r));
        if (!done) {
          clock.advance(1000);
          await p;
          return granted;
        }
        granted += 8 * 1024;
      }
    };
    const clock = new TestClock();
    // 4 MB/s: a tenth of a second is 400 kB; 25 ms is 100 kB (the next take runs into debt).
    const tenth = await burstAfterIdle(new TokenBucket(clock, 4_000_000), clock);
    assert.ok(tenth >= 400_000 && tenth <= 400_000 + 8 * 1024, `${tenth} bytes at once`);
    const paced = await burstAfterIdle(new TokenBucket(clock, 4_000_000, { burstMs: 25 }), clock);
    assert.ok(paced >= 100_000 && paced <= 100_000 + 8 * 1024, `${paced} bytes at once`);
  });

  it('rejects a waiting take when its signal aborts', async () => {
    const clock = new TestClock();
    const bucket = new TokenBucket(clock, 1000);
    const ac = new AbortController();
    await bucket.take(100_000, ac.signal);
    const p = bucket.take(1000, ac.signal);
    assert.ok(p !== null, 'in debt: the take waits');
    ac.abort(new Error('stopped'));
    await assert.rejects(p, /stopped/);
  });

  it('grants at once, with no promise, what no limit holds; a limited take is a promise even when granted', async () => {
    const clock = new TestClock();
    const signal = new AbortController().signal;
    const unlimited = new TokenBucket(clock, Number.POSITIVE_INFINITY);
    assert.equal(unlimited.take(1 << 20, signal), null);
    const limited = new TokenBucket(clock, 1_000_000); // a burst of 100 kB
    const granted = limited.take(64 * 1024, signal);
    assert.ok(granted instanceof Promise, 'within the burst, still a promise (the reader pauses)');
    await granted;
    // Combined: null while no limit applies, else one promise for all of them in turn.
    const machine = new TokenBucket(clock, Number.POSITIVE_INFINITY);
    const job = new TokenBucket(clock, Number.POSITIVE_INFINITY);
    const both = combineLimiters([machine, job]);
    assert.equal(both?.take(1 << 20, signal), null);
    job.setRate(64 * 1024);
    const wait = both?.take(1024, signal);
    assert.ok(wait instanceof Promise, 'a limit makes the reader wait for its grant');
    await wait;
  });

  it('tells its listeners when a limit begins (not when a limit changes or ends), through combined limiters too', () => {
    const clock = new TestClock();
    const machine = new TokenBucket(clock, Number.POSITIVE_INFINITY);
    const job = new TokenBucket(clock, Number.POSITIVE_INFINITY);
    const combined = combineLimiters([machine, job]);
    const heard: string[] = [];
    const stop = combined?.onLimited?.(() => heard.push('combined'));
    machine.onLimited(() => heard.push('machine'));
    machine.setRate(64 * 1024);
    machine.setRate(32 * 1024);
    machine.setRate(Number.POSITIVE_INFINITY);
    assert.deepEqual(heard, ['combined', 'machine']);
    stop?.();
    job.setRate(1024);
    machine.setRate(1024);
    assert.deepEqual(heard, ['combined', 'machine', 'machine']);
  });
});
