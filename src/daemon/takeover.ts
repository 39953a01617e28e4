import { http } from '../api/node-http.ts';

/** The pid of the daemon serving `socketPath`, if one answers GET /v1/status. */
export function runningPid(socketPath: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/v1/status', timeout: 2_000, agent: false }, (res) => {
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
 * `bitsd --replace` (the systemd unit): ask the bitsd already serving this user's socket (one
 * started on demand) to stop, with SIGTERM — it stops its transfers at a checkpoint. Only a
 * daemon that answers as bitsd on our own (0700) socket is signalled, never a pid read from a
 * file. True when one was signalled; the caller then waits for the instance lock.
 */
export async function stopRunningDaemon(socketPath: string): Promise<boolean> {
  const pid = await runningPid(socketPath);
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}
