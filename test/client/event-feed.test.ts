import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { listenApi } from '../../src/api/server.ts';
import { connect } from '../../src/client/connect.ts';
import { observe, realClock, realManager, serve } from '../api/helpers.ts';

// The client's shared event stream survives a daemon restart: it reconnects on its own, and
// `ready` of a later subscription waits for the new stream.
it('events reconnect after the server goes away and comes back on the same socket', async () => {
  const real = await realManager();
  const manager = observe(real.manager);
  const ids = new Map<string, string>();
  for (const name of ['before', 'after', 'ping']) ids.set((await manager.createJob(name)).id, name);
  const [before, later, ping] = [...ids.keys()] as [string, string, string];
  const first = await serve(manager);
  const client = connect({ socketPath: first.socketPath, autoStart: false });
  const seen: ManagerEvent[] = [];
  const off = client.subscribe((e) => seen.push(e));
  try {
    await off.ready;
    await manager.setDescription(before, 'x');
    await first.server.close();
    await manager.listenerCountIs(0);
    const second = await listenApi({
      manager,
      clock: realClock,
      socketPath: first.socketPath,
      status: () => ({ service: 'bitsd', version: 'test', pid: process.pid, startedAt: realClock.wallMs() }),
    });
    try {
      // The server side subscribes once the client's stream is open again.
      await manager.listenerCountIs(1);
      const again = client.subscribe(() => {});
      await again.ready;
      again();
      await manager.setDescription(later, 'x');
      await client.getJob('00000000-0000-4000-8000-000000000000').catch(() => undefined);
      await new Promise<void>((resolve) => {
        const check = client.subscribe((e) => {
          if (e.jobId === ping) {
            check();
            resolve();
          }
        });
        void check.ready?.then(() => manager.setDescription(ping, 'x'));
      });
      assert.deepEqual(
        seen.map((e) => `${ids.get(e.jobId)}:${e.type}`),
        ['before:job:modified', 'after:job:modified', 'ping:job:modified'],
      );
    } finally {
      await second.close();
    }
  } finally {
    off();
    await client.close();
    await first.dir.remove();
    await real.close();
  }
});
