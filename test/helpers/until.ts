/**
 * Wait (real time, polling) until `check` holds; a guard against hangs, not a timing assertion:
 * the deadline is generous because a loaded 2-core machine can stall a process for seconds.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
