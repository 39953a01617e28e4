import type { ProxySettings } from '../core/index.ts';
import { transferError } from './failure-table.ts';

/**
 * Which proxy (if any) a request goes through (bits-client.md §5.9):
 * - NO_PROXY: direct.
 * - PRECONFIG: the standard environment variables — `http_proxy`/`HTTP_PROXY` for http,
 *   `https_proxy`/`HTTPS_PROXY` (else the http one) for https, `no_proxy`/`NO_PROXY` bypass —
 *   with the semantics of undici's EnvHttpProxyAgent, parsed here so TLS verification and proxy
 *   Digest go through one code path.
 * - AUTODETECT: Linux has no WPAD service to ask; treated as PRECONFIG.
 * - OVERRIDE: the job's list (`[scheme=][scheme://]server[:port]`, first match for the target's
 *   scheme, else the first bare entry) and bypass list (`<local>` = names without a dot,
 *   `*.example.org`, exact names or addresses).
 */
export function selectProxy(settings: ProxySettings, target: URL, env: NodeJS.ProcessEnv = process.env): URL | null {
  switch (settings.usage) {
    case 'NO_PROXY':
      return null;
    case 'OVERRIDE':
      return overrideProxy(settings, target, hostOf(target));
    default:
      return envProxy(target, env);
  }
}

/** The target's host name as the bypass lists name it: lower case, an IPv6 address unbracketed. */
function hostOf(target: URL): string {
  return target.hostname.toLowerCase().replace(/^\[|\]$/gu, '');
}

function parseProxyUrl(raw: string, what: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//iu.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw transferError('proxy:invalid', `${what} is not a proxy URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw transferError('proxy:invalid', `${what} must be an http(s) proxy`);
  }
  return url;
}

function overrideProxy(settings: ProxySettings, target: URL, host: string): URL | null {
  if (settings.bypassList !== null && bypassMatches(settings.bypassList, host)) return null;
  const scheme = target.protocol.slice(0, -1);
  let fallback: string | null = null;
  for (const entry of (settings.proxyList ?? '').split(/[\s,;]+/u).filter(Boolean)) {
    const m = /^(https?)=(.+)$/iu.exec(entry);
    if (m !== null) {
      if (m[1]?.toLowerCase() === scheme && m[2] !== undefined) return parseProxyUrl(m[2], 'proxy list entry');
    } else {
      fallback ??= entry;
    }
  }
  if (fallback === null) return null;
  return parseProxyUrl(fallback, 'proxy list entry');
}

/** BITS bypass list: space/semicolon separated; `<local>`, `*.suffix`, exact names. */
export function bypassMatches(list: string, host: string): boolean {
  for (const raw of list.split(/[\s,;]+/u).filter(Boolean)) {
    const entry = raw.toLowerCase();
    if (entry === '<local>') {
      if (!host.includes('.') && !host.includes(':')) return true;
    } else if (entry.startsWith('*.')) {
      if (host.endsWith(entry.slice(1))) return true;
    } else if (entry === host) {
      return true;
    }
  }
  return false;
}

/** The variable in lower case, else in upper case (both spellings passed: no case change per request). */
function envVar(env: NodeJS.ProcessEnv, lower: string, upper: string): string | null {
  const v = env[lower] ?? env[upper];
  return v === undefined || v.trim() === '' ? null : v.trim();
}

function envProxy(target: URL, env: NodeJS.ProcessEnv): URL | null {
  const httpProxy = envVar(env, 'http_proxy', 'HTTP_PROXY');
  const raw = target.protocol === 'https:' ? (envVar(env, 'https_proxy', 'HTTPS_PROXY') ?? httpProxy) : httpProxy;
  if (raw === null) return null;
  const noProxy = envVar(env, 'no_proxy', 'NO_PROXY');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (noProxy !== null && noProxyMatches(noProxy, hostOf(target), port)) return null;
  return parseProxyUrl(raw, 'proxy environment variable');
}

/** `no_proxy`: `*`, `host`, `.suffix`, `*.suffix`, optional `:port`; a name also covers its subdomains. */
function noProxyMatches(list: string, host: string, port: string): boolean {
  for (const raw of list.split(/[\s,]+/u).filter(Boolean)) {
    if (raw === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/u.exec(raw.toLowerCase());
    const name = (m?.[1] ?? '').replace(/^\*?\./u, '.').replace(/^\[|\]$/gu, '');
    if (m?.[2] !== undefined && m[2] !== port) continue;
    if (name.startsWith('.') ? host.endsWith(name) : host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}
