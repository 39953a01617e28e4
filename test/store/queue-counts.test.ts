import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueCounts } from '../../src/store/sqlite/queue-counts.ts';

/** Counters standing in for the SQL counts, so a test sees when the queue is counted again. */
function counting(total: number, mine: number) {
  const calls = { all: 0, owner: 0 };
  return {
    calls,
    count: {
      all: () => {
        calls.all++;
        return total;
      },
      owner: () => {
        calls.owner++;
        return mine;
      },
    },
  };
}

test('a job leaving the queue is taken off the kept counts, without counting again', () => {
  const counts = new QueueCounts();
  const { calls, count } = counting(5, 3);
  assert.deepEqual(counts.get(1, 'alice', count), { machine: 5, owner: 3 });
  counts.added('alice');
  counts.left('alice');
  counts.left('alice');
  assert.deepEqual(counts.get(1, 'alice', count), { machine: 4, owner: 2 });
  assert.deepEqual(calls, { all: 1, owner: 1 });
});

test('another owner’s job leaving changes the machine count only', () => {
  const counts = new QueueCounts();
  const { count } = counting(5, 3);
  counts.get(1, 'alice', count);
  counts.left('bob');
  assert.deepEqual(counts.get(1, 'alice', count), { machine: 4, owner: 3 });
});

test('a commit by another connection still makes it count again', () => {
  const counts = new QueueCounts();
  const { calls, count } = counting(5, 3);
  counts.get(1, 'alice', count);
  counts.left('alice');
  assert.deepEqual(counts.get(2, 'alice', count), { machine: 5, owner: 3 });
  assert.deepEqual(calls, { all: 2, owner: 2 });
});
