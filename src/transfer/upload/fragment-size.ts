/**
 * Fragment sizing within the Windows client's range (bits-upload-protocol.md §9.4: 5 KB floor,
 * 13 MB ceiling): start around 1 MiB, double while Acks come back fast, halve when they are slow,
 * halve on 413 (never below the floor).
 */

/** Windows never sends a fragment below 5 KB, even after 413 (notes <10>, <16>). */
export const MIN_FRAGMENT_SIZE = 5 * 1024;
/** Windows (BITS 2.5+) sends at most 13 MB per fragment. */
export const MAX_FRAGMENT_SIZE = 13 * 1024 * 1024;
export const DEFAULT_FRAGMENT_SIZE = 1024 * 1024;
/** An Ack faster than this lets the next fragment double. */
const FAST_ACK_MS = 2_000;
/** An Ack slower than this halves the next fragment (less to resend after a failure). */
const SLOW_ACK_MS = 30_000;

function clamp(n: number): number {
  return Math.min(MAX_FRAGMENT_SIZE, Math.max(MIN_FRAGMENT_SIZE, Math.floor(n)));
}

/** The adaptive fragment size of one upload call. */
export class FragmentSizer {
  #size: number;
  /** Largest size the server accepted without 413 in this call; never grow past a refused size. */
  #ceiling = MAX_FRAGMENT_SIZE;

  constructor(initial: number = DEFAULT_FRAGMENT_SIZE) {
    this.#size = clamp(initial);
  }

  get size(): number {
    return this.#size;
  }

  /** Length of the next fragment starting at `offset` of a `total`-byte file. */
  next(offset: number, total: number): number {
    return Math.max(0, Math.min(this.#size, total - offset));
  }

  /** A fragment of `length` bytes was acknowledged after `elapsedMs`. */
  acked(length: number, elapsedMs: number): void {
    // Only a full-size fragment says anything about the size (the last one is usually short).
    if (length < this.#size) return;
    if (elapsedMs < FAST_ACK_MS) this.#size = Math.min(this.#ceiling, clamp(this.#size * 2));
    else if (elapsedMs > SLOW_ACK_MS) this.#size = clamp(this.#size / 2);
  }

  /**
   * 413 for a fragment of `length` bytes: halve below it. False when already at the floor — the
   * server refuses even the smallest fragment Windows would send.
   */
  tooLarge(length: number): boolean {
    if (length <= MIN_FRAGMENT_SIZE) return false;
    this.#size = clamp(Math.min(this.#size, length) / 2);
    this.#ceiling = this.#size;
    return true;
  }
}
