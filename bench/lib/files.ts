import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A file nginx serves: where it is, its URL path and size. */
export interface ServedFile {
  readonly path: string;
  readonly urlPath: string;
  readonly size: number;
}

/** The test corpus: one big file, many small ones, a few mid-sized ones. */
export interface Corpus {
  readonly big: ServedFile;
  readonly small: readonly ServedFile[];
  readonly mid: readonly ServedFile[];
}

/** Sizes of the corpus (full suite: 1 GiB, 1,000 × 64 KiB, 8 × 128 MiB). */
export interface CorpusSizes {
  readonly bigBytes: number;
  readonly smallCount: number;
  readonly smallBytes: number;
  readonly midCount: number;
  readonly midBytes: number;
}

const MiB = 1024 * 1024;

/** Write `size` random bytes to `path` in 4 MiB chunks. */
function writeRandom(path: string, size: number, chunk: Buffer): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    for (let left = size; left > 0; left -= chunk.length) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Generate the corpus with fresh random bytes under `root` (served as `/`). */
export function generateCorpus(root: string, sizes: CorpusSizes): Corpus {
  const chunk = Buffer.allocUnsafe(4 * MiB);
  const make = (rel: string, size: number): ServedFile => {
    const path = join(root, rel);
    writeRandom(path, size, chunk);
    return { path, urlPath: `/${rel}`, size };
  };
  mkdirSync(join(root, 'small'), { recursive: true });
  mkdirSync(join(root, 'mid'), { recursive: true });
  const big = make('big.bin', sizes.bigBytes);
  const small = Array.from({ length: sizes.smallCount }, (_, i) =>
    make(`small/${String(i).padStart(4, '0')}.bin`, sizes.smallBytes),
  );
  const mid = Array.from({ length: sizes.midCount }, (_, i) => make(`mid/${i}.bin`, sizes.midBytes));
  return { big, small, mid };
}
