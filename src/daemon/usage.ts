import type { OpenbitsPaths } from '../api/paths.ts';
import { DAEMON_OPTIONS } from './args.ts';

/** `bitsd --help`: what it is, where its files are, the knobs. */
export function usage(version: string, paths: OpenbitsPaths): string {
  const width = Math.max(...DAEMON_OPTIONS.map((o) => o.flags.length));
  const options = DAEMON_OPTIONS.map((o) => `  ${o.flags.padEnd(width)}  ${o.summary}`).join('\n');
  return `bitsd ${version}: the openbits background transfer service (runs in the foreground).

Usage: bitsd [options]

Options:
${options}

Files (from the environment; see docs/api.md):
  socket    ${paths.socketPath}
  database  ${paths.stateDir}/jobs.db
  policy    ${paths.configPath}
  log       ${paths.logPath} (an on-demand bitsd's)

Environment:
  OPENBITS_HOME=DIR      everything in DIR (socket, database, policy, log)
  OPENBITS_LOG_LEVEL=L   debug, info (default), warn, error — readable lines on a terminal, NDJSON otherwise
  UV_THREADPOOL_SIZE=N   libuv's thread pool (default 16: a round of file syncs at once)
  XDG_STATE_HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME   the usual XDG folders
  NOTIFY_SOCKET          set by systemd (Type=notify): READY=1 once the socket answers

Signals: SIGTERM/SIGINT stop at a checkpoint (exit 0); SIGHUP re-reads the policy file.
Exit codes: 0 stopped, 1 error, 2 bad arguments, 3 another bitsd already serves the socket.
`;
}
