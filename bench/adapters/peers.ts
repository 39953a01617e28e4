/** Command lines of the peer tools, each fetching the same URL to the same destination. */
import { basename, dirname } from 'node:path';

/** A peer command for one file. */
export interface PeerCommand {
  readonly tool: string;
  readonly bin: string;
  readonly argv: readonly string[];
}

/** Single-file peers (S1): curl, wget, aria2c -x1 and the segmented aria2c -x4. */
export function singleFilePeers(url: string, dest: string): PeerCommand[] {
  const aria = ['--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false'];
  const quietAria = ['-q', '--summary-interval=0', ...aria, '-d', dirname(dest), '-o', basename(dest)];
  return [
    { tool: 'curl', bin: 'curl', argv: ['curl', '-s', '-f', '-o', dest, url] },
    { tool: 'wget', bin: 'wget', argv: ['wget', '-q', '-O', dest, url] },
    { tool: 'aria2c -x1', bin: 'aria2c', argv: ['aria2c', '-x1', '-s1', ...quietAria, url] },
    { tool: 'aria2c -x4', bin: 'aria2c', argv: ['aria2c', '-x4', '-s4', '-k1M', ...quietAria, url] },
  ];
}

/** The same download followed by `sync -f` (durable peers for S2). */
export function syncedPeer(peer: PeerCommand, dest: string): PeerCommand {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const command = `${peer.argv.map(quote).join(' ')} && sync -f ${quote(dest)}`;
  return { tool: `${peer.tool}+sync`, bin: peer.bin, argv: ['sh', '-c', command] };
}

/** Many-file peers (S3): each reads the URL list from `listFile` and writes into `dir`. */
export function manyFilePeers(listFile: string, urls: readonly string[], dir: string): PeerCommand[] {
  return [
    { tool: 'wget -i', bin: 'wget', argv: ['wget', '-q', '-nd', '-P', dir, '-i', listFile] },
    {
      tool: 'aria2c -i -j1',
      bin: 'aria2c',
      argv: [
        'aria2c',
        '-q',
        '-j1',
        '-x1',
        '--file-allocation=none',
        '--allow-overwrite=true',
        '-d',
        dir,
        '-i',
        listFile,
      ],
    },
    {
      tool: 'curl --remote-name-all',
      bin: 'curl',
      argv: ['curl', '-s', '-f', '--remote-name-all', '--output-dir', dir, ...urls],
    },
  ];
}

/** Concurrent peers (S4): eight files at once. Per-file results are parsed from their output. */
export function concurrentPeers(listFile: string, urls: readonly string[], dir: string): PeerCommand[] {
  const n = String(urls.length);
  const curlArgs = urls.flatMap((u) => ['-o', `${dir}/${basename(new URL(u).pathname)}`, u]);
  return [
    {
      tool: 'aria2c -j8',
      bin: 'aria2c',
      argv: [
        'aria2c',
        `-j${n}`,
        '-x1',
        '-s1',
        '--summary-interval=0',
        '--console-log-level=warn',
        '--download-result=full',
        '--file-allocation=none',
        '--allow-overwrite=true',
        '-d',
        dir,
        '-i',
        listFile,
      ],
    },
    {
      tool: 'curl -Z',
      bin: 'curl',
      argv: ['curl', '-s', '-f', '-Z', '--parallel-max', n, '-w', '%{size_download} %{time_total}\\n', ...curlArgs],
    },
  ];
}

/** Throttled peers (S6) at `bytesPerSecond`, writing to `dest`. */
export function throttledPeers(url: string, dest: string, bytesPerSecond: number): PeerCommand[] {
  const rate = String(Math.round(bytesPerSecond));
  return [
    { tool: 'curl --limit-rate', bin: 'curl', argv: ['curl', '-s', '--limit-rate', rate, '-o', dest, url] },
    { tool: 'wget --limit-rate', bin: 'wget', argv: ['wget', '-q', `--limit-rate=${rate}`, '-O', dest, url] },
    {
      tool: 'aria2c --max-download-limit',
      bin: 'aria2c',
      argv: [
        'aria2c',
        '-q',
        '-x1',
        `--max-download-limit=${rate}`,
        '--file-allocation=none',
        '--allow-overwrite=true',
        '-d',
        dirname(dest),
        '-o',
        basename(dest),
        url,
      ],
    },
  ];
}

/** Per-file rates (bytes/s) from curl -w "%{size_download} %{time_total}" lines. */
export function parseCurlPerFile(stdout: string): number[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(' ').map(Number))
    .filter((f) => f.length === 2 && (f[1] ?? 0) > 0)
    .map(([size = 0, seconds = 1]) => size / seconds);
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** Per-file average speeds (bytes/s) from aria2c's "Download Results" table (`|OK  |  30MiB/s|path`). */
export function parseAria2PerFile(stdout: string): number[] {
  const rates: number[] = [];
  for (const match of stdout.matchAll(/\|OK\s*\|\s*([\d.]+)(B|KiB|MiB|GiB)\/s\|/g)) {
    rates.push(Number(match[1]) * (UNITS[match[2] ?? 'B'] ?? 1));
  }
  return rates;
}
