/**
 * A small record kept durable in place: a file of two equal slots, written alternately, each
 * holding a sequence number, the payload's length, the payload and a CRC-32 of them. A save
 * overwrites the older slot and `fdatasync`s — one sync of blocks already allocated and a size
 * that does not change, so no journal commit, where writing a new file, renaming it and syncing
 * the folder cost three. A save torn by a crash or a power loss fails its CRC and the other slot,
 * the previous save (synced before it was acknowledged), is read instead. A payload too large for
 * the slots goes the old way once: a new file with larger slots, renamed over, folder synced.
 */
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir } from './safe-fs.ts';

const MAGIC = 0x42535231; // "BSR1"
/** magic u32, sequence u64 (as f64-safe integer), payload length u32, CRC-32 u32. */
const HEADER_BYTES = 20;
const MIN_SLOT_BYTES = 4096;

/** Where the next save of one record file goes. */
export interface SlotState {
  /** Sequence number of the newest valid slot (the next save writes seq + 1). */
  readonly seq: number;
  /** Bytes per slot (the file holds two). */
  readonly slotBytes: number;
}

/** Read the newest intact slot's payload; undefined when the file is missing or no slot is intact. */
export async function readSlots(file: string): Promise<{ payload: Buffer; state: SlotState } | undefined> {
  let raw: Buffer;
  try {
    const fh = await fs.open(file, FS.O_RDONLY | FS.O_NOFOLLOW);
    try {
      raw = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (raw.length < 2 * MIN_SLOT_BYTES || raw.length % 2 !== 0) return undefined;
  const slotBytes = raw.length / 2;
  let best: { payload: Buffer; seq: number } | undefined;
  for (const at of [0, slotBytes]) {
    const slot = parseSlot(raw.subarray(at, at + slotBytes));
    if (slot !== undefined && (best === undefined || slot.seq > best.seq)) best = slot;
  }
  return best === undefined ? undefined : { payload: best.payload, state: { seq: best.seq, slotBytes } };
}

/**
 * Save `payload` durably. With `state` (the file exists with those slots) it overwrites the older
 * slot in place; without it, or when the payload does not fit, it writes a new file (renamed over
 * `file`, folder synced). Returns where the next save goes.
 */
export async function writeSlots(file: string, payload: Buffer, state: SlotState | undefined): Promise<SlotState> {
  const seq = (state?.seq ?? 0) + 1;
  if (state !== undefined && HEADER_BYTES + payload.length <= state.slotBytes) {
    const fh = await fs.open(file, FS.O_WRONLY | FS.O_NOFOLLOW);
    try {
      await fh.write(encodeSlot(seq, payload), 0, HEADER_BYTES + payload.length, (seq % 2) * state.slotBytes);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    return { seq, slotBytes: state.slotBytes };
  }
  // Room for the payload to double before the file has to be rebuilt again.
  const slotBytes = Math.max(MIN_SLOT_BYTES, Math.ceil((2 * (HEADER_BYTES + payload.length)) / 4096) * 4096);
  const image = Buffer.alloc(2 * slotBytes);
  encodeSlot(seq, payload).copy(image, (seq % 2) * slotBytes);
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o600);
  try {
    // Every block written (zeros included): later in-place saves never allocate.
    await fh.writeFile(image);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  await syncDir(path.dirname(file));
  return { seq, slotBytes };
}

function encodeSlot(seq: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeDoubleBE(seq, 4);
  out.writeUInt32BE(payload.length, 12);
  payload.copy(out, HEADER_BYTES);
  out.writeUInt32BE(checksum(out, payload.length), 16);
  return out;
}

function parseSlot(slot: Buffer): { payload: Buffer; seq: number } | undefined {
  if (slot.readUInt32BE(0) !== MAGIC) return undefined;
  const seq = slot.readDoubleBE(4);
  const length = slot.readUInt32BE(12);
  if (!Number.isSafeInteger(seq) || seq < 1 || HEADER_BYTES + length > slot.length) return undefined;
  if (slot.readUInt32BE(16) !== checksum(slot, length)) return undefined;
  return { payload: slot.subarray(HEADER_BYTES, HEADER_BYTES + length), seq };
}

/** CRC-32 of the sequence, the length and the payload (everything but the magic and itself). */
function checksum(slot: Buffer, length: number): number {
  return crc32(slot.subarray(HEADER_BYTES, HEADER_BYTES + length), crc32(slot.subarray(4, 16)));
}
