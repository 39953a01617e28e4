import type { FileHandle } from 'node:fs/promises';
import type { FileSegment } from '../core/index.ts';
import { headerValue, ifRangeValue } from './content-range.ts';
import type { DownloadFileRequest } from './download-request.ts';
import type { DownloadState } from './download-state.ts';
import { classifyHttpStatus, classifyNetworkError, parseRetryAfter, transferError } from './failure-table.ts';
import { type Exchange, HttpSession, type SessionContext } from './http-exchange.ts';
import { judgeProbe, judgeSegmentAnswer } from './segment-answer.ts';
import { initialSegments, layoutFits, pickSplit } from './segment-plan.ts';
import { type Part, SegmentedSink } from './segmented-sink.ts';
import { abortError, TransferError } from './transfer-error.ts';

/** Default smallest part a file is split into (aria2's --min-split-size default is 20 MiB). */
export const DEFAULT_MIN_SPLIT_BYTES = 20 * 1024 * 1024;

/**
 * True when a file may be fetched over several connections: http(s), no AddFileWithRanges
 * ranges, not dynamic content, more than one connection allowed, and either a segmented layout
 * recorded or nothing fetched yet (a file begun front to back goes on that way).
 */
export function segmentsWanted(req: DownloadFileRequest, url: URL): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (req.ranges !== null || req.options.dynamicContent) return false;
  if ((req.options.maxConnections ?? 1) <= 1 && (req.segments ?? null) === null) return false;
  return (req.segments ?? null) !== null || req.bytesTransferred === 0;
}

/** Why a round of connections stopped early. */
class Restart extends Error {
  override readonly name = 'Restart';
}

/**
 * Segmented download of one file (docs/transfer.md, segmented downloads): the first request asks
 * for `bytes=0-`; a 206 with the file's size lets up to `maxConnections` connections fetch
 * disjoint parts into the one temp file (SegmentedSink), each part checkpointed on its own; a
 * connection out of work splits the part with the most left. Every 206 must come from the file
 * the first one described (size, ETag, Last-Modified) or the file restarts from 0, as BITS does.
 * A connection that fails transiently stops and leaves its part to the others; the download fails
 * when every connection has. Resolves 'fallback' when the server does not serve ranges (the
 * caller fetches the file front to back), 'done' once every byte is durable.
 */
export async function segmentedDownload(
  st: DownloadState,
  fh: FileHandle,
  recorded: readonly FileSegment[] | null,
): Promise<'done' | 'fallback'> {
  let layout = recorded;
  for (;;) {
    const known = st.validators;
    let probe: { session: HttpSession; ex: Exchange } | null = null;
    if (layout === null || known === null || !layoutFits(layout, known.size)) {
      if (layout !== null) await st.restart('the recorded segments do not fit the file');
      const session = new HttpSession(st);
      const ex = await session.get({ range: 'bytes=0-' });
      const verdict = judgeProbe(ex.status, ex.headers);
      if (!verdict.ranged) {
        await ex.discard();
        return 'fallback';
      }
      st.learn(verdict.validators.size, verdict.validators);
      st.connected();
      const { maxConnections = 1, minSplitBytes = DEFAULT_MIN_SPLIT_BYTES } = st.req.options;
      layout = initialSegments(verdict.validators.size, maxConnections, minSplitBytes);
      probe = { session, ex };
    }
    try {
      await runRound(st, fh, layout, probe);
      return 'done';
    } catch (err) {
      if (!(err instanceof Restart)) throw err;
      // The single-stream sink is the file's again (truncated to 0; a fallback may write it).
      st.segmented = false;
      await st.restart(err.message);
      layout = null;
    }
  }
}

/** One layout's worth of connections, until every part is durable, a failure, or a restart. */
async function runRound(
  st: DownloadState,
  fh: FileHandle,
  layout: readonly FileSegment[],
  probe: { session: HttpSession; ex: Exchange } | null,
): Promise<void> {
  const { req } = st;
  const size = st.validators?.size ?? 0;
  const round = new AbortController();
  const signal = AbortSignal.any([req.signal, round.signal]);
  // The round's connections stop together (a restart, a fatal failure) or with the caller.
  const view: SessionContext = { req: { ...req, signal }, url: st.url, timeouts: st.timeouts };
  const sink = new SegmentedSink(fh, layout, {
    clock: req.clock,
    checkpointBytes: req.options.checkpointBytes,
    checkpointMs: req.options.checkpointMs,
    limiter: req.limiter,
    signal,
    // The last checkpoint goes through onCheckpoint (the runner folds it into TRANSFERRED).
    onCheckpoint: (parts, bytes, syncMs) =>
      bytes === size ? req.hooks.onCheckpoint(bytes, syncMs) : req.hooks.onSegments?.(parts, bytes, syncMs),
    onProgress: (bytes) => req.hooks.onProgress(bytes),
  });
  // From here the parts own the temp file: the single-stream sink's reports are muted.
  st.segmented = true;
  const round$ = new Round(st, view, sink, round, size);
  const connections = Math.max(1, req.options.maxConnections ?? 1);
  const workers: Promise<void>[] = [];
  const first = sink.parts[0];
  if (probe !== null && first !== undefined) workers.push(round$.worker(probe.session, { part: first, ex: probe.ex }));
  else if (probe !== null) await probe.ex.discard();
  while (workers.length < connections) workers.push(round$.worker(new HttpSession(view), null));
  await Promise.all(workers);
  try {
    if (round$.stop !== null) throw round$.stop;
    if (req.signal.aborted) throw abortError(req.signal);
    if (!sink.complete) throw round$.lastFailure ?? transferError('response:invalid', 'no connection left');
    await sink.checkpoint();
  } catch (err) {
    if (!(err instanceof Restart)) await checkpointQuietly(sink, req.signal, err);
    throw err;
  } finally {
    // No write may land after this (a restart truncates the file next).
    await sink.settle();
    sink.release();
  }
}

/** Save what arrived before a failure; a local failure replaces a transient one (not an abort). */
async function checkpointQuietly(sink: SegmentedSink, signal: AbortSignal, failure: unknown): Promise<void> {
  try {
    await sink.checkpoint();
  } catch (local) {
    if (!signal.aborted && failure instanceof TransferError && failure.failure.kind === 'transient') throw local;
  }
}

/** The shared state of one round's connections. */
class Round {
  readonly #st: DownloadState;
  readonly #view: SessionContext;
  readonly #sink: SegmentedSink;
  readonly #abort: AbortController;
  readonly #size: number;
  /** What stops every connection: a restart or a fatal failure. */
  stop: Error | null = null;
  /** The last transient failure of a connection that gave up. */
  lastFailure: TransferError | null = null;

  constructor(st: DownloadState, view: SessionContext, sink: SegmentedSink, abort: AbortController, size: number) {
    this.#st = st;
    this.#view = view;
    this.#sink = sink;
    this.#abort = abort;
    this.#size = size;
  }

  /** One connection: fetch parts until none is left (or worth splitting), or it fails. */
  async worker(session: HttpSession, first: { part: Part; ex: Exchange } | null): Promise<void> {
    let pending = first;
    for (;;) {
      if (this.stop !== null || this.#view.req.signal.aborted) {
        await pending?.ex.discard();
        return;
      }
      const part = pending?.part ?? this.#claim();
      if (part === null) return;
      part.busy = true;
      try {
        await this.#fetch(session, part, pending?.ex ?? null);
      } catch (err) {
        this.#fail(err);
        return;
      } finally {
        part.busy = false;
        pending = null;
      }
    }
  }

  /** An idle part with bytes left, else the back half of the part with the most left. */
  #claim(): Part | null {
    const parts = this.#sink.parts;
    const idle = parts.find((p) => !p.busy && p.left > 0);
    if (idle !== undefined) return idle;
    const split = pickSplit(parts, this.#st.req.options.minSplitBytes ?? DEFAULT_MIN_SPLIT_BYTES);
    const victim = split === null ? undefined : parts[split.index];
    if (split === null || victim === undefined) return null;
    return this.#sink.split(victim, split.at);
  }

  async #fetch(session: HttpSession, part: Part, probe: Exchange | null): Promise<void> {
    const st = this.#st;
    let ex = probe;
    let expected = this.#size - part.pos;
    if (ex === null) {
      const asked = { first: part.pos, last: part.end - 1 };
      const headers: Record<string, string> = { range: `bytes=${asked.first}-${asked.last}` };
      const ifRange = ifRangeValue(st.validators);
      if (ifRange !== null) headers['if-range'] = ifRange;
      ex = await session.get(headers);
      const known = st.validators ?? { size: this.#size, etag: null, lastModified: null };
      const verdict = judgeSegmentAnswer(ex.status, ex.headers, asked, known);
      if (verdict.kind !== 'body') {
        await ex.discard();
        if (verdict.kind === 'changed') throw new Restart(verdict.reason);
        if (verdict.kind === 'invalid') throw transferError(verdict.key as 'response:invalid', verdict.message);
        const retryAfter = parseRetryAfter(headerValue(ex.headers, 'retry-after'), st.req.clock.wallMs());
        throw new TransferError(classifyHttpStatus(ex.status, retryAfter));
      }
      expected = verdict.last - verdict.first + 1;
    }
    let got = 0;
    try {
      for await (const chunk of ex.chunks()) {
        got += chunk.byteLength;
        const n = Math.min(chunk.byteLength, part.left);
        if (n > 0) await this.#sink.write(part, n === chunk.byteLength ? chunk : chunk.subarray(0, n));
        // The part ended (it was split meanwhile, or the answer ran on): drop the rest.
        if (part.left === 0 || this.stop !== null) break;
      }
    } catch (err) {
      await ex.discard();
      throw err;
    }
    if (part.left > 0 && got < expected && this.stop === null) {
      throw transferError('response:short-body', `the connection closed after ${got} of ${expected} bytes`);
    }
  }

  #fail(err: unknown): void {
    if (this.stop !== null) return;
    if (err instanceof Restart) {
      this.stop = err;
      this.#abort.abort(err);
      return;
    }
    const failure = err instanceof TransferError ? err : new TransferError(classifyNetworkError(err), { cause: err });
    if (this.#view.req.signal.aborted) return;
    if (failure.failure.kind === 'fatal' || failure.failure.error.context === 'LOCAL_FILE') {
      this.stop = failure;
      this.#abort.abort(failure);
      return;
    }
    this.lastFailure = failure;
  }
}
