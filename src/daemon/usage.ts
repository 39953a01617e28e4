import type { OpenbitsPaths } from '../api/paths.ts';

/** `bitsd --help`: what it is, where its files are, the knobs. */
export function usage(version: string, paths: OpenbitsPaths): string {
  return `bitsd ${version}: the openbits background transfer service (runs in the foreground).

Usage: bitsd [--help | --version]

Files (from the environment; see docs/api.md):
  socket    ${paths.socketPath}
  database  ${paths.stateDir}/jobs.db
  policy    ${paths.configPath}

Environment:
  OPENBITS_HOME=DIR      everything in DIR (socket, database, policy, log)
  OPENBITS_LOG_LEVEL=L   debug, info (default), warn, error — pino NDJSON on stderr
  XDG_STATE_HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME   the usual XDG folders

Signals: SIGTERM/SIGINT stop at a checkpoint (exit 0); SIGHUP re-reads the policy file.
Exit codes: 0 stopped, 1 error, 2 bad arguments, 3 another bitsd already serves the socket.
`;
}
