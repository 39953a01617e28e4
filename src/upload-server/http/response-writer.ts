import type { Duplex } from 'node:stream';
import type { Clock } from '../../core/clock.ts';

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** Reason phrase for a status (a generic one for codes not listed). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 400 ? 'OK' : status < 500 ? 'Client Error' : 'Server Error');
}

/** Response headers in wire order and casing. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/**
 * Writes one HTTP/1.1 response onto the socket. `Content-Length` is always set by the caller's
 * body length; `Connection: close` is added when the connection ends after this response.
 */
export class ResponseWriter {
  readonly #socket: Duplex;
  readonly #clock: Clock;
  readonly #onProgress: () => void;
  #sent = false;
  /** Set before sending to end the connection after this response. */
  close = false;

  /** `onProgress` runs whenever the peer takes bytes (keeps the idle timer off a slow reader). */
  constructor(socket: Duplex, clock: Clock, onProgress: () => void = () => {}) {
    this.#socket = socket;
    this.#clock = clock;
    this.#onProgress = onProgress;
  }

  /** Whether a response has been (or is being) written. */
  get sent(): boolean {
    return this.#sent;
  }

  /** Send a response with an in-memory body (empty by default). */
  async send(status: number, headers: HeaderList, body: Buffer = Buffer.alloc(0)): Promise<void> {
    await this.#writeHead(status, headers, body.length);
    if (body.length > 0) await this.#write(body);
  }

  /** Send a response whose body of `length` bytes comes from a stream (or none for HEAD). */
  async sendStream(
    status: number,
    headers: HeaderList,
    length: number,
    body: AsyncIterable<Buffer> | undefined,
  ): Promise<void> {
    await this.#writeHead(status, headers, length);
    if (body === undefined) return;
    for await (const chunk of body) await this.#write(chunk);
  }

  async #writeHead(status: number, headers: HeaderList, length: number): Promise<void> {
    if (this.#sent) throw new Error('response already sent');
    this.#sent = true;
    let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
    head += `Date: ${new Date(this.#clock.wallMs()).toUTCString()}\r\n`;
    head += 'Server: openbits-upload\r\n';
    for (const [name, value] of headers) {
      // Values are built by us, but a CR or LF must never reach the wire whatever their origin.
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`CR/LF in response header ${name}`);
      head += `${name}: ${value}\r\n`;
    }
    head += `Content-Length: ${length}\r\n`;
    if (this.close) head += 'Connection: close\r\n';
    head += '\r\n';
    await this.#write(Buffer.from(head, 'latin1'));
  }

  #write(chunk: Buffer): Promise<void> {
    if (this.#socket.destroyed) return Promise.reject(new Error('socket closed'));
    if (this.#socket.write(chunk)) {
      this.#onProgress();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.#socket.off('drain', onDrain);
        this.#socket.off('close', onClose);
        if (err) reject(err);
        else {
          this.#onProgress();
          resolve();
        }
      };
      const onDrain = () => done();
      const onClose = () => done(new Error('socket closed'));
      this.#socket.on('drain', onDrain);
      this.#socket.on('close', onClose);
    });
  }
}
