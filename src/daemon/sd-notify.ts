import { spawn } from 'node:child_process';

/**
 * sd_notify without a native add-on. Node has no Unix datagram sockets, so the message goes
 * through `systemd-notify` (DESIGN.md §5); the unit sets NotifyAccess=all so that a child of
 * bitsd may speak for it, and systemd-notify waits for the manager to take the message (its
 * barrier, systemd ≥ 246) before it exits, so the message is never lost to the child's exit.
 * Without NOTIFY_SOCKET (not started by systemd with Type=notify) this does nothing.
 */
export async function sdNotify(
  fields: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
  command = 'systemd-notify',
): Promise<boolean> {
  if (env.NOTIFY_SOCKET === undefined || env.NOTIFY_SOCKET === '') return false;
  const args = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', env: env as NodeJS.ProcessEnv });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}
