import { connect, type Socket } from 'node:net';
import type { Clock } from '../core/index.ts';

/**
 * Just enough of D-Bus (the specification's wire format, little-endian) to read one property
 * from the system bus: connect to the bus socket, authenticate with EXTERNAL (the kernel vouches
 * for our uid), say Hello, call org.freedesktop.DBus.Properties.Get and read the variant that
 * comes back. No native add-on, no dependency; strings, object paths, signatures, uint32 and
 * variants of basic types are all it marshals.
 */

/** `unix:path=/run/dbus/system_bus_socket` (or `unix:abstract=…`) → a path Node can connect to. */
export function busSocketPath(address: string): string {
  for (const entry of address.split(';')) {
    const m = /^unix:(.*)$/u.exec(entry.trim());
    if (m === null) continue;
    const kv = new Map(
      (m[1] as string).split(',').map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i), decodeURIComponent(p.slice(i + 1))] as const;
      }),
    );
    const path = kv.get('path');
    if (path !== undefined) return path;
    const abstract = kv.get('abstract');
    if (abstract !== undefined) return `\0${abstract}`;
  }
  throw new Error(`no unix socket in D-Bus address ${JSON.stringify(address)}`);
}

/** The system bus's address: DBUS_SYSTEM_BUS_ADDRESS, else the well-known socket. */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/var/run/dbus/system_bus_socket';
}

// ── marshalling ──────────────────────────────────────────────────────────────────────────────

class Writer {
  #buf = Buffer.alloc(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.#len % n)) % n;
    this.#ensure(pad);
    this.#buf.fill(0, this.#len, this.#len + pad);
    this.#len += pad;
  }

  byte(v: number): void {
    this.#ensure(1);
    this.#buf.writeUInt8(v, this.#len++);
  }

  uint32(v: number): void {
    this.align(4);
    this.#ensure(4);
    this.#buf.writeUInt32LE(v >>> 0, this.#len);
    this.#len += 4;
  }

  /** `s` and `o`: uint32 length, bytes, NUL. */
  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.uint32(bytes.length);
    this.#ensure(bytes.length + 1);
    bytes.copy(this.#buf, this.#len);
    this.#len += bytes.length;
    this.#buf.writeUInt8(0, this.#len++);
  }

  /** `g`: byte length, bytes, NUL. */
  signature(v: string): void {
    this.byte(v.length);
    this.#ensure(v.length + 1);
    this.#buf.write(v, this.#len, 'ascii');
    this.#len += v.length;
    this.#buf.writeUInt8(0, this.#len++);
  }

  /** Overwrite a uint32 written earlier (an array's length). */
  patch(at: number, v: number): void {
    this.#buf.writeUInt32LE(v, at);
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

class Reader {
  readonly #buf: Buffer;
  readonly #le: boolean;
  pos: number;

  constructor(buf: Buffer, littleEndian: boolean, pos = 0) {
    this.#buf = buf;
    this.#le = littleEndian;
    this.pos = pos;
  }

  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }

  byte(): number {
    return this.#buf.readUInt8(this.pos++);
  }

  uint32(): number {
    this.align(4);
    const v = this.#le ? this.#buf.readUInt32LE(this.pos) : this.#buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  string(): string {
    const n = this.uint32();
    const s = this.#buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n + 1;
    return s;
  }

  signature(): string {
    const n = this.byte();
    const s = this.#buf.toString('ascii', this.pos, this.pos + n);
    this.pos += n + 1;
    return s;
  }

  /** One value of a basic type (or a variant of one). */
  value(sig: string): unknown {
    switch (sig) {
      case 'y':
        return this.byte();
      case 'b':
        return this.uint32() !== 0;
      case 'u':
        return this.uint32();
      case 'i': {
        const v = this.uint32();
        return v > 0x7fffffff ? v - 0x100000000 : v;
      }
      case 's':
      case 'o':
        return this.string();
      case 'g':
        return this.signature();
      case 'v':
        return this.value(this.signature());
      default:
        throw new Error(`D-Bus type ${JSON.stringify(sig)} is not supported here`);
    }
  }
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, signature: 8 } as const;

export interface MethodCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  /** Arguments, all strings (signature `s…`). */
  readonly args?: readonly string[];
}

/** A METHOD_CALL message. Pure. */
export function encodeCall(call: MethodCall, serial: number): Buffer {
  const args = call.args ?? [];
  const body = new Writer();
  for (const a of args) body.string(a);
  const w = new Writer();
  w.byte(0x6c); // 'l': little-endian
  w.byte(1); // METHOD_CALL
  w.byte(0);
  w.byte(1); // protocol version
  w.uint32(body.length);
  w.uint32(serial);
  const lengthAt = w.length;
  w.uint32(0);
  const start = w.length;
  const field = (code: number, sig: string, write: () => void): void => {
    w.align(8);
    w.byte(code);
    w.signature(sig);
    write();
  };
  field(FIELD.path, 'o', () => w.string(call.path));
  field(FIELD.interface, 's', () => w.string(call.interface));
  field(FIELD.member, 's', () => w.string(call.member));
  field(FIELD.destination, 's', () => w.string(call.destination));
  if (args.length > 0) field(FIELD.signature, 'g', () => w.signature('s'.repeat(args.length)));
  w.patch(lengthAt, w.length - start);
  w.align(8);
  return Buffer.concat([w.bytes(), body.bytes()]);
}

/** A message read from the bus: its type, reply serial, error name and first body value. */
export interface Message {
  readonly type: number;
  readonly replySerial: number | null;
  readonly errorName: string | null;
  readonly body: unknown;
  /** Bytes the message took. */
  readonly size: number;
}

/** One message from the front of `buf`, or null when it is not all there yet. Pure. */
export function decodeMessage(buf: Buffer): Message | null {
  if (buf.length < 16) return null;
  const le = buf[0] === 0x6c;
  const r = new Reader(buf, le, 4);
  const bodyLength = r.uint32();
  r.uint32(); // serial
  const fieldsLength = r.uint32();
  const fieldsEnd = 16 + fieldsLength;
  const bodyStart = fieldsEnd + ((8 - (fieldsEnd % 8)) % 8);
  const size = bodyStart + bodyLength;
  if (buf.length < size) return null;
  let replySerial: number | null = null;
  let errorName: string | null = null;
  let signature = '';
  while (r.pos < fieldsEnd) {
    r.align(8);
    const code = r.byte();
    const value = r.value('v');
    if (code === FIELD.replySerial) replySerial = value as number;
    if (code === FIELD.errorName) errorName = value as string;
    if (code === FIELD.signature) signature = value as string;
  }
  const body = new Reader(buf.subarray(bodyStart, size), le);
  const first = signature.length > 0 ? (signature[0] as string) : '';
  return {
    type: buf[1] as number,
    replySerial,
    errorName,
    body: first === '' || bodyLength === 0 ? undefined : body.value(first),
    size,
  };
}

// ── a connection ─────────────────────────────────────────────────────────────────────────────

const TIMEOUT_MS = 2000;

/**
 * One short-lived connection to a bus: authenticate, Hello, `calls` in turn, close. Resolves
 * with each call's first return value; rejects with the D-Bus error name (e.g.
 * `org.freedesktop.DBus.Error.ServiceUnknown`) or the socket's error.
 */
export async function callBus(
  address: string,
  calls: readonly MethodCall[],
  clock: Clock,
  uid = process.getuid?.() ?? 0,
): Promise<unknown[]> {
  const socket: Socket = connect({ path: busSocketPath(address) });
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    wake?.();
  });
  const fail = (err: Error): void => {
    failure ??= err;
    wake?.();
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('the bus closed the connection')));
  const timer = clock.setTimer(TIMEOUT_MS, () => fail(new Error(`no answer from the bus in ${TIMEOUT_MS} ms`)));
  const more = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = () => {
        wake = null;
        resolve();
      };
    });
  const line = async (): Promise<string> => {
    for (;;) {
      if (failure !== null) throw failure;
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const text = buf.toString('ascii', 0, i);
        buf = buf.subarray(i + 2);
        return text;
      }
      await more();
    }
  };
  const reply = async (serial: number): Promise<unknown> => {
    for (;;) {
      if (failure !== null) throw failure;
      const m = decodeMessage(buf);
      if (m === null) {
        await more();
        continue;
      }
      buf = buf.subarray(m.size);
      if (m.replySerial !== serial) continue; // signals (NameAcquired) and the like
      if (m.type === 3)
        throw new Error(`${m.errorName ?? 'D-Bus error'}${typeof m.body === 'string' ? `: ${m.body}` : ''}`);
      return m.body;
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\n`);
    const auth = await line();
    if (!auth.startsWith('OK ')) throw new Error(`the bus refused EXTERNAL authentication: ${auth}`);
    socket.write('BEGIN\r\n');
    let serial = 1;
    socket.write(
      encodeCall(
        {
          destination: 'org.freedesktop.DBus',
          path: '/org/freedesktop/DBus',
          interface: 'org.freedesktop.DBus',
          member: 'Hello',
        },
        serial,
      ),
    );
    await reply(serial);
    const results: unknown[] = [];
    for (const call of calls) {
      serial++;
      socket.write(encodeCall(call, serial));
      results.push(await reply(serial));
    }
    return results;
  } finally {
    timer.cancel();
    socket.destroy();
  }
}

/** Read one property with org.freedesktop.DBus.Properties.Get. */
export async function getProperty(
  address: string,
  target: { destination: string; path: string; interface: string; property: string },
  clock: Clock,
): Promise<unknown> {
  const [value] = await callBus(
    address,
    [
      {
        destination: target.destination,
        path: target.path,
        interface: 'org.freedesktop.DBus.Properties',
        member: 'Get',
        args: [target.interface, target.property],
      },
    ],
    clock,
  );
  return value;
}
