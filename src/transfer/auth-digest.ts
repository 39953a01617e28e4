import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP Digest (RFC 7616) for a server (401) or proxy (407) challenge: MD5 and SHA-256, with or
 * without `-sess`, qop=auth (or the RFC 2069 form when the server offers no qop).
 */

/** One parsed WWW-Authenticate / Proxy-Authenticate challenge. */
export interface Challenge {
  /** Lower-case scheme: `basic`, `digest`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  'MD5-SESS': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
};

/** True when this engine can answer the Digest challenge (known algorithm, qop auth or none). */
export function canAnswerDigest(c: Challenge): boolean {
  const alg = (c.params.algorithm ?? 'MD5').toUpperCase();
  if (ALGORITHMS[alg] === undefined || c.params.nonce === undefined) return false;
  const qop = c.params.qop;
  return qop === undefined || qop.split(',').some((q) => q.trim().toLowerCase() === 'auth');
}

/** Prefer SHA-256 over MD5 when a server offers several Digest challenges. */
export function pickDigest(challenges: readonly Challenge[]): Challenge | null {
  const usable = challenges.filter((c) => c.scheme === 'digest' && canAnswerDigest(c));
  return usable.find((c) => (c.params.algorithm ?? '').toUpperCase().startsWith('SHA-256')) ?? usable[0] ?? null;
}

const quote = (s: string): string => `"${s.replace(/["\\]/gu, (m) => `\\${m}`)}"`;

/**
 * One Digest session: answers requests with increasing nonce counts until the server sends a
 * new challenge (stale nonce), when the caller makes a new session.
 */
export class DigestSession {
  readonly #challenge: Challenge;
  readonly #user: string;
  readonly #password: string;
  #nc = 0;

  constructor(challenge: Challenge, user: string, password: string) {
    this.#challenge = challenge;
    this.#user = user;
    this.#password = password;
  }

  /** The Authorization / Proxy-Authorization value for `method uri`. */
  header(method: string, uri: string): string {
    const p = this.#challenge.params;
    const algorithm = (p.algorithm ?? 'MD5').toUpperCase();
    const hashName = ALGORITHMS[algorithm] ?? 'md5';
    const h = (s: string): string => createHash(hashName).update(s, 'utf8').digest('hex');
    const realm = p.realm ?? '';
    const nonce = p.nonce ?? '';
    const cnonce = randomBytes(16).toString('hex');
    const qop = p.qop === undefined ? null : 'auth';
    this.#nc++;
    const nc = this.#nc.toString(16).padStart(8, '0');
    let ha1 = h(`${this.#user}:${realm}:${this.#password}`);
    if (algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const response = qop === null ? h(`${ha1}:${nonce}:${ha2}`) : h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    const parts = [
      `username=${quote(this.#user)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${p.algorithm ?? 'MD5'}`,
      `response=${quote(response)}`,
    ];
    if (qop !== null) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    if (p.opaque !== undefined) parts.push(`opaque=${quote(p.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
