import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../core/index.ts';
import type { NetworkSource } from '../scheduler/network.ts';

/** True when the routing tables hold a route on an interface other than loopback. */
export function hasRouteOut(ipv4 = '/proc/net/route', ipv6 = '/proc/net/ipv6_route'): boolean {
  try {
    const v4 = readFileSync(ipv4, 'utf8').split('\n').slice(1);
    if (v4.some((l) => l.trim() !== '' && l.split(/\s+/u)[0] !== 'lo')) return true;
  } catch {
    // No IPv4 table: look at IPv6.
  }
  try {
    const v6 = readFileSync(ipv6, 'utf8').split('\n');
    // Columns: dest, dest-len, src, src-len, next-hop, metric, refcnt, use, flags, iface.
    return v6.some((l) => {
      const cols = l.trim().split(/\s+/u);
      return (
        cols.length >= 10 &&
        cols[9] !== 'lo' &&
        cols[0] !== 'ff000000000000000000000000000000' &&
        !cols[0]?.startsWith('fe80')
      );
    });
  } catch {
    return false;
  }
}

/** Polls the kernel's routing tables every few seconds on the injected clock. */
export class ProcNetworkSource implements NetworkSource {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #listeners = new Set<(connected: boolean) => void>();
  #connected = hasRouteOut();
  #timer: TimerHandle | null = null;

  constructor(clock: Clock, intervalMs = 5000) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#arm();
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => {
      const now = hasRouteOut();
      if (now !== this.#connected) {
        this.#connected = now;
        for (const l of this.#listeners) l(now);
      }
      this.#arm();
    });
  }

  isConnected(): boolean {
    return this.#connected;
  }

  onChange(listener: (connected: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#timer?.cancel();
    this.#listeners.clear();
  }
}
