import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/index.ts';
import { DelayProbe } from '../../src/service/delay-probe.ts';
import { interfaceBytes, routeInterface, unreadBytes } from '../../src/service/link-counters.ts';
import { runDelayMs } from '../../src/service/run-delay.ts';
import { tempDir } from '../helpers/manager-harness.ts';

const ROUTE_V4 = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wg0\t0000000A\t00000000\t0001\t0\t0\t50\t000000FF\t0\t0\t0
veth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
// fd00::/64 on eth0, the default route on ppp0.
const ROUTE_V6 = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     ppp0
`;

describe('link counters (the kernel side of the yielding controller)', () => {
  it('finds the interface by the longest matching prefix, IPv4 and IPv6', () => {
    const dir = tempDir();
    const tables = { v4: join(dir, 'route'), v6: join(dir, 'ipv6_route') };
    writeFileSync(tables.v4, ROUTE_V4);
    writeFileSync(tables.v6, ROUTE_V6);
    assert.equal(routeInterface('10.0.2.7', tables), 'veth1', '/24 beats /8');
    assert.equal(routeInterface('10.9.9.9', tables), 'wg0');
    assert.equal(routeInterface('192.168.0.20', tables), 'eth0');
    assert.equal(routeInterface('8.8.8.8', tables), 'eth0', 'the default route');
    assert.equal(routeInterface('127.0.0.1', tables), 'lo');
    assert.equal(routeInterface('fd00::5', tables), 'eth0');
    assert.equal(routeInterface('2001:db8::1', tables), 'ppp0');
    assert.equal(routeInterface('10.0.0.1', { v4: join(dir, 'missing'), v6: tables.v6 }), null);
  });

  it('reads byte counters from sysfs, else from /proc/net/dev, and refuses odd names', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sys/eth0/statistics'), { recursive: true });
    writeFileSync(join(dir, 'sys/eth0/statistics/rx_bytes'), '123456\n');
    writeFileSync(join(dir, 'sys/eth0/statistics/tx_bytes'), '789\n');
    writeFileSync(
      join(dir, 'dev'),
      `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
  wlan0: 5000 10 0 0 0 0 0 0 7000 12 0 0 0 0 0 0
`,
    );
    const root = { sys: join(dir, 'sys'), procDev: join(dir, 'dev') };
    assert.deepEqual(interfaceBytes('eth0', root), { rx: 123456, tx: 789 });
    assert.deepEqual(interfaceBytes('wlan0', root), { rx: 5000, tx: 7000 });
    assert.equal(interfaceBytes('nope0', root), null);
    assert.equal(interfaceBytes('../eth0', root), null);
  });

  it('counts the bytes the kernel received on this process’s connections that it has not read', async () => {
    const payload = Buffer.alloc(100_000, 1);
    const server = createServer((s) => {
      s.on('error', () => undefined); // the client resets it, unread data and all
      s.end(payload);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    client.pause();
    try {
      await once(client, 'connect');
      const deadline = Date.now() + 10_000;
      let unread = unreadBytes('127.0.0.1', port);
      while (unread !== payload.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        unread = unreadBytes('127.0.0.1', port);
      }
      assert.equal(unread, payload.length);
      assert.equal(unreadBytes('127.0.0.1', port === 1 ? 2 : 1), 0, 'other peers do not count');
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('times handshakes and leaves no TIME_WAIT behind (the probes reset their connections)', async () => {
    const server = createServer((s) => s.on('error', () => undefined));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const probe = new DelayProbe(systemClock);
      for (let i = 0; i < 20; i++) {
        const ms = await probe.rtt({ host: '127.0.0.1', port });
        assert.ok(ms >= 0 && ms < 3000, `a round trip of ${ms} ms`);
      }
      // TIME_WAIT is state 06; the remote address is column 3 of /proc/net/tcp.
      const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
      const waiting = readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/u))
        .filter((c) => c[2] === remote && c[3] === '06');
      assert.equal(waiting.length, 0, `${waiting.length} probe connections in TIME_WAIT`);
      await assert.rejects(probe.rtt({ host: '127.0.0.1', port: 1 }), /ECONNREFUSED/u);
    } finally {
      server.close();
    }
  });

  it('takes the time the thread waited for a CPU off a handshake (the kernel’s run-queue delay)', async () => {
    const dir = tempDir('openbits-schedstat-');
    writeFileSync(join(dir, 'schedstat'), '1385263 154739000 2\n');
    assert.equal(runDelayMs(join(dir, 'schedstat')), 154.739);
    assert.equal(runDelayMs(join(dir, 'missing')), null);
    assert.equal(typeof runDelayMs(), 'number', 'Linux says how long this thread waited');
    const server = createServer((s) => s.on('error', () => undefined));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      // The thread "waited" a second for a CPU during each handshake: none of it is the network's.
      let waited = 0;
      const late = new DelayProbe(systemClock, () => (waited += 1000));
      assert.equal(await late.rtt({ host: '127.0.0.1', port }), 0);
      // No schedstat: the handshake's time as the clock saw it.
      const plain = new DelayProbe(systemClock, () => null);
      assert.ok((await plain.rtt({ host: '127.0.0.1', port })) > 0);
    } finally {
      server.close();
    }
  });

  it('counts the unread bytes of other processes’ connections too (system mode’s workers)', async () => {
    const payload = Buffer.alloc(80_000, 2);
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.write(payload); // no FIN: it would count as one more byte in rx_queue
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    // A worker stand-in: connects and never reads.
    const child = spawn(
      process.execPath,
      ['-e', `const s = require('node:net').connect(${port}, '127.0.0.1'); s.pause(); setInterval(() => {}, 1000);`],
      { stdio: 'ignore' },
    );
    try {
      const deadline = Date.now() + 10_000;
      let unread = unreadBytes('127.0.0.1', port, '/proc', [child.pid as number]);
      while (unread !== payload.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        unread = unreadBytes('127.0.0.1', port, '/proc', [child.pid as number]);
      }
      assert.equal(unread, payload.length);
      assert.equal(unreadBytes('127.0.0.1', port), 0, 'not this process’s connection');
      assert.equal(unreadBytes('127.0.0.1', port, '/proc', [2 ** 22 + 1]), 0, 'a worker that is gone counts nothing');
    } finally {
      child.kill();
      server.close();
    }
  });
});
