import { parseArgs } from 'node:util';
import { BitsError } from '../core/bits-error.ts';
import type { SessionMode } from './owner-sessions.ts';

/** bitsd's command line. */
export interface DaemonArgs {
  readonly help: boolean;
  readonly version: boolean;
  /** Exit after this many seconds with no runnable job and no client (0: never; the default). */
  readonly idleTimeoutSeconds: number;
  /** Log to this file (rotated by size) instead of stderr. */
  readonly logFile: string | undefined;
  /** Stop a bitsd already serving the socket and take its place (the systemd unit). */
  readonly replace: boolean;
  /** Serve every user of the machine as root (docs/system.md) instead of this user alone. */
  readonly system: boolean;
  /** System mode: members of this group administer the service besides root. */
  readonly adminGroup: string | null;
  /** System mode: how owner sessions are watched (jobs wait while their owner is logged off). */
  readonly sessions: SessionMode;
}

/** The switches of bitsd, for --help and the man page. */
export const DAEMON_OPTIONS = [
  {
    flags: '--idle-timeout=SECONDS',
    summary:
      'exit after SECONDS with no job that can run and no client (0: never, the default; on-demand starts use 300)',
  },
  { flags: '--log-file=PATH', summary: 'log NDJSON to PATH, rotated at 1 MiB (PATH.1 … PATH.3), instead of stderr' },
  { flags: '--replace', summary: 'stop a bitsd already serving the socket (one started on demand) and take over' },
  {
    flags: '--system',
    summary:
      'one bitsd for every user, run by root (state /var/lib/openbits, sockets /run/openbits, policy /etc/openbits)',
  },
  { flags: '--admin-group=GROUP', summary: 'with --system: members of GROUP administer every job and the policy' },
  {
    flags: '--sessions=MODE',
    summary:
      'with --system: who is logged on — logind, processes (a user with any process), none (everybody), auto (default: logind if systemd runs the machine)',
  },
  { flags: '-h, --help', summary: 'show this help' },
  { flags: '--version', summary: 'print the version' },
] as const;

/** Parses bitsd's arguments; a bad one is E_INVALIDARG with the reason. */
export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new BitsError('E_INVALIDARG', (err as Error).message);
  }
  const { values } = parsed;
  const idle = values['idle-timeout'] ?? '0';
  if (!/^\d+$/u.test(idle)) throw new BitsError('E_INVALIDARG', `--idle-timeout needs whole seconds, not ${idle}`);
  // The system daemon is systemd's to start and stop: it neither idles out nor takes over.
  if (values.system === true && (Number(idle) > 0 || values.replace === true)) {
    throw new BitsError('E_INVALIDARG', '--system goes with neither --idle-timeout nor --replace');
  }
  return {
    help: values.help === true,
    version: values.version === true,
    idleTimeoutSeconds: Number(idle),
    logFile: values['log-file'],
    replace: values.replace === true,
    system: values.system === true,
    adminGroup: adminGroup(values['admin-group'], values.system === true),
    sessions: sessions(values.sessions, values.system === true),
  };
}

function sessions(value: string | undefined, system: boolean): SessionMode {
  if (value === undefined) return 'auto';
  if (!system) throw new BitsError('E_INVALIDARG', '--sessions needs --system');
  if (value !== 'auto' && value !== 'logind' && value !== 'processes' && value !== 'none') {
    throw new BitsError('E_INVALIDARG', `--sessions takes auto, logind, processes or none, not ${value}`);
  }
  return value;
}

/** A group name as useradd accepts them; only with --system. */
function adminGroup(value: string | undefined, system: boolean): string | null {
  if (value === undefined) return null;
  if (!system) throw new BitsError('E_INVALIDARG', '--admin-group needs --system');
  if (!/^[a-z_][a-z0-9_.-]{0,31}\$?$/iu.test(value)) throw new BitsError('E_INVALIDARG', `not a group name: ${value}`);
  return value;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      'idle-timeout': { type: 'string' },
      'log-file': { type: 'string' },
      replace: { type: 'boolean' },
      system: { type: 'boolean' },
      'admin-group': { type: 'string' },
      sessions: { type: 'string' },
    },
  });
}
