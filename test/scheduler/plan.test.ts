import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobPriority } from '../../src/core/index.ts';
import { type PlanJob, planSchedule } from '../../src/scheduler/plan.ts';

const policy = { maxBackgroundJobs: 1, timeSliceMs: 1000 };
let seq = 0;
const job = (id: string, priority: JobPriority, running = false, runningSince: number | null = null): PlanJob => ({
  id,
  priority,
  running,
  queuedSeq: ++seq,
  runningSince: running ? (runningSince ?? 0) : null,
});

describe('planSchedule (bits-client.md §3.3)', () => {
  it('runs one background job at a time, first queued first', () => {
    const plan = planSchedule([job('a', 'NORMAL'), job('b', 'NORMAL')], 0, policy);
    assert.deepEqual(plan.start, ['a']);
    assert.deepEqual(plan.preempt, []);
  });

  it('runs HIGH before NORMAL before LOW, whatever the queue order', () => {
    const plan = planSchedule([job('low', 'LOW'), job('normal', 'NORMAL'), job('high', 'HIGH')], 0, policy);
    assert.deepEqual(plan.start, ['high']);
  });

  it('preempts a running lower-priority job when a higher one is queued', () => {
    const plan = planSchedule([job('low', 'LOW', true), job('high', 'HIGH')], 10, policy);
    assert.deepEqual(plan.preempt, ['low']);
    assert.deepEqual(plan.start, ['high']);
  });

  it('runs every FOREGROUND job beside the background one', () => {
    const plan = planSchedule(
      [job('bg', 'NORMAL', true), job('fg1', 'FOREGROUND'), job('fg2', 'FOREGROUND'), job('bg2', 'NORMAL')],
      10,
      policy,
    );
    assert.deepEqual([...plan.start].sort(), ['fg1', 'fg2']);
    assert.deepEqual(plan.preempt, []);
  });

  it('ends a slice only when another job of the same priority waits', () => {
    const alone = planSchedule([job('a', 'NORMAL', true, 0)], 5000, policy);
    assert.deepEqual(alone.preempt, []);
    assert.equal(alone.nextSliceEndMs, null);
    const shared = planSchedule([job('a', 'NORMAL', true, 0), job('b', 'NORMAL')], 5000, policy);
    assert.deepEqual(shared.preempt, ['a']);
    assert.deepEqual(shared.start, ['b']);
  });

  it('reports when the running slice ends while another waits', () => {
    const plan = planSchedule([job('a', 'NORMAL', true, 200), job('b', 'NORMAL')], 500, policy);
    assert.deepEqual(plan.start, []);
    assert.equal(plan.nextSliceEndMs, 1200);
  });

  it('fills up to maxBackgroundJobs places', () => {
    const plan = planSchedule([job('a', 'LOW'), job('b', 'LOW'), job('c', 'LOW')], 0, {
      ...policy,
      maxBackgroundJobs: 2,
    });
    assert.deepEqual(plan.start, ['a', 'b']);
  });
});
