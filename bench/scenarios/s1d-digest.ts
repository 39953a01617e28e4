import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DownloadItem } from '../adapters/ours.ts';
import type { Scenario } from '../lib/context.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import type { RatioRow } from '../lib/types.ts';
import { OURS, oursTool, timeIntoDest, withPeers } from './download-tools.ts';

const OURS_SHA = 'ours +sha-256';

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * S1D: the big file with a whole-file sha-256 to check, one connection, tmpfs destination: ours
 * with the digest (computed while writing) vs ours without it, vs `curl -o && sha256sum` and
 * `aria2c --checksum` (which hash the file after writing it).
 */
export const s1d: Scenario = {
  id: 'S1D',
  title: 'Big file with a sha-256 to check: hashed while written',
  async run(ctx) {
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const dest = join(ctx.ws.tmpDest, 'big-sha.bin');
    const sha = await sha256Of(file.path);
    const item: DownloadItem = { url, dest, size: file.size, digests: [{ algorithm: 'sha-256', value: sha }] };
    const aria = ['-q', '--summary-interval=0', '--file-allocation=none', '--allow-overwrite=true'];
    const tools = withPeers(ctx, { ...oursTool(ctx, [item], 'one-job'), tool: OURS_SHA }, [
      {
        tool: 'curl && sha256sum',
        bin: 'curl',
        argv: ['sh', '-c', `curl -s -f -o '${dest}' '${url}' && sha256sum '${dest}'`],
      },
      {
        tool: 'aria2c -x1 --checksum',
        bin: 'aria2c',
        argv: [
          'aria2c',
          '-x1',
          '-s1',
          ...aria,
          '--auto-file-renaming=false',
          `--checksum=sha-256=${sha}`,
          '-d',
          dirname(dest),
          '-o',
          basename(dest),
          url,
        ],
      },
    ]);
    tools.splice(1, 0, oursTool(ctx, [{ url, dest, size: file.size }], 'one-job'));
    const notes = [
      `${(file.size / 2 ** 20).toFixed(0)} MiB from one unshaped nginx, one connection, same destination for every tool.`,
    ];
    const { wall } = await timeIntoDest(ctx, tools, dest, notes);
    const measurements = [...wall].map(([tool, s]) => measurement(tool, 'time', 's', 'lower', s));
    const t = (tool: string) => medianOf(measurements, tool, 'time');
    const ratios: RatioRow[] = [
      ratioRow('time ours +sha-256 / ours (the digest check)', t(OURS_SHA) / t(OURS)),
      ratioRow('time ours +sha-256 / curl && sha256sum', t(OURS_SHA) / t('curl && sha256sum')),
      ratioRow('time ours +sha-256 / aria2c --checksum', t(OURS_SHA) / t('aria2c -x1 --checksum')),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
