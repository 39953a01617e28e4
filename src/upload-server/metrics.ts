/**
 * Prometheus metrics of one upload server (handler) instance, in its own prom-client Registry:
 * two handlers in one process never share a counter, and nothing is put in prom-client's global
 * default registry. The standalone server serves them on a separate listen address
 * (`metrics-listener.ts`), never under the upload URL space; an embedding app reads
 * `handler.metrics.registry` and serves or merges it as it likes.
 */
import { Counter, Histogram, Registry } from 'prom-client';

/** How a session ended, as counted by `bits_upload_sessions_ended_total`. */
export type SessionEnd = 'closed' | 'cancelled' | 'evicted' | 'expired';

/** Fragment latency buckets (seconds): a small fragment on tmpfs to a large one with fdatasync. */
const FRAGMENT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The counters the packet handlers feed; cheap enough to call once per packet. */
export class UploadMetrics {
  /** This instance's registry (text exposition via `registry.metrics()`). */
  readonly registry = new Registry();
  readonly #packets: Counter<'type'>;
  readonly #sessionsCreated: Counter;
  readonly #sessionsEnded: Counter<'how'>;
  readonly #committed: Counter;
  readonly #fragments: Counter;
  readonly #bytes: Counter;
  readonly #rejections: Counter<'code' | 'status'>;
  readonly #fragmentSeconds: Histogram;

  constructor() {
    const registers = [this.registry];
    this.#packets = new Counter({
      name: 'bits_upload_packets_total',
      help: 'BITS_POST packets received, by BITS-Packet-Type',
      labelNames: ['type'],
      registers,
    });
    this.#sessionsCreated = new Counter({
      name: 'bits_upload_sessions_created_total',
      help: 'Upload sessions created (Create-Session answered 200)',
      registers,
    });
    this.#sessionsEnded = new Counter({
      name: 'bits_upload_sessions_ended_total',
      help: 'Upload sessions ended: closed (Close-Session), cancelled, evicted at a cap, expired',
      labelNames: ['how'],
      registers,
    });
    this.#committed = new Counter({
      name: 'bits_upload_files_committed_total',
      help: 'Uploaded files moved to their destination under the root',
      registers,
    });
    this.#fragments = new Counter({
      name: 'bits_upload_fragments_total',
      help: 'Fragments acknowledged with 200 (duplicates included)',
      registers,
    });
    this.#bytes = new Counter({
      name: 'bits_upload_received_bytes_total',
      help: 'New bytes written and synced (bytes of a resent fragment that the server already held are not counted)',
      registers,
    });
    this.#rejections = new Counter({
      name: 'bits_upload_rejections_total',
      help: 'Packets answered with an error Ack, by BITS error name and HTTP status',
      labelNames: ['code', 'status'],
      registers,
    });
    this.#fragmentSeconds = new Histogram({
      name: 'bits_upload_fragment_seconds',
      help: 'Time from a Fragment packet head to its Ack (body read, written, synced, recorded)',
      buckets: FRAGMENT_BUCKETS,
      registers,
    });
  }

  packet(type: string): void {
    this.#packets.inc({ type });
  }

  sessionCreated(): void {
    this.#sessionsCreated.inc();
  }

  sessionsEnded(how: SessionEnd, count = 1): void {
    if (count > 0) this.#sessionsEnded.inc({ how }, count);
  }

  committed(): void {
    this.#committed.inc();
  }

  /** A fragment was acknowledged: `newBytes` of it were new, after `seconds`. */
  fragment(newBytes: number, seconds: number): void {
    this.#fragments.inc();
    if (newBytes > 0) this.#bytes.inc(newBytes);
    this.#fragmentSeconds.observe(seconds);
  }

  rejected(code: string, status: number): void {
    this.#rejections.inc({ code, status: String(status) });
  }

  /** The text exposition format (what a scraper reads). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
