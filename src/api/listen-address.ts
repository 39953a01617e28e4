import { BitsError } from '../core/bits-error.ts';

/** `host:port`, `:port` or `port` (host default 127.0.0.1; IPv6 in brackets). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)?:)?(\d{1,5})$/u.exec(value.trim());
  const port = Number(m?.[2]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new BitsError(
      'E_INVALIDARG',
      `listen address must be host:port, :port or port, not ${JSON.stringify(value)}`,
    );
  }
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/gu, ''), port };
}
