import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  giveWriteBuffer,
  pooledWriteBuffers,
  takeWriteBuffer,
  WRITE_BUFFER_BYTES,
} from '../../src/transfer/write-buffers.ts';

describe('write buffers', () => {
  test('a burst of concurrent sinks is recycled up to 32 buffers; past that their memory is freed at once', () => {
    const burst = Array.from({ length: 40 }, () => takeWriteBuffer());
    for (const b of burst) assert.equal(b.byteLength, WRITE_BUFFER_BYTES);
    const external = process.memoryUsage().arrayBuffers;
    for (const b of burst) giveWriteBuffer(b);
    assert.equal(pooledWriteBuffers(), 32);
    // The 8 past the bound are detached now (empty), not left to a later full GC.
    assert.equal(burst.filter((b) => b.byteLength === 0).length, 8);
    assert.ok(external - process.memoryUsage().arrayBuffers >= 8 * WRITE_BUFFER_BYTES);
    // The next burst takes the kept ones back: no new allocation for them.
    const again = Array.from({ length: 32 }, () => takeWriteBuffer());
    assert.equal(pooledWriteBuffers(), 0);
    for (const b of again) assert.ok(burst.includes(b) && b.byteLength === WRITE_BUFFER_BYTES);
    for (const b of again) giveWriteBuffer(b);
  });
});
