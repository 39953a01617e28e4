/**
 * Parsers for strace output (pure): the `strace -c` summary table, and per-path counts from a
 * `strace -f -y` log, so a profile can say how many fdatasync/fsync each file and the database
 * got per transferred file.
 */

/** One row of `strace -c`. */
export interface SyscallRow {
  readonly syscall: string;
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
}

/** The rows of a `strace -c [-f]` table (without the total line), in table order. */
export function parseStraceSummary(text: string): SyscallRow[] {
  const rows: SyscallRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/u);
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (f.length < 5 || f.length > 6 || !/^\d+\.\d+$/u.test(f[0] ?? '')) continue;
    const syscall = f.at(-1) as string;
    if (syscall === 'total') continue;
    rows.push({
      syscall,
      calls: Number(f[3]),
      errors: f.length === 6 ? Number(f[4]) : 0,
      seconds: Number(f[1]),
    });
  }
  return rows;
}

/**
 * Per syscall, how many calls named each path, from a `strace -f -y` log (lines such as
 * `123 fdatasync(23</d/.x.bin.tmp>) = 0`, `123 openat(AT_FDCWD</cwd>, "/d/x", …` or
 * `… <unfinished ...>`; `resumed` halves are not counted again; calls naming no path count under ``).
 */
export function countCallsByPath(log: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of log.split('\n')) {
    const m = /^(?:\[pid\s+)?\d*\]?\s*(\w+)\((.*)$/u.exec(line.trim());
    if (!m || line.includes(' resumed>')) continue;
    const syscall = m[1] as string;
    const byPath = out.get(syscall) ?? new Map<string, number>();
    const path = firstPath(m[2] as string);
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    out.set(syscall, byPath);
  }
  return out;
}

/**
 * The path a call names: the string after `AT_FDCWD` (openat, statx…), a leading string (rename,
 * access…), or the `<path>` strace -y prints after a leading descriptor; `` when none.
 */
function firstPath(args: string): string {
  const at = /^AT_FDCWD(?:<[^>]*>)?, "([^"]*)"/u.exec(args);
  if (at) return at[1] as string;
  const str = /^"([^"]*)"/u.exec(args);
  if (str) return str[1] as string;
  const fd = /^-?\d+<([^>]*)>/u.exec(args);
  return fd ? (fd[1] as string) : '';
}

/** Sum a path map into groups named by `classify` (e.g. "SQLite WAL", "temp file"). */
export function groupPaths(
  byPath: ReadonlyMap<string, number>,
  classify: (path: string) => string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [path, n] of byPath) {
    const group = classify(path);
    out.set(group, (out.get(group) ?? 0) + n);
  }
  return out;
}

/**
 * HTTP requests a server read, from a `strace -f -s 96` log of it: request lines at the start of
 * a `read`/`recvfrom` buffer, counted by method and path with job GUIDs as `:id`, e.g.
 * `GET /v1/jobs/:id`. (A request split across two reads still starts one buffer.)
 */
export function countHttpRequests(log: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /\b(?:read|recvfrom|recvmsg)\([^"]*"(GET|POST|PUT|PATCH|DELETE) (\/[^ ?"\\]*)/gu;
  for (const m of log.matchAll(re)) {
    const path = (m[2] as string).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/giu, ':id');
    const key = `${m[1]} ${path}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}
