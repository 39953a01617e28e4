import type { FileSegment } from '../core/index.ts';
import { headerValue, ifRangeValue, responseValidators } from './content-range.ts';
import type { DataFile } from './descriptor-file.ts';
import type { DownloadFileRequest } from './download-request.ts';
import { addMirrors, type DownloadSource, downloadSources, pickSource } from './download-sources.ts';
import type { DownloadState } from './download-state.ts';
import { classifyHttpStatus, classifyNetworkError, parseRetryAfter, transferError } from './failure-table.ts';
import { type Exchange, HttpSession } from './http-exchange.ts';
import { judgeProbe, judgeSegmentAnswer } from './segment-answer.ts';
import { DEFAULT_MIN_SPLIT_BYTES, initialSegments, layoutFits, pickSplit } from './segment-plan.ts';
import { type Part, SegmentedSink } from './segmented-sink.ts';
import { abortError, TransferError } from './transfer-error.ts';

/**
 * True when a file may be fetched in parts: http(s), no AddFileWithRanges ranges, not dynamic
 * content, more than one connection allowed or mirrors to fail over to, and either a layout
 * recorded or nothing fetched yet (a file begun front to back goes on that way).
 */
export function segmentsWanted(req: DownloadFileRequest, url: URL): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (req.ranges !== null || req.options.dynamicContent) return false;
  const several = (req.options.maxConnections ?? 1) > 1 || (req.mirrors ?? []).length > 0;
  if (!several && (req.segments ?? null) === null) return false;
  return (req.segments ?? null) !== null || req.bytesTransferred === 0;
}

/** Why a round of connections stopped early. */
class Restart extends Error {
  override readonly name = 'Restart';
}

/** What the probe found: the connection that asked, its answer, and where it came from. */
interface Probe {
  readonly source: DownloadSource;
  readonly session: HttpSession;
  readonly ex: Exchange;
}

/**
 * Segmented download of one file (docs/transfer.md, segmented downloads): the first request asks
 * for `bytes=0-`; a 206 with the file's size lets up to `maxConnections` connections fetch
 * disjoint parts into the one temp file (SegmentedSink), each part checkpointed on its own; a
 * connection out of work splits the part with the most left. Parts come from the remote name
 * and its mirrors (DownloadSource): a source that fails or lies is taken out and its part goes
 * to another. Every 206 of the remote name must come from the file the first one described (size,
 * ETag, Last-Modified) or the file restarts from 0, as BITS does; a mirror must serve that size
 * and keep its own validators. A connection whose last source failed transiently stops and leaves
 * its part to the others; the download fails when every connection has. Resolves 'fallback' when
 * the remote name does not serve ranges (the caller fetches the file front to back), 'done' once
 * every byte is durable.
 */
export async function segmentedDownload(
  st: DownloadState,
  fh: DataFile,
  recorded: readonly FileSegment[] | null,
  distrust: ReadonlyMap<string, string> = new Map(),
): Promise<'done' | 'fallback'> {
  let layout = recorded;
  for (;;) {
    const round = new AbortController();
    const signal = AbortSignal.any([st.req.signal, round.signal]);
    const sources = downloadSources(st.req, st.url, st.timeouts, signal, st.offered);
    // Sources that sent a bad piece sit out the repair, unless that would leave none.
    if (sources.some((s) => !distrust.has(s.url.href))) {
      for (const s of sources) s.out = distrust.get(s.url.href) ?? null;
    }
    const known = st.validators;
    let probe: Probe | null = null;
    if (layout === null || known === null || !layoutFits(layout, known.size)) {
      if (layout !== null) await st.restart('the recorded segments do not fit the file');
      const found = await probeSources(st, sources);
      if (found === 'fallback') {
        st.segmented = false;
        return 'fallback';
      }
      const { maxConnections = 1, minSplitBytes = DEFAULT_MIN_SPLIT_BYTES } = st.req.options;
      layout = initialSegments(st.validators?.size ?? 0, maxConnections, minSplitBytes, st.req.pieces?.length);
      probe = found;
    }
    try {
      await runRound(st, fh, layout, sources, round, probe);
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

/**
 * Ask each source in turn for `bytes=0-` until one answers a 206 with the size. The remote name
 * answering anything else 2xx means no ranges: 'fallback'. A source that fails is taken out; when
 * all have, the remote name's failure is thrown.
 */
async function probeSources(st: DownloadState, sources: DownloadSource[]): Promise<Probe | 'fallback'> {
  let firstFailure: unknown = null;
  for (const source of sources) {
    const session = new HttpSession(source.view, { fairShare: false });
    let ex: Exchange;
    try {
      ex = await session.get({ range: 'bytes=0-' });
    } catch (err) {
      if (st.req.signal.aborted || sources.length === 1) throw err;
      firstFailure ??= err;
      dropSource(st, source, failureOf(err).message);
      continue;
    }
    const verdict = judgeProbe(ex.status, ex.headers);
    if (verdict.ranged) {
      const size = verdict.validators.size;
      // Validators are the remote name's; a mirror's first answer tells only the size.
      st.learn(size, source.primary ? verdict.validators : { size, etag: null, lastModified: null });
      if (!source.primary) source.pinned = verdict.validators;
      else {
        st.learnDigest(ex.headers, false);
        addMirrors(sources, st.learnMirrors(ex.headers));
      }
      st.connected();
      return { source, session, ex };
    }
    await ex.discard();
    if (source.primary && (ex.status < 300 || sources.length === 1)) return 'fallback';
    const failure = ex.status < 300 ? rangesIgnored(ex.status) : statusFailure(st, ex);
    firstFailure ??= failure;
    dropSource(st, source, failure.message);
  }
  throw firstFailure ?? transferError('response:invalid', 'no source to download from');
}

/** One layout's worth of connections, until every part is durable, a failure, or a restart. */
async function runRound(
  st: DownloadState,
  fh: DataFile,
  layout: readonly FileSegment[],
  sources: DownloadSource[],
  round: AbortController,
  probe: Probe | null,
): Promise<void> {
  const { req } = st;
  const size = st.validators?.size ?? 0;
  const sink = new SegmentedSink(fh, layout, {
    clock: req.clock,
    checkpointBytes: req.options.checkpointBytes,
    checkpointMs: req.options.checkpointMs,
    limiter: req.limiter,
    signal: AbortSignal.any([req.signal, round.signal]),
    // The last checkpoint goes through onCheckpoint (the runner folds it into TRANSFERRED).
    onCheckpoint: (parts, bytes, syncMs) =>
      bytes === size ? req.hooks.onCheckpoint(bytes, syncMs) : req.hooks.onSegments?.(parts, bytes, syncMs),
    onProgress: (bytes) => req.hooks.onProgress(bytes),
    digests: st.digests,
  });
  // From here the parts own the temp file: the single-stream sink's reports are muted.
  st.segmented = true;
  const crew = new Crew(st, sources, sink, round, size);
  const connections = Math.max(1, req.options.maxConnections ?? 1);
  const workers: Promise<void>[] = [];
  const first = sink.parts[0];
  if (probe !== null && first !== undefined) workers.push(crew.worker({ ...probe, part: first }));
  else if (probe !== null) await probe.ex.discard();
  while (workers.length < connections) workers.push(crew.worker(null));
  await Promise.all(workers);
  try {
    if (crew.stop !== null) throw crew.stop;
    if (req.signal.aborted) throw abortError(req.signal);
    if (!sink.complete) throw crew.lastFailure ?? transferError('response:invalid', 'no source left');
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

const failureOf = (err: unknown): TransferError =>
  err instanceof TransferError ? err : new TransferError(classifyNetworkError(err), { cause: err });

const rangesIgnored = (status: number): TransferError =>
  transferError('response:invalid', `answered ${status} without a byte range to a Range request`);

function statusFailure(st: DownloadState, ex: Exchange): TransferError {
  const retryAfter = parseRetryAfter(headerValue(ex.headers, 'retry-after'), st.req.clock.wallMs());
  return new TransferError(classifyHttpStatus(ex.status, retryAfter));
}

/** Take a source out for the rest of the call and say why (the job's log names the mirror). */
function dropSource(st: DownloadState, source: DownloadSource, reason: string): void {
  source.out = reason;
  st.req.hooks.onSourceDropped?.(source.url.href, reason);
}

/** A mirror that serves another file than the remote name: taken out, never a restart. */
class Lie extends Error {
  override readonly name = 'Lie';
}

/** One round's connections and what they share: the sources, the parts, why they stop. */
class Crew {
  readonly #st: DownloadState;
  readonly #sources: DownloadSource[];
  readonly #sink: SegmentedSink;
  readonly #abort: AbortController;
  readonly #size: number;
  /** What stops every connection: a restart or a fatal failure. */
  stop: Error | null = null;
  /** The last transient failure of a connection that gave up. */
  lastFailure: TransferError | null = null;

  constructor(st: DownloadState, sources: DownloadSource[], sink: SegmentedSink, abort: AbortController, size: number) {
    this.#st = st;
    this.#sources = sources;
    this.#sink = sink;
    this.#abort = abort;
    this.#size = size;
  }

  get #stopped(): boolean {
    return this.stop !== null || this.#abort.signal.aborted || this.#st.req.signal.aborted;
  }

  /** One connection: fetch parts until none is left (or worth splitting), or it has no source left. */
  async worker(first: (Probe & { part: Part }) | null): Promise<void> {
    const sessions = new Map<DownloadSource, HttpSession>();
    if (first !== null) sessions.set(first.source, first.session);
    let pending = first;
    for (;;) {
      if (this.#stopped) {
        await pending?.ex.discard();
        return;
      }
      const source = pending?.source ?? pickSource(this.#sources);
      if (source === null) return;
      const part = pending?.part ?? this.#claim();
      if (part === null) return;
      let session = sessions.get(source);
      if (session === undefined) {
        session = new HttpSession(source.view, { fairShare: false });
        sessions.set(source, session);
      }
      part.busy = true;
      source.active++;
      try {
        await this.#fetch(session, source, part, pending?.ex ?? null);
      } catch (err) {
        if (!this.#failed(source, err)) return;
      } finally {
        part.busy = false;
        source.active--;
        pending = null;
      }
    }
  }

  /** An idle part with bytes left, else the back half of the part with the most left. */
  #claim(): Part | null {
    const parts = this.#sink.parts;
    const idle = parts.find((p) => !p.busy && p.left > 0);
    if (idle !== undefined) return idle;
    const { minSplitBytes = DEFAULT_MIN_SPLIT_BYTES } = this.#st.req.options;
    const split = pickSplit(parts, minSplitBytes, this.#st.req.pieces?.length);
    const victim = split === null ? undefined : parts[split.index];
    if (split === null || victim === undefined) return null;
    return this.#sink.split(victim, split.at);
  }

  async #fetch(session: HttpSession, source: DownloadSource, part: Part, probe: Exchange | null): Promise<void> {
    const st = this.#st;
    let ex = probe;
    let expected = this.#size - part.pos;
    if (ex === null) {
      const asked = { first: part.pos, last: part.end - 1 };
      const headers: Record<string, string> = { range: `bytes=${asked.first}-${asked.last}` };
      const mine = source.primary ? st.validators : source.pinned;
      const ifRange = ifRangeValue(mine);
      if (ifRange !== null) headers['if-range'] = ifRange;
      ex = await session.get(headers);
      const known = mine ?? { size: this.#size, etag: null, lastModified: null };
      const verdict = judgeSegmentAnswer(ex.status, ex.headers, asked, { ...known, size: this.#size });
      if (verdict.kind !== 'body') {
        await ex.discard();
        if (verdict.kind === 'changed') {
          if (source.primary && st.validators !== null) throw new Restart(verdict.reason);
          throw new Lie(`serves another file than ${st.url.href}: ${verdict.reason}`);
        }
        if (verdict.kind === 'invalid') throw transferError(verdict.key as 'response:invalid', verdict.message);
        throw statusFailure(st, ex);
      }
      if (!source.primary) source.pinned ??= responseValidators(ex.headers, this.#size);
      else {
        st.learnDigest(ex.headers, false);
        addMirrors(this.#sources, st.learnMirrors(ex.headers));
      }
      expected = verdict.last - verdict.first + 1;
    }
    let got = 0;
    const from = part.pos;
    // The socket may read straight into the part's buffer (plain http).
    const readTarget = () => this.#sink.readTarget(part);
    try {
      await ex.pump((chunk) => {
        // The part ended (it was split meanwhile, or the answer ran on): drop the rest.
        if (part.left === 0 || this.stop !== null) return false;
        got += chunk.byteLength;
        const n = Math.min(chunk.byteLength, part.left);
        return this.#sink.accept(part, n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      }, readTarget);
    } catch (err) {
      await ex.discard();
      throw err;
    } finally {
      if (part.pos > from) st.provenance.push({ from, to: part.pos, url: source.url.href });
    }
    if (part.left > 0 && got < expected && this.stop === null) {
      throw transferError('response:short-body', `the connection closed after ${got} of ${expected} bytes`);
    }
  }

  /** After a failed fetch: true when the connection may go on with another source. */
  #failed(source: DownloadSource, err: unknown): boolean {
    if (this.#stopped) return false;
    if (err instanceof Restart) return this.#halt(err);
    const failure = err instanceof Lie ? transferError('response:invalid', err.message) : failureOf(err);
    if (failure.failure.error.context === 'LOCAL_FILE') return this.#halt(failure);
    const others = this.#sources.some((s) => s !== source && s.out === null);
    if (others) {
      if (source.out === null) dropSource(this.#st, source, failure.failure.error.message);
      return true;
    }
    if (failure.failure.kind === 'fatal') return this.#halt(failure);
    this.lastFailure = failure;
    return false;
  }

  #halt(err: Error): false {
    this.stop = err;
    this.#abort.abort(err);
    return false;
  }
}
