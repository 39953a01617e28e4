import { readFileSync } from 'node:fs';

/** The kernel's id of this boot: a new random UUID at every boot (proc(5)). */
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;

/**
 * This boot's id, or null when it cannot be read (no /proc): then no written-not-synced record
 * is made or trusted, and a kill -9 costs what a power loss does (docs/durability.md).
 */
export function readBootId(path = BOOT_ID_PATH): string | null {
  try {
    const id = readFileSync(path, 'utf8').trim();
    return UUID.test(id) ? id : null;
  } catch {
    return null;
  }
}
