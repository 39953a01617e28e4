/** A pino destination: anything with a synchronous `write(line)`. */
export interface LineSink {
  write(line: string): unknown;
}

/**
 * Log lines gathered for `delayMs` and written with one call: the job log (a line per state
 * change) costs one write(2) per batch instead of one per line. Lines are never held past
 * `delayMs` (the timer does not keep the process alive), and `flush()` runs on exit, so a
 * normal stop or a fatal error loses none; a kill -9 may lose the last `delayMs` of job lines.
 */
export class BatchedLines implements LineSink {
  readonly #sink: LineSink;
  readonly #delayMs: number;
  #lines: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: LineSink, delayMs = 10) {
    this.#sink = sink;
    this.#delayMs = delayMs;
    process.once('exit', () => this.flush());
  }

  write(line: string): boolean {
    this.#lines.push(line);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#delayMs);
      this.#timer.unref();
    }
    return true;
  }

  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join('');
    this.#lines = [];
    this.#sink.write(text);
  }
}
