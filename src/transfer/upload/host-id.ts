import { UPLOAD_LIMITS } from '../../core/upload-protocol.ts';
import type { UploadSessionState } from './upload-request.ts';

/**
 * BITS-Host-Id (bits-upload-protocol.md §5, §9.3 step 5): a web-farm node names itself in the
 * Create-Session Ack; every later packet of the session goes to that host (only the host part of
 * the URL changes). If the node cannot be reached, a fallback timer starts at the first failure
 * (BITS-Host-Id-Fallback-Timeout seconds, reset by any Ack); when it expires the client goes back
 * to the original host. Without the timeout header it never falls back. The timer runs on the
 * wall clock because it must survive a process restart (the start time is persisted).
 */

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^\[?[0-9A-Fa-f:.]+\]?$/;

/** True for a Host-Id we are willing to send packets to: a DNS name, IPv4 or IPv6 literal. */
export function isUsableHostId(hostId: string): boolean {
  if (hostId.length === 0 || hostId.length > UPLOAD_LIMITS.hostId) return false;
  return HOST_NAME.test(hostId) || (hostId.includes(':') && IPV6.test(hostId));
}

/** The URL packets go to: the upload URL with its host replaced by the Host-Id (port and path kept). */
export function packetUrl(origin: URL, state: UploadSessionState): URL {
  if (state.hostId === null) return origin;
  const url = new URL(origin.href);
  const host = state.hostId.includes(':') && !state.hostId.startsWith('[') ? `[${state.hostId}]` : state.hostId;
  url.hostname = host;
  return url;
}

/** The state after a Create-Session Ack: its Host-Id (or none) and fallback timeout. */
export function adoptHostId(
  state: UploadSessionState,
  hostId: string | undefined,
  fallbackTimeoutS: number | undefined,
): UploadSessionState {
  const usable = hostId !== undefined && isUsableHostId(hostId) ? hostId : null;
  return {
    ...state,
    hostId: usable,
    hostIdFallbackTimeoutS: usable === null ? null : (fallbackTimeoutS ?? null),
    hostIdFailingSinceMs: null,
  };
}

/** A packet to the Host-Id server failed: start the fallback timer unless it runs already. */
export function hostIdFailed(state: UploadSessionState, nowWallMs: number): UploadSessionState {
  if (state.hostId === null || state.hostIdFailingSinceMs !== null) return state;
  return { ...state, hostIdFailingSinceMs: nowWallMs };
}

/** The Host-Id server answered: the timer stops. */
export function hostIdAnswered(state: UploadSessionState): UploadSessionState {
  if (state.hostIdFailingSinceMs === null) return state;
  return { ...state, hostIdFailingSinceMs: null };
}

/** True when the fallback timer has expired: go back to the original host. */
export function hostIdFallbackDue(state: UploadSessionState, nowWallMs: number): boolean {
  return (
    state.hostId !== null &&
    state.hostIdFallbackTimeoutS !== null &&
    state.hostIdFailingSinceMs !== null &&
    nowWallMs - state.hostIdFailingSinceMs >= state.hostIdFallbackTimeoutS * 1000
  );
}

/** Back to the original host (it will usually answer BG_E_SESSION_NOT_FOUND → a new session). */
export function dropHostId(state: UploadSessionState): UploadSessionState {
  return { ...state, hostId: null, hostIdFallbackTimeoutS: null, hostIdFailingSinceMs: null };
}
