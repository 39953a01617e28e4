import { runInNewContext } from 'node:vm';

/** Bytes of transfer buffers between two minor GCs. */
const RECLAIM_EVERY_BYTES = 4 * 1024 * 1024;

/** undefined: not looked up yet; null: this process did not ask for it. */
let minorGc: (() => void) | null | undefined;
let since = 0;

/**
 * `bytes` of transfer buffers were handed on (written out): every 4 MiB, a minor GC frees the
 * dead ones while they are young — in a process that asked for it by setting `--expose-gc` at
 * run time (bin/young-generation.js: bitsd and its workers; a library caller's process is left
 * alone). Every socket read allocates a new 64 KiB Buffer outside V8's heap and a transfer
 * allocates almost nothing else, so the young generation fills slowly and V8 waits for tens of
 * MiB of external memory, then collects with full GCs; meanwhile the dead buffers hold RSS up
 * and keep the kernel's copies out of cache. Measured on a 512 MiB download to tmpfs (engine
 * alone): RSS 115–130 MiB and 20+ full GCs without, 65 MiB and only minor GCs (≈ 0.1 ms each)
 * with. The flag only gives new contexts a `gc`: this one is taken from a fresh context, so no
 * global of the process changes.
 */
export function transferBuffersUsed(bytes: number): void {
  since += bytes;
  if (since < RECLAIM_EVERY_BYTES) return;
  since = 0;
  if (minorGc === undefined) {
    const gc = runInNewContext('typeof gc === "function" ? gc : null') as ((o: { type: 'minor' }) => void) | null;
    minorGc = gc === null ? null : () => gc({ type: 'minor' });
  }
  minorGc?.();
}
