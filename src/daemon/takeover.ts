import { get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** The pid of the daemon serving `socketPath`, if one answers GET /v1/status. */
export function runningPid(socketPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get({ socketPath, path: '/v1/status', timeout: 2_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        try {
          const status = JSON.parse(text) as { pid?: unknown; service?: unknown };
          resolve(status.service === 'bitsd' && typeof status.pid === 'number' ? status.pid : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/**
 * `bitsd --replace` (the systemd unit): stop the bitsd already serving this user's socket (one
 * started on demand) with SIGTERM — it stops its transfers at a checkpoint — and wait up to
 * `waitMs` for it to exit. Only a daemon that answers as bitsd on our own (0700) socket is
 * signalled, never a pid read from a file. True when it is gone.
 */
export async function stopRunningDaemon(socketPath: string, waitMs = 10_000): Promise<boolean> {
  const pid = await runningPid(socketPath);
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    // A process we do not parent gives no exit event; its absence is polled.
    await sleep(50);
  }
  return false;
}
