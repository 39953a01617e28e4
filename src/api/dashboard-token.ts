/**
 * The dashboard's per-user token: 32 random bytes in `<state folder>/dashboard.token`, mode 0600
 * inside the user's 0700 state folder, so only that user (and root) can read it. Whoever needs it
 * first (bitsd, or the `openbits dashboard` proxy) creates it; the CLI prints it inside the URL.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARD_TOKEN_FILE = 'dashboard.token';

/** Read the token, creating it if there is none. Never follows a symlink planted at the path. */
export function dashboardToken(stateDir: string): string {
  const path = join(stateDir, DASHBOARD_TOKEN_FILE);
  // A user of the system bitsd may never have run a bitsd of their own that made the folder.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const token = readFileSync(fd, 'utf8').trim();
    if (!/^[A-Za-z0-9_-]{32,}$/u.test(token)) throw new Error(`${path} does not hold a dashboard token`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/** Compare a presented token with the real one in constant time. */
export function sameToken(presented: string, token: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
