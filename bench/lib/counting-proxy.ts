import { connect, createServer, type Server } from 'node:net';
import { coefficientOfVariation } from './stats.ts';

/** Bytes the server side sent to one client connection, by 100 ms slot since the connection opened. */
export interface ConnectionTrace {
  readonly openedAt: number;
  readonly slots: number[];
}

/** A TCP proxy that counts server→client bytes over time. */
export interface CountingProxy {
  readonly port: number;
  /** Traces of the connections opened since the last `reset()`. */
  traces(): readonly ConnectionTrace[];
  reset(): void;
  close(): Promise<void>;
}

export const SLOT_MS = 100;

/**
 * Start a proxy on 127.0.0.1 in front of `upstreamPort`. Bytes are counted when they are read from
 * the server; the pipe's backpressure ties that to what the client's socket accepts, so this is the
 * rate the server sees, kernel buffers included.
 */
export function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  let traces: ConnectionTrace[] = [];
  const server: Server = createServer((client) => {
    const trace: ConnectionTrace = { openedAt: performance.now(), slots: [] };
    traces.push(trace);
    const upstream = connect(upstreamPort, '127.0.0.1');
    upstream.on('data', (chunk: Buffer) => {
      const slot = Math.floor((performance.now() - trace.openedAt) / SLOT_MS);
      while (trace.slots.length <= slot) trace.slots.push(0);
      trace.slots[slot] = (trace.slots[slot] ?? 0) + chunk.length;
    });
    upstream.pipe(client);
    client.pipe(upstream);
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
    client.on('close', destroyBoth);
    upstream.on('close', destroyBoth);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        traces: () => traces,
        reset() {
          traces = [];
        },
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** Throttle accuracy of one trace: 1 s windows after `skipSeconds`, up to `seconds`. */
export interface ThrottleStats {
  readonly windows: readonly number[];
  readonly meanBytesPerSecond: number;
  readonly meanErrorPct: number;
  readonly maxWindowRatio: number;
  /** Coefficient of variation of the windows. */
  readonly cv: number;
}

/** Cut a trace into whole 1 s windows from `skipSeconds` to `seconds` and compare with `limit` (pure). */
export function throttleStats(
  trace: ConnectionTrace,
  limit: number,
  skipSeconds: number,
  seconds: number,
): ThrottleStats {
  const perWindow = 1000 / SLOT_MS;
  const windows: number[] = [];
  for (let w = skipSeconds; w < seconds; w++) {
    let sum = 0;
    for (let s = w * perWindow; s < (w + 1) * perWindow; s++) sum += trace.slots[s] ?? 0;
    windows.push(sum);
  }
  const mean = windows.length ? windows.reduce((a, b) => a + b, 0) / windows.length : 0;
  return {
    windows,
    meanBytesPerSecond: mean,
    meanErrorPct: ((mean - limit) / limit) * 100,
    maxWindowRatio: windows.length ? Math.max(...windows) / limit : 0,
    cv: coefficientOfVariation(windows),
  };
}
