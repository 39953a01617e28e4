import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { BitsClient } from '../../src/client/connect.ts';

/**
 * An event-stream reader on bitsd's socket that stops reading once its stream is live: the
 * client a daemon must cut off (issue 12 item 5). `closed` resolves when the connection ends,
 * which a paused socket only notices once it reads again (`resume`).
 */
export interface SlowReader {
  readonly socket: Socket;
  /** Bytes read (before the pause, and after `resume`). */
  bytes(): number;
  /** Read again, to the end. */
  resume(): void;
  readonly closed: Promise<void>;
}

export async function openSlowReader(socketPath: string): Promise<SlowReader> {
  const socket = connect(socketPath);
  let bytes = 0;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      text += chunk.toString('latin1');
      if (text.includes('event: ready')) {
        socket.off('data', onData);
        socket.pause();
        socket.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`event stream closed before ready: ${text}`)));
    socket.write('GET /v1/events HTTP/1.1\r\nHost: bitsd\r\n\r\n');
  });
  return { socket, bytes: () => bytes, resume: () => socket.resume(), closed };
}

/** Resident set of a process now and at its peak (VmRSS, VmHWM from /proc), in bytes. */
export function residentBytes(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'mu').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Sockets a process holds open (its listening socket, clients, event streams). */
export function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

/** `count` job:modified events for every subscriber: SetDescription calls, `parallel` at a time. */
export async function floodEvents(client: BitsClient, jobId: string, count: number, parallel = 16): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await client.setDescription(jobId, `flood ${next}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
