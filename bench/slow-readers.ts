/**
 * Event-stream readers that stop reading (issue 12 item 5): a real bitsd, N readers that read
 * until their stream is live and then never again, and E job:modified events (SetDescription
 * calls through the client). Reports bitsd's resident set before, at its peak and after, the
 * subscriptions still open and bitsd's open sockets. `npm run bench:slow-readers [-- --readers
 * 300 --events 20000]`; `--bitsd PATH` measures another checkout's bin/bitsd.js.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '../src/client/connect.ts';
import { getOnSocket, metricValue } from '../test/helpers/prometheus.ts';
import { floodEvents, openSlowReader, residentBytes, socketCount } from '../test/helpers/slow-reader.ts';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '300' },
    events: { type: 'string', default: '20000' },
    bitsd: { type: 'string', default: fileURLToPath(new URL('../bin/bitsd.js', import.meta.url)) },
  },
});
const readers = Number(values.readers);
const events = Number(values.events);
// tmpfs where there is one: the flood measures the event stream, not fsync.
const home = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'openbits-slow-readers-'));
const child = spawn(process.execPath, [values.bitsd], {
  env: { ...process.env, OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
await new Promise<void>((resolve, reject) => {
  let text = '';
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
    if (text.includes('bitsd is listening')) resolve();
  });
  child.once('exit', (code) => reject(new Error(`bitsd exited ${code}: ${text}`)));
});
const socketPath = join(home, 'bitsd.sock');
const pid = child.pid as number;
const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
const subscribers = async (): Promise<number> =>
  metricValue((await getOnSocket(socketPath, '/metrics')).body, 'openbits_event_subscribers');
try {
  const client = connect({ socketPath, autoStart: false });
  const job = await client.createJob('flood');
  const start = residentBytes(pid);
  const opened = [];
  for (let i = 0; i < readers; i++) opened.push(await openSlowReader(socketPath));
  const withReaders = residentBytes(pid);
  const t0 = performance.now();
  await floodEvents(client, job.id, events);
  const seconds = (performance.now() - t0) / 1000;
  const end = residentBytes(pid);
  console.log(
    JSON.stringify({
      bitsd: values.bitsd,
      readers,
      events,
      floodSeconds: Number(seconds.toFixed(1)),
      rssStartMiB: mib(start.rss),
      rssWithReadersMiB: mib(withReaders.rss),
      rssPeakMiB: mib(end.peak),
      rssEndMiB: mib(end.rss),
      subscribersLeft: await subscribers(),
      bitsdSockets: socketCount(pid),
    }),
  );
  for (const r of opened) r.socket.destroy();
  await client.close();
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
