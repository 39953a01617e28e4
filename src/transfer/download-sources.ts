import type { RemoteValidators } from '../core/index.ts';
import type { DownloadFileRequest } from './download-request.ts';
import type { SessionContext } from './http-exchange.ts';

/**
 * The places one file may come from: its remote name (the primary: the validators BITS keeps and
 * change detection are its) and its mirrors. A mirror on another origin never gets the job's
 * credentials or custom headers, and its redirects never rename the file. Each source is judged
 * on its own: a mirror must serve the primary's size, and its own validators must not change
 * during a call; one that fails or lies is taken out, with the reason kept.
 */
export class DownloadSource {
  readonly url: URL;
  readonly primary: boolean;
  readonly view: SessionContext;
  /** A mirror's validators, pinned at its first answer in this call (the primary's are the job's). */
  pinned: RemoteValidators | null = null;
  /** Why the source was taken out, or null while it is used. */
  out: string | null = null;
  /** Connections on it now. */
  active = 0;

  constructor(url: URL, primary: boolean, view: SessionContext) {
    this.url = url;
    this.primary = primary;
    this.view = view;
  }
}

/** The sources of a file, primary first; `signal` stops every request of the round. */
export function downloadSources(
  req: DownloadFileRequest,
  primary: URL,
  timeouts: SessionContext['timeouts'],
  signal: AbortSignal,
  offered: readonly string[] = [],
): DownloadSource[] {
  const sources = [new DownloadSource(primary, true, { req: { ...req, signal }, url: primary, timeouts })];
  addMirrors(sources, [...(req.mirrors ?? []), ...offered]);
  return sources;
}

/**
 * Append a source for each of `names` (a mirror the remote name announced may join a round
 * under way): invalid URLs, the primary and repeats are skipped; the round's request, signal and
 * timeouts are the primary's.
 */
export function addMirrors(sources: DownloadSource[], names: readonly string[]): void {
  const first = sources[0];
  if (first === undefined) return;
  const { req, timeouts } = first.view;
  const primary = first.url;
  for (const name of names) {
    let url: URL;
    try {
      url = new URL(name);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (sources.some((s) => s.url.href === url.href)) continue;
    const sameOrigin = url.origin === primary.origin;
    const options = sameOrigin ? req.options : { ...req.options, credentials: [], customHeaders: [] };
    const hooks = { ...req.hooks, onRemoteNameChanged: () => undefined };
    sources.push(new DownloadSource(url, false, { req: { ...req, options, hooks }, url, timeouts }));
  }
}

/**
 * The usable source with the fewest connections (the primary first on a tie), or null. A mirror
 * gets one connection until its first answer pinned its validators: two first answers racing
 * could otherwise come from two versions of its file, neither checked against the other.
 */
export function pickSource(sources: readonly DownloadSource[]): DownloadSource | null {
  let best: DownloadSource | null = null;
  for (const s of sources) {
    if (s.out !== null || (!s.primary && s.pinned === null && s.active > 0)) continue;
    if (best === null || s.active < best.active) best = s;
  }
  return best;
}
