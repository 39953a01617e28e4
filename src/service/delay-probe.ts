import { lookup } from 'node:dns/promises';
import { connect, isIP } from 'node:net';
import type { Clock } from '../core/index.ts';
import { runDelayMs } from './run-delay.ts';

/** Where a job's bytes come from: the server, or the proxy it goes through. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

const TIMEOUT_MS = 3000;
const LOOKUP_TTL_MS = 60_000;

/**
 * Round trips of TCP handshakes with a job's server. The SYN-ACK comes back through the same
 * queues as the job's data, so the handshake time minus its minimum is the queueing delay the
 * job's own traffic meets (RFC 6817 measures one-way delay with timestamps in its own packets;
 * HTTP has none, and a handshake needs no request the server would log or serve). The name is
 * resolved once a minute, so DNS never counts as delay. The time the thread waited for a CPU
 * meanwhile (the kernel's run-queue delay) is taken off: on a loaded machine the answer is often
 * there long before the thread runs to see it, and that is not queueing on the link.
 */
export class DelayProbe {
  readonly #clock: Clock;
  readonly #resolved = new Map<string, { address: string; at: number }>();

  readonly #runDelay: () => number | null;

  constructor(clock: Clock, runDelay: () => number | null = runDelayMs) {
    this.#clock = clock;
    this.#runDelay = runDelay;
  }

  /** The address a target's name resolves to now (cached). */
  async address(target: ProbeTarget): Promise<string> {
    const host = target.host.replace(/^\[|\]$/gu, '');
    if (isIP(host) !== 0) return host;
    const cached = this.#resolved.get(host);
    const now = this.#clock.monotonicMs();
    if (cached !== undefined && now - cached.at < LOOKUP_TTL_MS) return cached.address;
    const { address } = await lookup(host);
    this.#resolved.set(host, { address, at: now });
    return address;
  }

  /** One handshake's round trip (ms); rejects when it fails or takes over 3 s. */
  async rtt(target: ProbeTarget): Promise<number> {
    const address = await this.address(target);
    return new Promise<number>((resolve, reject) => {
      const started = this.#clock.monotonicMs();
      const waitedBefore = this.#runDelay();
      const socket = connect({ host: address, port: target.port, noDelay: true });
      const timer = this.#clock.setTimer(TIMEOUT_MS, () => socket.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
      socket.once('connect', () => {
        const elapsed = this.#clock.monotonicMs() - started;
        const waitedAfter = this.#runDelay();
        const waited = waitedBefore === null || waitedAfter === null ? 0 : Math.max(0, waitedAfter - waitedBefore);
        const ms = Math.max(0, elapsed - waited);
        timer.cancel();
        // A reset, not a FIN: no TIME_WAIT entry per probe, which /proc/net/tcp (read every
        // step for the unread bytes) would list for a minute — hundreds of lines to parse.
        socket.resetAndDestroy();
        resolve(ms);
      });
      socket.once('error', (err) => {
        timer.cancel();
        reject(err);
      });
    });
  }
}
