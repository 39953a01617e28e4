/** UTF-8 JSON of values that never change, kept as long as the value. */
const texts = new WeakMap<object, Buffer>();

/**
 * `JSON.stringify(value)` as UTF-8 bytes, made once per object for frozen values a reply shares
 * with the next one (a listed job at rest): a list of 10,000 jobs copies their bytes instead of
 * serialising and encoding them again. Anything else is serialised every time.
 */
export function jsonBytes(value: object): Buffer {
  if (!Object.isFrozen(value)) return Buffer.from(JSON.stringify(value));
  let bytes = texts.get(value);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(value));
    texts.set(value, bytes);
  }
  return bytes;
}

const COMMA = Buffer.from(',');

/** A block ends after an item whose bytes hash to 0 mod BLOCK (so ~BLOCK items a block), or at MAX_BLOCK. */
const BLOCK = 64;
const MAX_BLOCK = 256;

/** A block's bytes, valid while the list holds the same items there. */
interface Block {
  readonly items: readonly object[];
  readonly bytes: Buffer;
}

/** Each block made, keyed by its first item (a frozen view; dropped with it). */
const blocks = new WeakMap<object, Block>();

/** A whole list's chunks, valid while a list holds the same items (all frozen) in the same order. */
interface KeptList {
  readonly name: string;
  readonly items: readonly object[];
  readonly chunks: Buffer[];
}

/**
 * The last list made from each first item: a list of the same 10,000 jobs at rest is then one
 * pass of identity compares (~20 µs), not 10,000 lookups of texts and block ends (~10 ms of
 * bitsd's CPU per list).
 */
const lists = new WeakMap<object, KeptList>();

/**
 * `{"<name>":[…]}` of `items` as chunks whose bytes, in order, are JSON.stringify({ [name]:
 * items }). Items go by blocks, each block's bytes made once while it holds the same frozen
 * items: a list of 10,000 jobs at rest joins ~160 kept blocks instead of copying 20,000 small
 * buffers into one 11 MB buffer each time (a third of bitsd's CPU per list, and GC pressure from
 * the big allocation). Where a block ends depends on its items' bytes, not on their position, so
 * a job that leaves the queue or joins it changes one block, not every block after it. A block
 * with a changed, new or live item is made again from the items' bytes (jsonBytes).
 */
export function jsonListChunks(name: string, items: readonly object[]): Buffer[] {
  const first = items[0];
  const kept = first === undefined ? undefined : lists.get(first);
  if (kept !== undefined && kept.name === name && sameItems(kept.items, items, 0, items.length)) return kept.chunks;
  const chunks: Buffer[] = [Buffer.from(`{${JSON.stringify(name)}:[`)];
  for (let start = 0; start < items.length; ) {
    const end = blockEnd(items, start);
    if (start > 0) chunks.push(COMMA);
    chunks.push(blockBytes(items, start, end));
    start = end;
  }
  chunks.push(Buffer.from(']}'));
  if (first !== undefined && items.every((item) => Object.isFrozen(item))) {
    lists.set(first, { name, items: items.slice(), chunks });
  }
  return chunks;
}

/**
 * Make the blocks of a list of `items` now (the service does it in the background after jobs
 * changed), so that the next list of the same items finds them: building 11 MB of blocks inside
 * a list call cost it a major GC (the new buffers' external memory) on top of the copies.
 */
export function warmListBlocks(items: readonly object[]): void {
  for (let start = 0; start < items.length; ) {
    const end = blockEnd(items, start);
    blockBytes(items, start, end);
    start = end;
  }
}

/** Where the block starting at `start` ends (exclusive). */
function blockEnd(items: readonly object[], start: number): number {
  let end = start;
  do end++;
  while (end < items.length && end - start < MAX_BLOCK && !endsBlock(jsonBytes(items[end - 1] as object)));
  return end;
}

/** A hash of 16 bytes from the item's text (a job's are in its id, a random UUID), 1 in BLOCK. */
function endsBlock(bytes: Buffer): boolean {
  let h = 0;
  const from = Math.min(8, bytes.length);
  const to = Math.min(from + 16, bytes.length);
  for (let i = from; i < to; i++) h = (h * 31 + (bytes[i] as number)) | 0;
  return (h & (BLOCK - 1)) === 0;
}

function blockBytes(items: readonly object[], start: number, end: number): Buffer {
  const first = items[start] as object;
  const kept = blocks.get(first);
  if (kept !== undefined && sameItems(kept.items, items, start, end)) return kept.bytes;
  const parts: Buffer[] = [];
  let frozen = true;
  for (let i = start; i < end; i++) {
    const item = items[i] as object;
    if (i > start) parts.push(COMMA);
    parts.push(jsonBytes(item));
    frozen &&= Object.isFrozen(item);
  }
  const bytes = Buffer.concat(parts);
  if (frozen) blocks.set(first, { items: items.slice(start, end), bytes });
  return bytes;
}

function sameItems(kept: readonly object[], items: readonly object[], start: number, end: number): boolean {
  if (kept.length !== end - start) return false;
  for (let i = start; i < end; i++) if (kept[i - start] !== items[i]) return false;
  return true;
}
