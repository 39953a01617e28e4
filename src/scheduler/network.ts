/**
 * Where the scheduler learns whether the machine can reach a network (bits-client.md §9.4).
 * The service reads the kernel's routing table; tests pass a source they flip by hand.
 */
export interface NetworkSource {
  /** True when some interface other than loopback has a route out. */
  isConnected(): boolean;
  /** Called on every change; returns an unsubscribe function. */
  onChange(listener: (connected: boolean) => void): () => void;
  close(): void;
}

/** A source tests (and embedders) set by hand. */
export class ManualNetworkSource implements NetworkSource {
  #connected: boolean;
  readonly #listeners = new Set<(connected: boolean) => void>();

  constructor(connected = true) {
    this.#connected = connected;
  }

  isConnected(): boolean {
    return this.#connected;
  }

  set(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    for (const l of this.#listeners) l(connected);
  }

  onChange(listener: (connected: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
  }
}

/** Loopback and local files need no network: such jobs keep running when it is down. */
export function needsNetwork(remoteName: string): boolean {
  let url: URL;
  try {
    url = new URL(remoteName);
  } catch {
    return true;
  }
  if (url.protocol === 'file:') return false;
  const host = url.hostname.replace(/^\[|\]$/gu, '');
  return !(host === 'localhost' || host === '::1' || /^127\./u.test(host));
}
