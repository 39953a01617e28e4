/**
 * Upload-server farm benchmark (issue 18): 32 concurrent BITS uploads through nginx to 1, 2 and
 * 3 bits-upload-server instances sharing sessions in PostgreSQL, against one instance with the
 * file store (no balancer), and against nginx's own client-body PUT to disk (WebDAV PUT of the
 * same fragment sizes) as the ceiling. Reports throughput and p99 fragment latency.
 * `node bench/upload-farm.ts [--uploads 32] [--size 16M] [--fragment 2M]` (PostgreSQL on
 * 127.0.0.1:5432, nginx from Debian). Prints a table and a JSON line; writes nothing else.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/upload-server/cli.ts';
import { startNginx } from '../test/helpers/nginx.ts';
import { rawUpload, startFarm } from '../test/upload-server/helpers/farm.ts';
import { payload } from '../test/upload-server/helpers/fixture.ts';
import { createTestDatabase } from '../test/upload-server/helpers/postgres.ts';
import { startServerProcess } from '../test/upload-server/helpers/server-process.ts';

const { values } = parseArgs({
  options: {
    uploads: { type: 'string', default: '32' },
    size: { type: 'string', default: '16M' },
    fragment: { type: 'string', default: '2M' },
  },
});
const uploads = Number(values.uploads);
const size = parseSize(values.size);
const fragment = parseSize(values.fragment);
const datas = Array.from({ length: uploads }, (_, i) => payload(size, 500 + i));

interface Row {
  readonly config: string;
  readonly seconds: number;
  readonly mibPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

async function measure(config: string, run: (latencies: number[]) => Promise<void>): Promise<Row> {
  const latencies: number[] = [];
  const started = performance.now();
  await run(latencies);
  const seconds = (performance.now() - started) / 1000;
  const row = {
    config,
    seconds,
    mibPerS: (uploads * size) / 1024 / 1024 / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
  process.stderr.write(`${config}: ${row.mibPerS.toFixed(1)} MiB/s, p99 ${row.p99Ms.toFixed(1)} ms\n`);
  return row;
}

const bitsUploads = (base: string, prefix: string) => async (latencies: number[]) => {
  await Promise.all(
    datas.map((data, i) => rawUpload(base, `/${prefix}/${i}.bin`, data, fragment, (_o, ms) => latencies.push(ms))),
  );
};

function put(agent: http.Agent, url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'PUT', agent, headers: { 'Content-Length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  // One instance, file store, no balancer: the single-host baseline.
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-bench-farm-'));
  const root = path.join(base, 'root');
  await fs.mkdir(root);
  const single = await startServerProcess(['--root', root, '--anonymous']);
  try {
    rows.push(await measure('1 instance, file store (direct)', bitsUploads(single.url, 'file')));
  } finally {
    single.child.kill('SIGTERM');
    await single.exited;
  }
  for (const n of [1, 2, 3]) {
    const db = await createTestDatabase('bits_bench');
    const farm = await startFarm({ instances: n, databaseUrl: db.url, args: ['--database-pool-size', '32'] });
    try {
      rows.push(await measure(`${n} instance(s), PostgreSQL, via nginx`, bitsUploads(farm.url, `farm${n}`)));
    } finally {
      await farm.stop();
      await db.drop();
    }
  }
  // The ceiling: nginx writing request bodies to disk itself (WebDAV PUT, one request per fragment).
  const dav = await startNginx({
    locations: `location /put/ { dav_methods PUT; create_full_put_path on; client_max_body_size 0; client_body_buffer_size 1m; }`,
  });
  try {
    rows.push(
      await measure('nginx client-body PUT to disk (ceiling)', async (latencies) => {
        await Promise.all(
          datas.map(async (data, i) => {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            for (let off = 0; off < data.length; off += fragment) {
              const t = performance.now();
              const status = await put(agent, dav.url(`/put/${i}/${off}.part`), data.subarray(off, off + fragment));
              if (status >= 300) throw new Error(`PUT ${status}`);
              latencies.push(performance.now() - t);
            }
            agent.destroy();
          }),
        );
      }),
    );
  } finally {
    await dav.stop();
    await fs.rm(base, { recursive: true, force: true });
  }
  const ref = rows[0]?.mibPerS ?? Number.NaN;
  const ceiling = rows.at(-1)?.mibPerS ?? Number.NaN;
  console.log(
    `${uploads} uploads × ${values.size}, fragments of ${values.fragment}, load ${os.loadavg()[0]?.toFixed(2)}`,
  );
  console.log('| configuration | MiB/s | × 1 file-store instance | × nginx PUT | p50 fragment ms | p99 fragment ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.config} | ${r.mibPerS.toFixed(1)} | ${(r.mibPerS / ref).toFixed(2)} | ${(r.mibPerS / ceiling).toFixed(2)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} |`,
    );
  }
  console.log(JSON.stringify({ uploads, size, fragment, rows }));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
