import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Clock } from '../core/index.ts';
import { DelayProbe } from './delay-probe.ts';
import type { LinkProbes } from './yield-control.ts';

/** Bytes an interface has received and sent since it came up (kernel counters). */
export interface InterfaceBytes {
  readonly rx: number;
  readonly tx: number;
}

/** 32-bit IPv4 in /proc/net/route's byte order (host order, little-endian on the machines Node runs). */
function ipv4Value(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((d << 24) | (c << 16) | (b << 8) | a) >>> 0;
}

function ipv6Hex(ip: string): string {
  const [head = '', tail] = ip.split('::');
  const parse = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/**
 * The interface the kernel routes `ip` through: the longest matching prefix of the main table
 * (`/proc/net/route`, `/proc/net/ipv6_route`), loopback for 127/8 and ::1. Null when no route
 * matches or the tables cannot be read.
 */
export function routeInterface(
  ip: string,
  tables = { v4: '/proc/net/route', v6: '/proc/net/ipv6_route' },
): string | null {
  if (/^127\./u.test(ip) || ip === '::1') return 'lo';
  try {
    if (isIPv4(ip)) {
      const dest = ipv4Value(ip);
      let best: { iface: string; bits: number; metric: number } | null = null;
      for (const line of readFileSync(tables.v4, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/u);
        if (cols.length < 8) continue;
        const [iface, net, , , , , metric, mask] = cols as [
          string,
          string,
          string,
          string,
          string,
          string,
          string,
          string,
        ];
        const m = Number.parseInt(mask, 16) >>> 0;
        if ((dest & m) >>> 0 !== (Number.parseInt(net, 16) & m) >>> 0) continue;
        const bits = m.toString(2).replace(/0/gu, '').length;
        const rank = Number(metric);
        if (best === null || bits > best.bits || (bits === best.bits && rank < best.metric))
          best = { iface, bits, metric: rank };
      }
      return best?.iface ?? null;
    }
    const dest = ipv6Hex(ip.replace(/%.*$/u, ''));
    let best: { iface: string; bits: number; metric: number } | null = null;
    for (const line of readFileSync(tables.v6, 'utf8').split('\n')) {
      const cols = line.trim().split(/\s+/u);
      if (cols.length < 10) continue;
      const bits = Number.parseInt(cols[1] as string, 16);
      const net = cols[0] as string;
      // Compare the prefix nibble by nibble (prefixes in these tables are whole nibbles in practice).
      const nibbles = Math.floor(bits / 4);
      if (dest.slice(0, nibbles) !== net.slice(0, nibbles)) continue;
      const metric = Number.parseInt(cols[5] as string, 16);
      if (best === null || bits > best.bits || (bits === best.bits && metric < best.metric))
        best = { iface: cols[9] as string, bits, metric };
    }
    return best?.iface ?? null;
  } catch {
    return null;
  }
}

/**
 * The interface's byte counters from `/sys/class/net/IF/statistics`, or `/proc/net/dev` when
 * sysfs is not mounted; null when neither has them.
 */
export function interfaceBytes(
  iface: string,
  root = { sys: '/sys/class/net', procDev: '/proc/net/dev' },
): InterfaceBytes | null {
  if (!/^[\w.@:-]+$/u.test(iface)) return null;
  try {
    const read = (name: string): number => Number(readFileSync(`${root.sys}/${iface}/statistics/${name}`, 'utf8'));
    const rx = read('rx_bytes');
    const tx = read('tx_bytes');
    if (Number.isFinite(rx) && Number.isFinite(tx)) return { rx, tx };
  } catch {
    // No sysfs: try /proc/net/dev.
  }
  try {
    for (const line of readFileSync(root.procDev, 'utf8').split('\n')) {
      const [name, rest] = line.split(':');
      if (name?.trim() !== iface || rest === undefined) continue;
      const cols = rest.trim().split(/\s+/u).map(Number);
      // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit: bytes …
      return { rx: cols[0] as number, tx: cols[8] as number };
    }
  } catch {
    // Neither source.
  }
  return null;
}

/** `/proc/net/tcp` spelling of an address and port: hex words in host order, then the port. */
function procSocketAddress(ip: string, port: number): string {
  const p = port.toString(16).toUpperCase().padStart(4, '0');
  if (isIPv4(ip)) return `${ipv4Value(ip).toString(16).toUpperCase().padStart(8, '0')}:${p}`;
  const hex = ipv6Hex(ip.replace(/%.*$/u, ''));
  let words = '';
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    words += (w.slice(6, 8) + w.slice(4, 6) + w.slice(2, 4) + w.slice(0, 2)).toUpperCase();
  }
  return `${words}:${p}`;
}

/**
 * Bytes the kernel has received on the TCP connections to `ip:port` of this process and of
 * `others` (system mode's workers) that they have not read yet (the `rx_queue` of
 * `/proc/net/tcp` and `tcp6`), or null when it cannot tell. A throttled reader lets the socket
 * buffer fill at the link's speed for seconds: these bytes are the job's own, on the wire
 * already, though not read.
 */
export function unreadBytes(ip: string, port: number, proc = '/proc', others: readonly number[] = []): number | null {
  try {
    const inodes = new Set<string>();
    for (const pid of ['self', ...others]) {
      let fds: string[];
      try {
        fds = readdirSync(`${proc}/${pid}/fd`);
      } catch (err) {
        if (pid === 'self') throw err;
        continue; // A worker that ended meanwhile.
      }
      for (const fd of fds) {
        try {
          const m = /^socket:\[(\d+)\]$/u.exec(readlinkSync(`${proc}/${pid}/fd/${fd}`));
          if (m !== null) inodes.add(m[1] as string);
        } catch {
          // Closed meanwhile.
        }
      }
    }
    const remote = procSocketAddress(ip, port);
    let total = 0;
    for (const table of [`${proc}/net/tcp`, `${proc}/net/tcp6`]) {
      let text: string;
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/u);
        if (cols.length < 10 || cols[2] !== remote || !inodes.has(cols[9] as string)) continue;
        total += Number.parseInt((cols[4] as string).split(':')[1] as string, 16);
      }
    }
    return total;
  } catch {
    return null;
  }
}

/**
 * The yielding controller's signals from this machine's kernel: handshakes, routes, counters;
 * `workers`: other processes whose sockets carry jobs' bytes (system mode).
 */
export function kernelLinkProbes(clock: Clock, workers: () => readonly number[] = () => []): LinkProbes {
  const probe = new DelayProbe(clock);
  const addresses = new Map<string, string>();
  return {
    rtt: (target) => probe.rtt(target),
    unread: (target) => {
      const address = addresses.get(`${target.host}:${target.port}`);
      return address === undefined ? null : unreadBytes(address, target.port, '/proc', workers());
    },
    interfaceOf: async (target) => {
      const address = await probe.address(target);
      addresses.set(`${target.host}:${target.port}`, address);
      // The machine's own addresses are reached through loopback whatever the main table says.
      const own = Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === address));
      return own ? 'lo' : routeInterface(address);
    },
    counters: (iface) => interfaceBytes(iface),
  };
}
