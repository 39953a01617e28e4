import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/index.ts';
import { callBus, getProperty } from '../../src/service/dbus-client.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir } from '../helpers/manager-harness.ts';
import { type PrivateBus, startPrivateBus } from '../helpers/private-bus.ts';
import { cli, cliOk, createJob, stateOf } from './helpers.ts';

const METERED = {
  destination: 'org.freedesktop.NetworkManager',
  path: '/org/freedesktop/NetworkManager',
  interface: 'org.freedesktop.NetworkManager',
  property: 'Metered',
};

async function until(cond: () => Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Issue 15, cost awareness, end to end: a real dbus-daemon on a private socket with a fake
 * NetworkManager on it (test/helpers/fake-network-manager.py, written from the D-Bus spec), the
 * real bitsd pointed at it with DBUS_SYSTEM_BUS_ADDRESS, and the real bitsadmin.
 */
describe('network cost from NetworkManager over D-Bus (dbus-daemon, bitsd, bitsadmin)', () => {
  let bus: PrivateBus;
  let server: FileServer;
  before(async () => {
    bus = await startPrivateBus(tempDir('openbits-bus-'), 2);
    server = await FileServer.start();
  });
  after(async () => {
    await bus?.close();
    await server?.close();
  });

  it('the D-Bus client reads Metered, and says which error the bus gave', async () => {
    bus.setMetered(3);
    assert.equal(await getProperty(bus.address, METERED, systemClock), 3);
    await assert.rejects(
      callBus(
        bus.address,
        [{ ...METERED, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', args: [METERED.interface] }],
        systemClock,
      ),
      /org\.freedesktop\.DBus\.Error\.UnknownMethod: not here/u,
    );
    await assert.rejects(
      callBus(
        bus.address,
        [{ ...METERED, destination: 'org.example.Absent', interface: 'x.y', member: 'Z' }],
        systemClock,
      ),
      /ServiceUnknown/u,
    );
    await assert.rejects(getProperty('unix:path=/nonexistent/bus', METERED, systemClock), /ENOENT/u);
    bus.setMetered(2);
  });

  it('a PolicyUnrestricted job waits while the network is metered and finishes when it is not; bitsd logs the source', async () => {
    const home = tempDir('openbits-cost-');
    server.add('/cost-e2e.bin', 200_000);
    bus.setMetered(1);
    const daemon = await spawnDaemon(home, { DBUS_SYSTEM_BUS_ADDRESS: bus.address });
    try {
      await until(async () => daemon.stderr().includes('network cost: capped (NetworkManager Metered=yes)'), 'the log');
      const job = await createJob(home, 'metered');
      await cliOk(home, ['/addfile', job, server.url('/cost-e2e.bin'), join(home, 'out.bin')]);
      assert.match(await cliOk(home, ['/gettransferpolicy', job]), /DEFAULT/u);
      const set = await cliOk(home, ['/settransferpolicy', job, 'PolicyUnrestricted']);
      assert.match(set, /policyUnrestricted \(0x80000021\)/u);
      const json = JSON.parse(await cliOk(home, ['--json', '/gettransferpolicy', job])) as unknown;
      assert.deepEqual(json, 0x80000021);
      const bad = await cli(home, ['/settransferpolicy', job, 'Cheap']);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /not a transfer policy/u);
      await cliOk(home, ['/resume', job]);
      await until(async () => (await stateOf(home, job)) === 'TRANSIENT_ERROR', 'TRANSIENT_ERROR');
      const error = await cliOk(home, ['/geterror', job]);
      assert.match(error, /0x80200059/u);
      assert.match(error, /NetworkManager Metered=yes/u);
      bus.setMetered(2);
      await until(
        async () => (await stateOf(home, job)) === 'TRANSFERRED',
        'TRANSFERRED after the network stopped being metered',
      );
      await until(
        async () => daemon.stderr().includes('network cost: unrestricted (NetworkManager Metered=no)'),
        'the log',
      );
    } finally {
      await stopDaemon(daemon);
    }
  });

  it('without NetworkManager bitsd says the cost is unknown; the policy’s cost.state overrides it', async () => {
    const home = tempDir('openbits-cost-');
    server.add('/cost-policy.bin', 50_000);
    const daemon = await spawnDaemon(home, { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/openbits-test-bus' });
    try {
      await until(async () => daemon.stderr().includes('network cost: unknown, taken as unrestricted'), 'the log');
      await cliOk(home, ['/util', '/setpolicy', 'cost.state', 'roaming']);
      const job = await createJob(home, 'roaming');
      await cliOk(home, ['/addfile', job, server.url('/cost-policy.bin'), join(home, 'p.bin')]);
      await cliOk(home, ['/settransferpolicy', job, 'NotRoaming']);
      await cliOk(home, ['/resume', job]);
      await until(async () => (await stateOf(home, job)) === 'TRANSIENT_ERROR', 'TRANSIENT_ERROR');
      assert.match(await cliOk(home, ['/geterror', job]), /roaming \(policy cost\.state\)/u);
      await cliOk(home, ['/util', '/setpolicy', 'cost.state', 'null']);
      await until(async () => (await stateOf(home, job)) === 'TRANSFERRED', 'TRANSFERRED');
    } finally {
      await stopDaemon(daemon);
    }
  });
});
