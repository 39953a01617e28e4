import type { RemoteValidators } from '../core/index.ts';
import {
  headerValue,
  parseContentLength,
  parseContentRange,
  type RawHeaders,
  responseValidators,
  validatorsChanged,
} from './content-range.ts';

/**
 * What an answer to one segment's request means, judged against the file as first seen
 * (size and validators): every segment must come from the same file, so a 206 whose
 * Content-Range total, ETag or Last-Modified differs is a changed file (the download restarts,
 * as BITS would), and a 206 for other bytes than asked is a protocol error. Pure.
 */
export type SegmentVerdict =
  /** A 206 for bytes `first`..`last` (a prefix of what was asked is fine). */
  | { readonly kind: 'body'; readonly first: number; readonly last: number }
  /** The remote file is not the one the other segments came from. */
  | { readonly kind: 'changed'; readonly reason: string }
  /** An answer that does not fit: `key` names the failure-table row. */
  | { readonly kind: 'invalid'; readonly key: string; readonly message: string }
  /** Not 2xx/412/416: the failure table classifies the status. */
  | { readonly kind: 'status' };

/** Judge the answer to `Range: bytes=first-last` (with If-Range) for a file known as `known`. */
export function judgeSegmentAnswer(
  status: number,
  headers: RawHeaders,
  asked: { readonly first: number; readonly last: number },
  known: RemoteValidators,
): SegmentVerdict {
  const cr = parseContentRange(headerValue(headers, 'content-range'));
  if (status === 412) return { kind: 'changed', reason: 'the remote file changed (412 Precondition Failed)' };
  if (status === 416) {
    if (cr?.complete != null && cr.complete !== known.size) {
      return { kind: 'changed', reason: `the remote file is now ${cr.complete} bytes, not ${known.size} (416)` };
    }
    return { kind: 'invalid', key: 'response:invalid', message: `the server cannot serve bytes ${asked.first}- (416)` };
  }
  if (status === 200) {
    const length = parseContentLength(headers);
    if (validatorsChanged(known, responseValidators(headers, length ?? -1))) {
      return { kind: 'changed', reason: 'the remote file changed (If-Range answered 200)' };
    }
    return {
      kind: 'invalid',
      key: 'response:range-ignored',
      message: `the server answered 200 with the whole file to a request for bytes ${asked.first}-${asked.last}`,
    };
  }
  if (status === 206) {
    if (cr === null || cr.first === null || cr.last === null || cr.complete === null) {
      return {
        kind: 'invalid',
        key: 'response:invalid',
        message: `206 without a usable Content-Range (${headerValue(headers, 'content-range')})`,
      };
    }
    if (validatorsChanged(known, responseValidators(headers, cr.complete))) {
      return { kind: 'changed', reason: 'the remote file changed (size or validator differs between segments)' };
    }
    if (cr.first !== asked.first || cr.last > asked.last) {
      return {
        kind: 'invalid',
        key: 'response:invalid',
        message: `206 for bytes ${cr.first}-${cr.last} to a request for ${asked.first}-${asked.last}`,
      };
    }
    const declared = parseContentLength(headers);
    if (declared !== null && declared !== cr.last - cr.first + 1) {
      return {
        kind: 'invalid',
        key: 'response:invalid',
        message: `206 with Content-Length ${declared} for a ${cr.last - cr.first + 1}-byte range`,
      };
    }
    return { kind: 'body', first: cr.first, last: cr.last };
  }
  if (status >= 200 && status <= 299) {
    return { kind: 'invalid', key: 'response:invalid', message: `unexpected HTTP ${status}` };
  }
  return { kind: 'status' };
}

/**
 * The first answer of a segmented download (to `Range: bytes=0-`): a 206 from byte 0 with a known
 * total says the server serves ranges and gives size and validators; anything else — 200, no
 * total, an error status — is left to the one-connection path, which knows every BITS rule for it.
 */
export function judgeProbe(
  status: number,
  headers: RawHeaders,
):
  | { readonly ranged: true; readonly validators: RemoteValidators; readonly last: number }
  | { readonly ranged: false } {
  if (status !== 206) return { ranged: false };
  const cr = parseContentRange(headerValue(headers, 'content-range'));
  if (cr === null || cr.first !== 0 || cr.last === null || cr.complete === null) return { ranged: false };
  const declared = parseContentLength(headers);
  if (declared !== null && declared !== cr.last + 1) return { ranged: false };
  return { ranged: true, validators: responseValidators(headers, cr.complete), last: cr.last };
}
