import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_QUOTAS, systemClock } from '../../src/core/index.ts';
import { NO_BANDWIDTH_POLICY } from '../../src/scheduler/bandwidth-policy.ts';
import { BandwidthControl } from '../../src/service/bandwidth-control.ts';
import type { YieldTrace } from '../../src/service/yield-control.ts';
import { newFiles, newJob } from '../../src/store/job-rules.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256 } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// Issue 16: "throttling and the yielding controller count all segments together". A segmented
// download's parts all take from the one limiter its run gets, so the controller's own bytes are
// every part's bytes: the interface counters (here: what this process read from its sockets, all
// parts) less its own leave no phantom "other traffic" it would yield to.

const MiB = 1024 * 1024;
const BODY = randomBytes(6 * MiB + 777);
let origin: OriginServer;
let dir: string;

before(async () => {
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-yield-segments-'));
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

describe('the yielding controller and segmented downloads', () => {
  it('counts the bytes of every segment as its own: no phantom other traffic, all segments throttled together', async () => {
    origin.route('/big', (req, res) => serve(req, res, BODY, { etag: '"s"' }));
    const file = new RecordedFile(origin.url('/big'), join(dir, 'big.bin'));
    // Bytes this process read with read(2): the sockets of every part (nothing else reads here).
    const readSoFar = () => Number(/rchar: (\d+)/u.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
    const readAtStart = readSoFar();
    const trace: YieldTrace[] = [];
    const bandwidth = new BandwidthControl(
      systemClock,
      { ...NO_BANDWIDTH_POLICY, yield: { ...NO_BANDWIDTH_POLICY.yield, reactionMs: 500 } },
      () => {},
      {
        // A remote link as the controller sees it: a steady round trip, and an interface whose
        // counter is what arrived from the origin over all connections (with the wire's headers).
        probes: {
          rtt: async () => 1,
          interfaceOf: async () => 'veth0',
          counters: () => ({ rx: Math.round((readSoFar() - readAtStart) * 1.05), tx: 0 }),
          unread: () => 0,
        },
        logger: { info() {}, warn() {} },
        trace: (t) => trace.push(t),
      },
    );
    const caller = { owner: 'me', isAdmin: false, now: 0 };
    const draft = newJob({ ...caller, id: '8f14e45f-ceea-467f-a0e6-1b8b2b1d2c3d', type: 'DOWNLOAD', displayName: 's' });
    // The controller watches the job's remote server; the engine fetches from the loopback origin.
    const job = {
      ...draft,
      files: newFiles(draft, [{ remoteName: 'http://10.1.2.3/big', localName: '/tmp/x' }], caller, DEFAULT_QUOTAS)
        .files,
    };
    const limiter = bandwidth.limiterFor(job);
    // A controller that took its own segments for others' traffic would hold the job near its
    // floor: stop it then and let the assertions below say why.
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 30_000);
    let finished = true;
    try {
      const request = file.request({
        limiter,
        signal: stop.signal,
        clock: systemClock,
        options: { maxConnections: 4, minSplitBytes: MiB, checkpointBytes: MiB },
      });
      await downloadFile(request).catch((err: unknown) => {
        if (!stop.signal.aborted) throw err;
        finished = false;
      });
    } finally {
      clearTimeout(deadline);
      bandwidth.release(job.id);
      bandwidth.stop();
    }
    assert.ok(origin.hits('/big').length >= 3, `the file came in segments (${origin.hits('/big').length} requests)`);
    // Steps once the parts run (the first second is the probe request's start-up, whose socket
    // buffers fill whatever the job takes), with a window of counters behind them.
    const settled = (trace[0]?.at ?? 0) + 1000;
    const steps = trace.filter((t) => t.at >= settled && t.otherRate !== null && t.ownRate > 0);
    assert.ok(steps.length >= 3, `the controller stepped while it ran (${steps.length} steps)`);
    const own = steps.reduce((a, t) => a + t.ownRate, 0);
    const others = steps.reduce((a, t) => a + (t.otherRate ?? 0), 0);
    // Counting one segment of four would leave about three quarters as "others".
    assert.ok(others <= 0.25 * own, `others ${Math.round(others)} B/s beside own ${Math.round(own)} B/s (summed)`);
    assert.ok(finished, 'the download finished within 30 s');
    assert.equal(sha256(BODY), await file.tempSha256());
    assert.equal(bandwidth.yieldStatus(job.id), null, 'the run ended');
  });
});
