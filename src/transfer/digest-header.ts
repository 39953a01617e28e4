import type { DigestAlgorithm, FileDigest } from '../core/index.ts';
import { headerValues, type RawHeaders } from './content-range.ts';

/** Digest size in bytes, strongest first (the order a server's digests are preferred in). */
const BYTES: ReadonlyArray<readonly [DigestAlgorithm, number]> = [
  ['sha-512', 64],
  ['sha-256', 32],
  ['sha-1', 20],
  ['md5', 16],
];

/** Algorithm names of the HTTP digest registries (RFC 3230 / RFC 9530), lower-cased. */
const NAMES: Readonly<Record<string, DigestAlgorithm>> = {
  'sha-512': 'sha-512',
  'sha-256': 'sha-256',
  sha: 'sha-1',
  'sha-1': 'sha-1',
  md5: 'md5',
};

/**
 * The strongest whole-file digest a response offers, or null (docs/transfer.md, digests):
 * `Repr-Digest` (RFC 9530: the representation, whatever range the body holds), then RFC 3230's
 * `Digest` (the instance), then — for a 200 only, where the content is the whole file —
 * `Content-Digest`. Values are base64 (RFC 9530 as `:b64:`), or hex as some servers send; a
 * value of the wrong length for its algorithm, or an unknown algorithm, is ignored.
 */
export function offeredDigest(headers: RawHeaders, wholeBody: boolean): FileDigest | null {
  // Most answers offer none: nothing to build for each small file of a job.
  if (headers['repr-digest'] === undefined && headers.digest === undefined && headers['content-digest'] === undefined) {
    return null;
  }
  const offers = [
    ...parse(headerValues(headers, 'repr-digest'), true),
    ...parse(headerValues(headers, 'digest'), false),
    ...(wholeBody ? parse(headerValues(headers, 'content-digest'), true) : []),
  ];
  for (const [algorithm] of BYTES) {
    const offer = offers.find((d) => d.algorithm === algorithm);
    if (offer !== undefined) return offer;
  }
  return null;
}

function parse(values: readonly string[], structured: boolean): FileDigest[] {
  const out: FileDigest[] = [];
  for (const member of values.join(',').split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0) continue;
    const algorithm = NAMES[member.slice(0, eq).trim().toLowerCase()];
    if (algorithm === undefined) continue;
    // RFC 9530 values are byte sequences, `:base64:`, maybe with parameters after `;`.
    let value = (member.slice(eq + 1).split(';')[0] ?? '').trim();
    if (structured) {
      if (!/^:[^:]*:$/u.test(value)) continue;
      value = value.slice(1, -1);
    }
    const hex = toHex(value, BYTES.find(([a]) => a === algorithm)?.[1] ?? 0);
    if (hex !== null) out.push({ algorithm, value: hex });
  }
  return out;
}

/** `value` (base64, or hex) as lower-case hex when it holds exactly `bytes` bytes. */
function toHex(value: string, bytes: number): string | null {
  if (/^[0-9a-f]+$/iu.test(value) && value.length === bytes * 2) return value.toLowerCase();
  if (!/^[A-Za-z0-9+/]+={0,2}$/u.test(value)) return null;
  const raw = Buffer.from(value, 'base64');
  return raw.byteLength === bytes ? raw.toString('hex') : null;
}
