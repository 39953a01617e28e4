import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePaths } from '../../api/paths.ts';
import { isNotRunning } from '../../client/index.ts';
import { systemClock } from '../bits-vocabulary.ts';
import { UsageError } from '../usage-error.ts';
import { OPENBITS_VERSION } from '../version.ts';
import type { OpenbitsIo } from './io.ts';

/** The package's folder (src/cli/openbits and dist/cli/openbits are both three levels down). */
const PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/u, '');

/**
 * systemd/openbits.service (the user unit) or, for `system`, systemd/openbits-system.service,
 * filled in for `node` and this package's folder.
 */
export function systemdUnit(node: string, packageDir: string = PACKAGE_DIR, system = false): string {
  const name = system ? 'openbits-system.service' : 'openbits.service';
  const template = readFileSync(join(packageDir, 'systemd', name), 'utf8');
  // The template's opening comment says how to install it; the filled-in unit says where from.
  const body = template.slice(template.indexOf('[Unit]'));
  const filled = body.replaceAll('@NODE@', node).replaceAll('@OPENBITS_DIR@', packageDir);
  return `# openbits ${OPENBITS_VERSION} (${packageDir}): written by \`openbits daemon unit\`\n${filled}`;
}

function uptime(startedAt: number): string {
  const s = Math.max(0, Math.round((systemClock.wallMs() - startedAt) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** The pid is gone (signal 0 fails). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * `openbits daemon start|stop|status|logs`. start: make sure a bitsd answers (starting one on
 * demand); stop: SIGTERM the one answering on this user's socket and wait for it to go;
 * status: who answers, or that nobody does; logs: the on-demand daemon's log file; unit: the
 * systemd user unit for this installation.
 */
export async function daemonVerb(
  io: OpenbitsIo,
  action: string,
  values: Record<string, string | string[] | boolean | undefined>,
): Promise<number> {
  const paths = resolvePaths(io.env);
  switch (action) {
    case 'start':
    case 'status': {
      const client = io.connect({ autoStart: action === 'start' });
      try {
        const s = await client.status();
        io.stdout.write(
          `bitsd ${s.version} is running: pid ${s.pid}, up ${uptime(s.startedAt)}, socket ${client.socketPath}\n`,
        );
        return 0;
      } catch (err) {
        if (action === 'status' && isNotRunning(err)) {
          io.stdout.write(`bitsd is not running (socket ${client.socketPath}); it starts on demand\n`);
          return 3;
        }
        throw err;
      } finally {
        await client.close();
      }
    }
    case 'stop': {
      const client = io.connect({ autoStart: false });
      let pid: number;
      try {
        pid = (await client.status()).pid;
      } catch (err) {
        if (!isNotRunning(err)) throw err;
        io.stdout.write('bitsd is not running\n');
        return 0;
      } finally {
        await client.close();
      }
      process.kill(pid, 'SIGTERM');
      // bitsd stops its transfers at a checkpoint within 5 s; we do not parent it, so its
      // absence is polled.
      for (let i = 0; i < 200 && !gone(pid); i++)
        await (io.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(50);
      io.stdout.write(gone(pid) ? `bitsd (pid ${pid}) stopped\n` : `bitsd (pid ${pid}) is still stopping\n`);
      return gone(pid) ? 0 : 1;
    }
    case 'logs': {
      const n = Number(values.lines ?? 50);
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError('--lines needs a positive whole number', 'daemon');
      let text: string;
      try {
        text = readFileSync(paths.logPath, 'utf8');
      } catch {
        io.stdout.write(
          `no log at ${paths.logPath}: a bitsd started by systemd logs to the journal (journalctl --user -u openbits)\n`,
        );
        return 0;
      }
      const { prettyLine } = await import('../../api/log-format.ts');
      const lines = text.split('\n').filter((l) => l !== '');
      for (const line of lines.slice(-n)) io.stdout.write(prettyLine(line, { color: io.isTTY }));
      return 0;
    }
    case 'unit':
      io.stdout.write(systemdUnit(process.execPath, PACKAGE_DIR, values.system === true));
      return 0;
    default:
      throw new UsageError(`unknown daemon action: ${action} (start, stop, status, logs or unit)`, 'daemon');
  }
}
