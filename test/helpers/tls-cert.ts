import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed certificate made with openssl at test time (key and cert PEM). A negative
 * `days` gives a certificate that expired before it was made.
 */
export function selfSignedCert(subjectAltName: string, days = 30): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-cert-'));
  const at = (name: string) => join(dir, name);
  try {
    writeFileSync(
      at('ext.cnf'),
      `subjectAltName=${subjectAltName}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
    );
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    run([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      at('key.pem'),
      '-out',
      at('req.csr'),
      '-subj',
      '/CN=openbits-test',
    ]);
    run([
      'x509',
      '-req',
      '-sha256',
      '-in',
      at('req.csr'),
      '-signkey',
      at('key.pem'),
      '-days',
      String(days),
      '-extfile',
      at('ext.cnf'),
      '-out',
      at('cert.pem'),
    ]);
    return { key: readFileSync(at('key.pem'), 'utf8'), cert: readFileSync(at('cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
