import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ManagerEvent } from '../../src/api/contract.ts';
import { listenApi } from '../../src/api/server.ts';
import { connect } from '../../src/client/connect.ts';
import { FakeManager } from '../api/fake-manager.ts';
import { realClock, serve } from '../api/helpers.ts';

// The client's shared event stream survives a daemon restart: it reconnects on its own, and
// `ready` of a later subscription waits for the new stream.
it('events reconnect after the server goes away and comes back on the same socket', async () => {
  const fake = new FakeManager();
  const first = await serve(fake);
  const client = connect({ socketPath: first.socketPath, autoStart: false });
  const seen: ManagerEvent[] = [];
  const off = client.subscribe((e) => seen.push(e));
  try {
    await off.ready;
    fake.emit({ type: 'job:modified', jobId: 'before' });
    await first.server.close();
    await fake.listenerCountIs(0);
    const second = await listenApi({
      manager: fake,
      clock: realClock,
      socketPath: first.socketPath,
      status: () => ({ service: 'bitsd', version: 'test', pid: process.pid, startedAt: Date.now() }),
    });
    try {
      // The server side subscribes once the client's stream is open again.
      await fake.listenerCountIs(1);
      const again = client.subscribe(() => {});
      await again.ready;
      again();
      fake.emit({ type: 'job:modified', jobId: 'after' });
      await client.getJob('00000000-0000-4000-8000-000000000000').catch(() => undefined);
      await new Promise<void>((resolve) => {
        const check = client.subscribe((e) => {
          if (e.jobId === 'ping') {
            check();
            resolve();
          }
        });
        void check.ready?.then(() => fake.emit({ type: 'job:modified', jobId: 'ping' }));
      });
      assert.deepEqual(
        seen.map((e) => e.jobId),
        ['before', 'after', 'ping'],
      );
    } finally {
      await second.close();
    }
  } finally {
    off();
    await client.close();
    await first.dir.remove();
  }
});
