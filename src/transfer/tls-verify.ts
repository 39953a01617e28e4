import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
// A namespace import: getCACertificates (Node 22.15+) as a named import would fail the library's
// module graph at link time on an old Node, before src/require-node.ts could explain itself.
import * as tls from 'node:tls';
import { SecurityFlag } from '../core/index.ts';
import { tlsRowKey } from './failure-table.ts';

/**
 * TLS verification per BITS security flags (bits-client.md §5.10). Without an ignore flag Node
 * verifies as usual (rejectUnauthorized). With one, the handshake accepts any certificate and
 * this module re-checks the peer itself — CA chain, validity dates, host name, usage — so that
 * only the named check is skipped.
 */

/** The security flags that skip a certificate check. */
export const IGNORE_FLAGS =
  SecurityFlag.IGNORE_UNKNOWN_CA |
  SecurityFlag.IGNORE_CERT_CN_INVALID |
  SecurityFlag.IGNORE_CERT_DATE_INVALID |
  SecurityFlag.IGNORE_CERT_WRONG_USAGE;

/** True when the handshake must not reject by itself (some check is skipped). */
export function needsManualVerification(securityFlags: number): boolean {
  return (securityFlags & IGNORE_FLAGS) !== 0;
}

/** OpenSSL's verdict on the chain, by the failure table's groups (one list of codes, there). */
function verdict(authErr: string | null): 'ca' | 'date' | 'other' | null {
  if (authErr === null) return null;
  const key = tlsRowKey(authErr);
  return key === 'tls:ca' ? 'ca' : key === 'tls:date' ? 'date' : 'other';
}

let trusted: X509Certificate[] | null = null;
function trustedCAs(): X509Certificate[] {
  trusted ??= tls.getCACertificates('default').map((pem) => new X509Certificate(pem));
  return trusted;
}

function chain(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c?.raw !== undefined && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/** Walk the presented chain to a CA of the default trust store (signatures checked). */
function chainTrusted(certs: readonly X509Certificate[]): boolean {
  const cas = trustedCAs();
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i] as X509Certificate;
    if (cas.some((ca) => ca.fingerprint256 === cert.fingerprint256)) return true;
    if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return true;
    const next = certs[i + 1];
    if (next === undefined || !cert.checkIssued(next) || !cert.verify(next.publicKey)) return false;
  }
  return false;
}

function datesValid(certs: readonly X509Certificate[], nowMs: number): boolean {
  return certs.every((c) => Date.parse(c.validFrom) <= nowMs && nowMs <= Date.parse(c.validTo));
}

function certError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Check an established TLS socket against every check the flags do not skip; returns the
 * error (with Node's code, classified by the failure table) or null. Validity dates are checked
 * against `nowMs`, the wall time of the real world (as OpenSSL checks them), not a job's clock.
 */
export function verifyPeer(socket: TLSSocket, hostname: string, securityFlags: number, nowMs: number): Error | null {
  const authErr = typeof socket.authorizationError === 'string' ? socket.authorizationError : null;
  const certs = chain(socket);
  const leaf = socket.getPeerCertificate(false);
  if (certs.length === 0) return certError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'the server sent no certificate');
  const ignoreCa = (securityFlags & SecurityFlag.IGNORE_UNKNOWN_CA) !== 0;
  const ignoreDate = (securityFlags & SecurityFlag.IGNORE_CERT_DATE_INVALID) !== 0;
  const ignoreCn = (securityFlags & SecurityFlag.IGNORE_CERT_CN_INVALID) !== 0;
  const ignoreUsage = (securityFlags & SecurityFlag.IGNORE_CERT_WRONG_USAGE) !== 0;
  const group = verdict(authErr);
  // OpenSSL reports one error only: a date error may hide a CA error, so walk the chain then.
  const caBad = group === 'ca' || (group === 'date' && !chainTrusted(certs));
  if (caBad && !ignoreCa) {
    const code = group === 'ca' && authErr !== null ? authErr : 'CERT_UNTRUSTED';
    return certError(code, `certificate authority not trusted (${authErr})`);
  }
  const dateBad = group === 'date' || !datesValid(certs, nowMs);
  if (dateBad && !ignoreDate) return certError('CERT_HAS_EXPIRED', 'certificate expired or not yet valid');
  if (!ignoreCn) {
    const cnErr = tls.checkServerIdentity(hostname, leaf);
    if (cnErr !== undefined) return cnErr;
  }
  if (group === 'other' && authErr !== null && !ignoreUsage) {
    return certError(authErr, `certificate rejected (${authErr})`);
  }
  return null;
}
