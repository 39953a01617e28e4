// The two-slot record file (record-slots.ts): saves in place, a torn save falls back to the one
// before, a payload outgrowing the slots rebuilds the file.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readSlots, writeSlots } from '../../src/upload-server/record-slots.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-slots-'));
  dirs.push(dir);
  return path.join(dir, 'state.slots');
}

const text = async (file: string) => (await readSlots(file))?.payload.toString();

test('record slots: saves after the first overwrite the older slot in place (same file, same size), the newest is read', async () => {
  const file = await tempFile();
  assert.equal(await readSlots(file), undefined, 'no file, no record');
  let state = await writeSlots(file, Buffer.from('one'), undefined);
  const { ino, size } = await fs.stat(file);
  for (const word of ['two', 'three', 'four']) {
    state = await writeSlots(file, Buffer.from(word), state);
    const st = await fs.stat(file);
    assert.deepEqual([st.ino, st.size], [ino, size], 'written in place, not replaced');
    assert.equal(await text(file), word);
  }
  assert.equal(state.seq, 4);
  assert.deepEqual((await readSlots(file))?.state, state);
  assert.equal(await fs.stat(`${file}.tmp`).catch(() => undefined), undefined);
});

test('record slots: a save torn by a crash or power loss (its slot garbled) reads as the save before it; both garbled reads as none', async () => {
  const file = await tempFile();
  let state = await writeSlots(file, Buffer.from('{"received":1}'), undefined);
  state = await writeSlots(file, Buffer.from('{"received":2}'), state);
  state = await writeSlots(file, Buffer.from('{"received":3}'), state);
  // Save n goes to slot n % 2: save 3 is in slot 1, save 2 in slot 0. Tear save 3 (part of its
  // payload rewritten, as a write cut short by a power loss leaves it).
  const fh = await fs.open(file, 'r+');
  try {
    await fh.write(Buffer.from('9'), 0, 1, state.slotBytes + 20 + 12);
    assert.equal(await text(file), '{"received":2}', 'torn newest slot → the save before it');
    const fallback = (await readSlots(file))?.state;
    assert.equal(fallback?.seq, 2);
    // The next save overwrites the torn slot, never the intact one.
    await writeSlots(file, Buffer.from('{"received":4}'), fallback);
    assert.equal(await text(file), '{"received":4}');
    await fh.write(Buffer.alloc(8, 0xff), 0, 8, 4);
    await fh.write(Buffer.alloc(8, 0xff), 0, 8, state.slotBytes + 4);
  } finally {
    await fh.close();
  }
  assert.equal(await readSlots(file), undefined);
});

test('record slots: a payload larger than a slot rebuilds the file with larger slots, still durable and readable', async () => {
  const file = await tempFile();
  let state = await writeSlots(file, Buffer.from('small'), undefined);
  const big = Buffer.alloc(10_000, 'x');
  state = await writeSlots(file, big, state);
  assert.ok(state.slotBytes >= 10_020);
  assert.equal((await fs.stat(file)).size, 2 * state.slotBytes);
  assert.deepEqual((await readSlots(file))?.payload, big);
  state = await writeSlots(file, Buffer.from('small again'), state);
  assert.equal(await text(file), 'small again');
});
