import net from 'node:net';
import tls from 'node:tls';

/** A response as read off the wire. */
export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Header lines exactly as sent (name and value). */
  readonly rawHeaders: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** First value of a header, by case-insensitive name. */
  get(name: string): string | undefined;
  /** Whether a header is present at all. */
  has(name: string): boolean;
}

/**
 * A raw TCP (or TLS) HTTP/1.1 client: sends bytes exactly as given and parses what comes back,
 * so tests see the server's status line and header casing, and can send what no library would.
 */
export class RawClient {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('error', () => {
      this.#ended = true;
      this.#notify();
    });
  }

  /** `localAddress` picks the client's own loopback address (127.0.0.2 …: another "client host"). */
  static async connect(
    port: number,
    options: { tls?: boolean; ca?: string; localAddress?: string } = {},
  ): Promise<RawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = options.tls
        ? tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: 'localhost' }, () => resolve(s))
        : net.connect({ port, host: '127.0.0.1', localAddress: options.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawClient(socket);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    await new Promise<void>((r) => {
      this.#wake = r;
    });
    return true;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Send a request and read its response. */
  async request(data: string | Buffer, options: { head?: boolean } = {}): Promise<RawResponse> {
    await this.write(data);
    return this.read(options);
  }

  /** Read one response (body by Content-Length; none for HEAD). */
  async read(options: { head?: boolean } = {}): Promise<RawResponse> {
    let end = this.#buf.indexOf('\r\n\r\n');
    while (end === -1) {
      if (!(await this.#more())) throw new Error(`connection closed before a response (${this.#buf.length} bytes)`);
      end = this.#buf.indexOf('\r\n\r\n');
    }
    const lines = this.#buf.toString('latin1', 0, end).split('\r\n');
    const statusLine = lines[0] ?? '';
    const rawHeaders = lines.slice(1).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i), l.slice(i + 1).trim()] as const;
    });
    const get = (name: string) => rawHeaders.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const length = options.head ? 0 : Number(get('content-length') ?? '0');
    while (this.#buf.length < end + 4 + length) {
      if (!(await this.#more())) throw new Error('connection closed inside a response body');
    }
    const body = Buffer.from(this.#buf.subarray(end + 4, end + 4 + length));
    this.#buf = this.#buf.subarray(end + 4 + length);
    return {
      statusLine,
      status: Number(statusLine.split(' ')[1]),
      rawHeaders,
      body,
      get,
      has: (name: string) => get(name) !== undefined,
    };
  }

  /** Resolves true once the server has closed the connection. */
  async closed(): Promise<boolean> {
    while (!this.#ended) await this.#more();
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Build a BITS_POST request (CRLF line ends, Content-Length from the body unless given). */
export function bitsPost(
  path: string,
  headers: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
  options: { contentLength?: number | null; host?: string } = {},
): Buffer {
  let head = `BITS_POST ${path} HTTP/1.1\r\nHost: ${options.host ?? '127.0.0.1'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (options.contentLength !== null) head += `Content-Length: ${options.contentLength ?? body.length}\r\n`;
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
