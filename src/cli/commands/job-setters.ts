import { createRequire } from 'node:module';
import { type BitsManager, formatTransferPolicy, INTEGER_RANGES } from '../bits-vocabulary.ts';
import type { Command, CommandContext } from '../command.ts';
import { notifyCmdLineText, securityFlagsText } from '../format-job.ts';
import {
  arg,
  expectArgs,
  nullable,
  parseAuthScheme,
  parseAuthTarget,
  parseBandwidth,
  parseBoolean,
  parseConnections,
  parseCount,
  parseFileMode,
  parseFlags,
  parsePriority,
  parseProxyUsage,
  parseTransferPolicyArg,
} from '../parse-values.ts';
import { actOnJob, jobChanged } from './job-context.ts';

/** node:crypto only for the one setter that makes a secret (it is a large load for every switch). */
const randomHex = (): string =>
  (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomBytes(32).toString('hex');

/** What a setter does, and what it prints (unless `apply` returns the text itself). */
interface Setting {
  readonly apply: (manager: BitsManager, jobId: string) => Promise<unknown>;
  readonly text: string;
}

/**
 * A setter `/<name> <job> <value…>`: `parse` turns the arguments after the job into a call on
 * the manager and the text to print. Arguments are parsed before the job is looked up, so a bad
 * value is a usage error whatever the job.
 */
function setter(
  name: string,
  syntax: string,
  summary: string,
  count: [number, number],
  parse: (args: readonly string[]) => Setting,
): Command {
  return {
    name,
    syntax: `/${name} <job> ${syntax}`.trimEnd(),
    summary,
    async run(ctx: CommandContext) {
      expectArgs(name, ctx.args, count[0] + 1, count[1] + 1);
      const { apply, text } = parse(ctx.args.slice(1));
      const { manager, jobId, result: said } = await actOnJob(ctx, apply);
      return jobChanged(ctx, manager, jobId, typeof said === 'string' ? said : text);
    },
  };
}

function secondsSetter(
  name: string,
  what: string,
  call: (m: BitsManager, id: string, s: number) => Promise<void>,
): Command {
  return setter(name, '<seconds>', `Set the ${what} in seconds`, [1, 1], (a) => {
    const s = parseCount(name, arg(a, 0), what, INTEGER_RANGES.seconds);
    return { apply: (m, id) => call(m, id, s), text: `${what[0]?.toUpperCase()}${what.slice(1)} set to ${s}.` };
  });
}

/** The /set… switches (and /removecredentials, /makecustomheaderswriteonly). */
export const jobSetterCommands: readonly Command[] = [
  setter('setpriority', 'FOREGROUND|HIGH|NORMAL|LOW', 'Set the priority', [1, 1], (a) => {
    const p = parsePriority('setpriority', arg(a, 0));
    return { apply: (m, id) => m.setPriority(id, p), text: `Priority set to ${p}.` };
  }),
  setter('setdisplayname', '<displayname>', 'Set the display name', [1, 1], (a) => ({
    apply: (m, id) => m.setDisplayName(id, arg(a, 0)),
    text: `Display name set to ${arg(a, 0)}.`,
  })),
  setter('setdescription', '<description>', 'Set the description', [1, 1], (a) => ({
    apply: (m, id) => m.setDescription(id, arg(a, 0)),
    text: `Description set to ${arg(a, 0)}.`,
  })),
  setter(
    'setnotifyflags',
    '<flags>',
    'Set notification flags: 1 transferred, 2 error, 3 both, 4 disable',
    [1, 1],
    (a) => {
      const f = parseFlags('setnotifyflags', arg(a, 0), 'notify flags', INTEGER_RANGES.notifyFlags);
      return { apply: (m, id) => m.setNotifyFlags(id, f), text: `Notification flags set to ${f}.` };
    },
  ),
  setter(
    'setnotifycmdline',
    '<program> [<parameters>|NULL]',
    'Run program on transferred/error (full path; NULL to clear)',
    [1, 2],
    (a) => {
      const program = nullable(a[0]);
      const params = nullable(a[1]);
      const text =
        program === null
          ? 'Notification command line removed.'
          : `Notification command line set to ${notifyCmdLineText({ program, parameters: params })}.`;
      return { apply: (m, id) => m.setNotifyCmdLine(id, program, params), text };
    },
  ),
  setter(
    'setnotifyurl',
    '<url>|NULL [<secret>]',
    'POST signed JSON to url on transferred/error/complete/cancel (https, or http to loopback; NULL to clear; no secret: one is made and printed once)',
    [1, 2],
    (a) => {
      const url = nullable(a[0]);
      if (url === null) return { apply: (m, id) => m.setWebhooks(id, null), text: 'Notification URL removed.' };
      // A secret on the command line shows in `ps`; without one, a random one is made here.
      const made = a[1] === undefined;
      const secret = a[1] ?? randomHex();
      const text = made
        ? `Notification URL set to ${url}.\nWebhook secret (shown once; keep it to verify signatures): ${secret}`
        : `Notification URL set to ${url}.`;
      return { apply: (m, id) => m.setWebhooks(id, [{ url, secret }]), text };
    },
  ),
  secondsSetter('setminretrydelay', 'minimum retry delay', (m, id, s) => m.setMinimumRetryDelay(id, s)),
  secondsSetter('setnoprogresstimeout', 'no progress timeout', (m, id, s) => m.setNoProgressTimeout(id, s)),
  secondsSetter('setmaxdownloadtime', 'maximum download time', (m, id, s) => m.setMaximumDownloadTime(id, s)),
  setter(
    'setproxysettings',
    'PRECONFIG|NO_PROXY|AUTODETECT|OVERRIDE [<proxylist>] [<bypasslist>]',
    'Set the proxy usage; OVERRIDE takes a proxy list (comma-delimited) and a bypass list (NULL for none)',
    [1, 3],
    (a) => {
      const usage = parseProxyUsage('setproxysettings', arg(a, 0));
      const proxyList = nullable(a[1]);
      const bypassList = a[2] === '' ? null : nullable(a[2]);
      return {
        apply: (m, id) => m.setProxySettings(id, { usage, proxyList, bypassList }),
        text: `Proxy usage set to ${usage}.`,
      };
    },
  ),
  setter(
    'setcredentials',
    'SERVER|PROXY BASIC|DIGEST|NTLM|NEGOTIATE|PASSPORT <username> <password>',
    'Set Basic or Digest credentials for the server or the proxy (NTLM, NEGOTIATE, PASSPORT: not supported, E_NOTIMPL)',
    [4, 4],
    (a) => {
      const target = parseAuthTarget('setcredentials', arg(a, 0));
      const scheme = parseAuthScheme('setcredentials', arg(a, 1));
      const credentials = { target, scheme, userName: nullable(a[2]), password: nullable(a[3]) };
      return { apply: (m, id) => m.setCredentials(id, credentials), text: `${target} ${scheme} credentials set.` };
    },
  ),
  setter('removecredentials', 'SERVER|PROXY <scheme>', 'Remove credentials', [2, 2], (a) => {
    const target = parseAuthTarget('removecredentials', arg(a, 0));
    const scheme = parseAuthScheme('removecredentials', arg(a, 1));
    return {
      apply: async (m, id) =>
        (await m.removeCredentials(id, target, scheme)) === 'S_FALSE'
          ? `No ${target} ${scheme} credentials to remove.`
          : undefined,
      text: `${target} ${scheme} credentials removed.`,
    };
  }),
  setter(
    'setcustomheaders',
    '<header1> [<header2> …] | NULL',
    'Set the custom HTTP headers sent with every request ("Name: value" each), NULL to remove',
    [1, 256],
    (a) => {
      const headers = a.length === 1 && nullable(a[0]) === null ? null : [...a];
      return {
        apply: (m, id) => m.setCustomHeaders(id, headers),
        text: headers === null ? 'Custom headers removed.' : `${headers.length} custom header(s) set.`,
      };
    },
  ),
  setter('makecustomheaderswriteonly', '', 'Make the custom headers write-only (irreversible)', [0, 0], () => ({
    apply: (m, id) => m.makeCustomHeadersWriteOnly(id),
    text: 'Custom headers are now write-only.',
  })),
  setter('setsecurityflags', '<flags>', 'Set HTTP security flags (decimal or 0x-hex)', [1, 1], (a) => {
    const f = parseFlags('setsecurityflags', arg(a, 0), 'security flags', INTEGER_RANGES.securityFlags);
    return { apply: (m, id) => m.setSecurityFlags(id, f), text: `Security flags set to ${securityFlagsText(f)}.` };
  }),
  setter('setreplyfilename', '<path>|NULL', 'Set where the reply of an upload-reply job is saved', [1, 1], (a) => {
    const path = nullable(a[0]);
    return {
      apply: (m, id) => m.setReplyFileName(id, path),
      text: path === null ? 'Reply file name removed.' : `Reply file name set to ${path}.`,
    };
  }),
  setter(
    'setmaxbandwidth',
    '<bytes_per_second>',
    'Cap the job at bytes per second (512k, 10M; 0 removes the cap)',
    [1, 1],
    (a) => {
      const bps = parseBandwidth('setmaxbandwidth', arg(a, 0));
      return {
        apply: (m, id) => m.setMaxBandwidth(id, bps),
        text: bps === 0 ? 'Bandwidth cap removed.' : `Maximum bandwidth set to ${bps} bytes/s.`,
      };
    },
  ),
  setter(
    'setmaxconnections',
    '<1-16>',
    'Connections one file may use at once: a file is cut into parts when the server serves ranges (1, the default: front to back)',
    [1, 1],
    (a) => {
      const n = parseConnections('setmaxconnections', arg(a, 0));
      return { apply: (m, id) => m.setMaxConnections(id, n), text: `Maximum connections set to ${n}.` };
    },
  ),
  setter(
    'setfilemode',
    '<mode>|UMASK',
    'Mode of the published files: octal permission bits (0600, 644) or UMASK (0666 & ~umask, the default)',
    [1, 1],
    (a) => {
      const mode = parseFileMode('setfilemode', arg(a, 0));
      const shown = mode === null ? 'UMASK' : `0${mode.toString(8).padStart(3, '0')}`;
      return { apply: (m, id) => m.setFileMode(id, mode), text: `File mode set to ${shown}.` };
    },
  ),
  setter(
    'settransferpolicy',
    '<policy>|DEFAULT',
    'Network costs the job may transfer on: Always, NotRoaming, NoSurcharge, Standard, PolicyUnrestricted, cost states such as Unrestricted,BelowCap, a mask, or DEFAULT (the policy default)',
    [1, 1],
    (a) => {
      const flags = parseTransferPolicyArg('settransferpolicy', arg(a, 0));
      const shown = flags === null ? 'DEFAULT' : formatTransferPolicy(flags);
      return { apply: (m, id) => m.setCostFlags(id, flags), text: `Transfer policy set to ${shown}.` };
    },
  ),
  setter(
    'setdynamic',
    'true|false',
    'Mark the content as dynamic (no size or resume needed; before the first resume)',
    [1, 1],
    (a) => {
      const on = parseBoolean('setdynamic', arg(a, 0));
      return { apply: (m, id) => m.setDynamicContent(id, on), text: `Dynamic content set to ${on}.` };
    },
  ),
];
