import { LENGTH_TO_EOF } from '../core/index.ts';
import {
  headerValue,
  ifRangeValue,
  parseContentLength,
  parseContentRange,
  responseValidators,
  validatorsChanged,
} from './content-range.ts';
import type { DownloadState } from './download-state.ts';
import { classifyHttpStatus, parseRetryAfter, transferError } from './failure-table.ts';
import { type Exchange, HttpSession } from './http-exchange.ts';
import { planSegments, type Segment, segmentsTotal, spanAt } from './range-plan.ts';
import { TransferError } from './transfer-error.ts';

/**
 * HTTP(S) download of one file with BITS semantics: resume with Range from the recorded offset;
 * Content-Range decides what arrived (a body is accepted for offset k only as 206 `bytes k-E/T`
 * with T the known size, or as 200 for k = 0 with Content-Length the size); validators stored
 * first, sent back as If-Range / If-Unmodified-Since; a changed file restarts from 0.
 */
export async function httpDownload(st: DownloadState): Promise<void> {
  const session = new HttpSession(st);
  if (st.req.ranges === null) await wholeFile(st, session);
  else await rangedFile(st, session, st.req.ranges);
}

/** A response that does not fit the request: transient for a whole file, fatal with ranges (as BITS). */
const invalidResponse = (message: string, ranged = false) =>
  transferError(ranged ? 'response:invalid-ranged' : 'response:invalid', message);

/** Fail on a status that is neither 2xx nor handled (416, 412): the failure table decides. */
async function failStatus(st: DownloadState, ex: Exchange): Promise<never> {
  await ex.discard();
  const retryAfter = parseRetryAfter(headerValue(ex.headers, 'retry-after'), st.req.clock.wallMs());
  throw new TransferError(classifyHttpStatus(ex.status, retryAfter));
}

async function wholeFile(st: DownloadState, session: HttpSession): Promise<void> {
  const { sink } = st;
  const dynamic = st.req.options.dynamicContent;
  if (dynamic && sink.position > 0) {
    await st.restart('dynamic content restarts from 0 after an interruption');
  }
  for (;;) {
    if (st.bytesTotal >= 0 && st.validators !== null && sink.position >= st.bytesTotal) return;
    const k = sink.position;
    const extra: Record<string, string> = {};
    const ifRange = k > 0 ? ifRangeValue(st.validators) : null;
    if (k > 0) extra.range = `bytes=${k}-`;
    if (ifRange !== null) extra['if-range'] = ifRange;
    const ex = await session.get(extra);
    try {
      if ((await wholeFileAnswer(st, ex, k, ifRange, dynamic)) === 'done') return;
    } catch (err) {
      await ex.discard();
      throw err;
    }
  }
}

/** Act on one answer to a whole-file request: write it, restart, finish, or throw. */
async function wholeFileAnswer(
  st: DownloadState,
  ex: Exchange,
  k: number,
  ifRange: string | null,
  dynamic: boolean,
): Promise<'again' | 'done'> {
  const { sink } = st;
  const size = st.validators?.size ?? st.bytesTotal;

  if (ex.status === 412) {
    await ex.discard();
    await st.restart('the remote file changed (412 Precondition Failed)');
    return 'again';
  }
  if (ex.status === 416) {
    await ex.discard();
    const cr = parseContentRange(headerValue(ex.headers, 'content-range'));
    if (k > 0 && cr?.complete === size && k === size) return 'done';
    await st.restart(`the server cannot serve bytes from ${k} (416)`);
    return 'again';
  }
  if (ex.status === 200) {
    const length = parseContentLength(ex.headers);
    const fresh = responseValidators(ex.headers, length ?? -1);
    if (k > 0) {
      const changed = ifRange !== null && validatorsChanged(st.validators, fresh);
      if (!changed && !dynamic) {
        await ex.discard();
        throw transferError(
          'response:range-ignored',
          `the server answered 200 with the whole file to a request for bytes ${k}-`,
        );
      }
      await st.restart(changed ? 'the remote file changed (If-Range answered 200)' : 'dynamic content');
    }
    if (length === null && !dynamic) {
      await ex.discard();
      throw transferError('response:no-size', 'the server sent no Content-Length');
    }
    st.learn(length ?? -1, fresh);
    st.learnDigest(ex.headers, true);
    st.learnMirrors(ex.headers);
    st.connected();
    await writeBody(st, ex, length);
    if (length === null) st.learn(sink.position, { ...fresh, size: sink.position });
    return 'again';
  }
  if (ex.status === 206) {
    const cr = parseContentRange(headerValue(ex.headers, 'content-range'));
    if (k === 0 || cr === null || cr.first === null || cr.last === null || cr.complete === null) {
      await ex.discard();
      throw invalidResponse(
        `206 with Content-Range ${headerValue(ex.headers, 'content-range')} to a request for ${k}-`,
      );
    }
    const fresh = responseValidators(ex.headers, cr.complete);
    if (validatorsChanged(st.validators, fresh) || (size >= 0 && cr.complete !== size)) {
      await ex.discard();
      await st.restart('the remote file changed (size or validator)');
      return 'again';
    }
    if (cr.first !== k) {
      await ex.discard();
      throw invalidResponse(`206 for bytes ${cr.first}-${cr.last} to a request for ${k}-`);
    }
    const length = cr.last - cr.first + 1;
    const declared = parseContentLength(ex.headers);
    if (declared !== null && declared !== length) {
      await ex.discard();
      throw invalidResponse(`206 with Content-Length ${declared} for a ${length}-byte range`);
    }
    st.learn(cr.complete, fresh);
    st.learnDigest(ex.headers, false);
    st.learnMirrors(ex.headers);
    st.connected();
    await writeBody(st, ex, length);
    return 'again';
  }
  if (ex.status >= 200 && ex.status <= 299) {
    await ex.discard();
    throw invalidResponse(`unexpected HTTP ${ex.status}`);
  }
  return await failStatus(st, ex);
}

async function rangedFile(
  st: DownloadState,
  session: HttpSession,
  ranges: NonNullable<DownloadState['req']['ranges']>,
): Promise<void> {
  const { sink } = st;
  let segments: Segment[] = planSegments(ranges, st.validators?.size ?? null);
  for (;;) {
    const total = segmentsTotal(segments);
    if (total >= 0 && st.validators !== null && sink.position >= total) return;
    const span = spanAt(segments, sink.position);
    if (span === null) throw invalidResponse('no range left to request', true);
    const extra: Record<string, string> = { range: `bytes=${span.remoteFirst}-${span.remoteLast ?? ''}` };
    if (st.validators?.lastModified != null) extra['if-unmodified-since'] = st.validators.lastModified;
    const ex = await session.get(extra);
    try {
      segments = await rangedAnswer(st, ex, ranges, segments, extra.range ?? '');
    } catch (err) {
      await ex.discard();
      throw err;
    }
  }
}

/** Act on one answer to a range request; returns the (re)planned segments. */
async function rangedAnswer(
  st: DownloadState,
  ex: Exchange,
  ranges: NonNullable<DownloadState['req']['ranges']>,
  planned: Segment[],
  asked: string,
): Promise<Segment[]> {
  const { sink } = st;
  let segments = planned;
  if (ex.status === 412) {
    await ex.discard();
    await st.restart('the remote file changed (412 Precondition Failed)');
    return planSegments(ranges, null);
  }
  if (ex.status === 200) {
    await ex.discard();
    throw transferError('response:range-ignored', 'the server answered 200 with the whole file to a range request');
  }
  if (ex.status === 416) {
    await ex.discard();
    const cr = parseContentRange(headerValue(ex.headers, 'content-range'));
    const known = st.validators?.size ?? null;
    if (known !== null && cr?.complete != null && cr.complete !== known) {
      await st.restart('the remote file changed size (416)');
      return planSegments(ranges, null);
    }
    throw transferError('range:invalid', `the server cannot serve ${asked} (416)`);
  }
  if (ex.status === 206) {
    const cr = parseContentRange(headerValue(ex.headers, 'content-range'));
    if (cr === null || cr.first === null || cr.last === null || cr.complete === null) {
      await ex.discard();
      throw invalidResponse(`206 without a usable Content-Range (${headerValue(ex.headers, 'content-range')})`, true);
    }
    const fresh = responseValidators(ex.headers, cr.complete);
    if (validatorsChanged(st.validators, fresh)) {
      await ex.discard();
      await st.restart('the remote file changed (size or validator)');
      return planSegments(ranges, null);
    }
    if (st.validators === null || segments.some((s) => s.length === LENGTH_TO_EOF || s.localStart < 0)) {
      segments = planSegments(ranges, cr.complete);
    }
    st.learn(segmentsTotal(segments), fresh);
    const want = spanAt(segments, sink.position);
    if (want === null || cr.first !== want.remoteFirst || cr.last > (want.remoteLast ?? cr.complete - 1)) {
      await ex.discard();
      throw invalidResponse(`206 for bytes ${cr.first}-${cr.last} to a request for ${asked}`, true);
    }
    st.connected();
    await writeBody(st, ex, cr.last - cr.first + 1);
    return segments;
  }
  if (ex.status >= 200 && ex.status <= 299) {
    await ex.discard();
    throw invalidResponse(`unexpected HTTP ${ex.status}`, true);
  }
  return await failStatus(st, ex);
}

/**
 * Stream the body into the sink: exactly `expected` bytes (a longer body is cut at the size and
 * fails; a shorter one fails transient with the prefix kept), or to the end when unknown.
 */
async function writeBody(st: DownloadState, ex: Exchange, expected: number | null): Promise<void> {
  const { sink } = st;
  let got = 0;
  let tooLong = false;
  // A checkpoint failing beside the writes stops the body at once (it may have gone quiet).
  const unwatch = sink.watch((err) => ex.stop(err));
  // The socket may read straight into the sink's write buffer (plain http).
  const readTarget = () => sink.readTarget();
  // One synchronous call per socket read: the sink takes the chunk or pauses the socket.
  await ex
    .pump((chunk) => {
      if (expected !== null && got + chunk.byteLength > expected) {
        tooLong = true;
        const head = chunk.subarray(0, expected - got);
        got = expected;
        return head.byteLength > 0 ? (sink.accept(head) ?? false) : false;
      }
      if (expected === null) st.checkMaxSize(sink.position + chunk.byteLength);
      got += chunk.byteLength;
      return sink.accept(chunk);
    }, readTarget)
    .finally(unwatch);
  if (tooLong) throw invalidResponse(`the body is longer than the ${expected} bytes declared`);
  if (expected !== null && got < expected) {
    throw transferError('response:short-body', `the connection closed after ${got} of ${expected} bytes`);
  }
}
