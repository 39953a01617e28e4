/**
 * Abort `child` when `parent` aborts (with its reason); returns how to stop following. One
 * listener instead of `AbortSignal.any`, which costs a composite signal, weak references and
 * their finalizers — per file, or per request, that shows in a 1,000-file job's profile.
 */
export function followSignal(parent: AbortSignal, child: AbortController): () => void {
  const abort = (): void => child.abort(parent.reason);
  if (parent.aborted) {
    abort();
    return () => undefined;
  }
  parent.addEventListener('abort', abort, { once: true });
  return () => parent.removeEventListener('abort', abort);
}
