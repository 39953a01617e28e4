import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventQueue } from '../../src/api/event-queue.ts';

describe('EventQueue (subscription → async iterator)', () => {
  it('yields pushed items in order, waits for more, and ends after the backlog', async () => {
    const queue = new EventQueue<number>();
    queue.push(1);
    queue.push(2);
    const seen: number[] = [];
    const done = (async () => {
      for await (const n of queue) seen.push(n);
    })();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [1, 2]);
    queue.push(3);
    queue.end();
    queue.push(4); // after end: ignored
    await done;
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('takeAll() empties the queue and its byte count at once', () => {
    const queue = new EventQueue<string>({ maxBytes: 4, sizeOf: (s) => s.length });
    assert.ok(queue.push('ab'));
    assert.ok(queue.push('cd'));
    assert.equal(queue.push('e'), false);
    assert.deepEqual(queue.takeAll(), ['ab', 'cd']);
    assert.equal(queue.bytes, 0);
    assert.deepEqual(queue.takeAll(), []);
    assert.ok(queue.push('efgh'));
  });

  it('end({ drop: true }) stops at once and drops what is queued', async () => {
    const queue = new EventQueue<string>();
    queue.push('a');
    queue.push('b');
    const seen: string[] = [];
    for await (const s of queue) {
      seen.push(s);
      queue.end({ drop: true });
    }
    assert.deepEqual(seen, ['a']);
    assert.equal(queue.size, 0);
  });

  it('with a bound in bytes, refuses an item that would pass it and counts what is pulled', async () => {
    const queue = new EventQueue<string>({ maxBytes: 10, sizeOf: (s) => s.length });
    assert.equal(queue.push('abcd'), true);
    assert.equal(queue.push('efgh'), true);
    assert.equal(queue.push('ijk'), false, '4 + 4 + 3 bytes pass the bound of 10');
    assert.equal(queue.bytes, 8);
    const iterator = queue[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 'abcd', done: false });
    assert.equal(queue.bytes, 4);
    assert.equal(queue.push('ijk'), true);
    queue.end({ drop: true });
    assert.equal(queue.bytes, 0);
  });
});
