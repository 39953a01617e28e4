import { readFileSync, writeFileSync } from 'node:fs';

/** The guest kernel's free page reporting (virtio-balloon): free pages handed back to the hypervisor. */
const ORDER = '/sys/module/page_reporting/parameters/page_reporting_order';

/**
 * One above the buddy allocator's largest block (order 10): no free block qualifies, so nothing
 * is reported while the suite runs.
 */
const OFF_ORDER = '11';

/**
 * Hold the guest's free page reporting for the run, when the kernel has it and lets root change
 * it; returns what puts it back (a no-op elsewhere). With it on, memory freed between two runs
 * (a deleted destination, dropped caches) goes back to the hypervisor within seconds, and the
 * next tool to touch it pays a fault in the hypervisor per page: S2's CPU per GiB for ours
 * swung 0.79–2.71 s between five runs with it, 0.59–0.69 s without (curl + sync 0.85–1.33 and
 * 0.78–1.03 s) — a measure of the hypervisor's timing, not of the tools.
 */
export function holdPageReporting(log: (line: string) => void): () => void {
  let before: string;
  try {
    before = readFileSync(ORDER, 'utf8').trim();
    if (before === OFF_ORDER) return () => {};
    writeFileSync(ORDER, `${OFF_ORDER}\n`);
  } catch {
    return () => {};
  }
  log(`free page reporting to the hypervisor held for the run (page_reporting_order ${before} → ${OFF_ORDER})`);
  return () => {
    try {
      writeFileSync(ORDER, `${before}\n`);
    } catch {
      // Left held: the next boot restores it.
    }
  };
}
