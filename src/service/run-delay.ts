import { readFileSync } from 'node:fs';

/**
 * How long this thread has waited for a CPU while runnable (ms, the kernel's `run_delay` in
 * `/proc/thread-self/schedstat`), or null where the kernel does not say. On a loaded machine a
 * handshake's answer may sit in the socket while the thread waits for a CPU: the growth of this
 * figure across a probe is time the probe's clock counted that the network did not.
 */
export function runDelayMs(path = '/proc/thread-self/schedstat'): number | null {
  try {
    const waited = Number(readFileSync(path, 'utf8').split(' ')[1]);
    return Number.isFinite(waited) ? waited / 1e6 : null;
  } catch {
    return null;
  }
}
