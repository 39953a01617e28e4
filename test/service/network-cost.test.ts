import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  COST_STATES,
  costAllows,
  formatTransferPolicy,
  parseTransferPolicy,
  TRANSFER_POLICIES,
} from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type ManagerOptions } from '../../src/service/manager.ts';
import { costOfMetered, DEFAULT_COST_POLICY, NetworkCost } from '../../src/service/network-cost.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, tick, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';

describe('cost flags (core/cost.ts)', () => {
  it('parses the composites, cost-state lists and masks, and formats them back', () => {
    assert.equal(parseTransferPolicy('Always'), 0x800000ff);
    assert.equal(parseTransferPolicy('policyunrestricted'), TRANSFER_POLICIES.policyUnrestricted);
    assert.equal(parseTransferPolicy('Unrestricted'), COST_STATES.unrestricted, 'as in PowerShell: the state');
    assert.equal(parseTransferPolicy('NotRoaming'), 0x8000007f);
    assert.equal(parseTransferPolicy('Unrestricted,Roaming'), 0x81);
    assert.equal(parseTransferPolicy('BelowCap,IgnoreCongestion'), 0x80000004);
    assert.equal(parseTransferPolicy('0x80000067'), TRANSFER_POLICIES.standard);
    assert.equal(formatTransferPolicy(0x80000021), 'policyUnrestricted (0x80000021)');
    assert.equal(formatTransferPolicy(0x81), 'unrestricted,roaming (0x00000081)');
    assertBitsError(() => parseTransferPolicy('Cheap'), 'E_INVALIDARG');
    assertBitsError(() => parseTransferPolicy('IgnoreCongestion'), 'E_INVALIDARG');
    assertBitsError(() => parseTransferPolicy('0x100'), 'E_INVALIDARG');
  });

  it('a job may transfer only on a network whose cost state is in its flags (bits-client.md §9.3)', () => {
    assert.equal(costAllows(TRANSFER_POLICIES.always, COST_STATES.roaming), true);
    assert.equal(costAllows(TRANSFER_POLICIES.notRoaming, COST_STATES.roaming), false);
    assert.equal(costAllows(TRANSFER_POLICIES.policyUnrestricted, COST_STATES.capped), false);
    assert.equal(costAllows(TRANSFER_POLICIES.standard, COST_STATES.nearCap), false);
    assert.equal(costAllows(TRANSFER_POLICIES.standard, COST_STATES.belowCap), true);
  });

  it('NetworkManager’s Metered: yes and guess-yes are “capped”, the rest “unrestricted”', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((m) => costOfMetered(m).state),
      [
        COST_STATES.unrestricted,
        COST_STATES.capped,
        COST_STATES.unrestricted,
        COST_STATES.capped,
        COST_STATES.unrestricted,
      ],
    );
    assert.equal(costOfMetered(3).detail, 'capped (NetworkManager Metered=guess-yes)');
  });
});

describe('NetworkCost (the source, on a TestClock)', () => {
  it('polls NetworkManager every 5 s, logs each change and tells listeners', async () => {
    const clock = new TestClock();
    let metered = 2;
    const logs: string[] = [];
    const cost = new NetworkCost({
      clock,
      policy: DEFAULT_COST_POLICY,
      read: async () => metered,
      logger: { info: (_o, m) => logs.push(`info ${m}`), warn: (_o, m) => logs.push(`warn ${m}`) },
    });
    const seen: number[] = [];
    cost.onChange((r) => seen.push(r.state));
    await cost.start();
    assert.deepEqual(cost.current(), {
      state: COST_STATES.unrestricted,
      source: 'NetworkManager',
      detail: 'unrestricted (NetworkManager Metered=no)',
    });
    metered = 1;
    clock.advance(4999);
    await tick();
    assert.equal(cost.current().state, COST_STATES.unrestricted, 'not before the next poll');
    clock.advance(1);
    await tick();
    assert.equal(cost.current().state, COST_STATES.capped);
    assert.deepEqual(seen, [COST_STATES.capped]);
    assert.deepEqual(logs, [
      'info network cost: unrestricted (NetworkManager Metered=no)',
      'info network cost: capped (NetworkManager Metered=yes)',
    ]);
    cost.close();
  });

  it('without NetworkManager the cost is unknown: taken as unrestricted, and it says so; the policy overrides', async () => {
    const clock = new TestClock();
    const logs: string[] = [];
    const cost = new NetworkCost({
      clock,
      policy: DEFAULT_COST_POLICY,
      read: async () => {
        throw new Error('connect ENOENT /var/run/dbus/system_bus_socket');
      },
      logger: { info: (_o, m) => logs.push(`info ${m}`), warn: (_o, m) => logs.push(`warn ${m}`) },
    });
    await cost.start();
    assert.equal(cost.current().source, 'unknown');
    assert.equal(cost.current().state, COST_STATES.unrestricted);
    assert.match(logs[0] ?? '', /^warn network cost: unknown, taken as unrestricted \(no NetworkManager .*ENOENT/u);
    cost.setPolicy({ ...DEFAULT_COST_POLICY, state: COST_STATES.roaming });
    assert.deepEqual(cost.current(), {
      state: COST_STATES.roaming,
      source: 'policy',
      detail: 'roaming (policy cost.state)',
    });
    cost.close();
  });
});

describe('cost-aware scheduling (the manager)', () => {
  let server: FileServer;
  before(async () => {
    server = await FileServer.start();
  });
  after(async () => {
    await server.close();
  });

  const setup = (metered: { value: number }, extra: Partial<ManagerOptions> = {}) => ({
    home: tempDir(),
    clock: new TestClock(),
    network: new ManualNetworkSource(true),
    metered: async () => metered.value,
    ...extra,
  });

  it('a job that may not use a metered network waits in TRANSIENT_ERROR BG_E_BLOCKED_BY_COST_TRANSFER_POLICY and runs once it is not metered', async () => {
    const metered = { value: 1 };
    const opts = setup(metered);
    const m = await createManager(opts);
    try {
      server.add('/cost-a.bin', 20_000);
      const dir = tempDir();
      const strict = await m.createJob('strict');
      assert.equal(strict.costFlags, null, 'a new job follows the policy default (BITS: always)');
      await m.setCostFlags(strict.id, TRANSFER_POLICIES.policyUnrestricted);
      await m.addFile(strict.id, server.url('/cost-a.bin'), join(dir, 'a.bin'));
      // The default job transfers on the metered network.
      const easy = await m.createJob('easy');
      await m.addFile(easy.id, server.url('/cost-a.bin'), join(dir, 'b.bin'));
      await m.resume(easy.id);
      await waitForState(m, easy.id, 'TRANSFERRED');
      await m.resume(strict.id);
      await waitForState(m, strict.id, 'TRANSIENT_ERROR');
      const error = await m.getError(strict.id);
      assert.equal(error.name, 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY');
      assert.equal(error.hresult, 0x80200059);
      assert.match(error.message, /capped \(NetworkManager Metered=yes\).*policyUnrestricted \(0x80000021\)/u);
      assert.equal((await m.getJob(strict.id)).errorCount, 0, 'a cost block is not an error count');
      // Still blocked after its retry delay would have passed: it waits for the cost, not a timer.
      metered.value = 1;
      (opts.clock as TestClock).advance(3600_000);
      await tick();
      assert.equal((await m.getJob(strict.id)).state, 'TRANSIENT_ERROR');
      metered.value = 2;
      (opts.clock as TestClock).advance(5000);
      await waitForState(m, strict.id, 'TRANSFERRED');
    } finally {
      await m.close();
    }
  });

  it('a running job stops when the cost turns; clearing its flags releases it at once; getPolicy says the cost and its source', async () => {
    const metered = { value: 2 };
    const opts = setup(metered);
    const m = await createManager(opts);
    try {
      server.add('/cost-slow.bin', 400_000, { rateBps: 100_000 });
      const dir = tempDir();
      const job = await m.createJob('slow');
      await m.addFile(job.id, server.url('/cost-slow.bin'), join(dir, 's.bin'));
      await m.setCostFlags(job.id, parseTransferPolicy('PolicyUnrestricted'));
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRING');
      metered.value = 3;
      (opts.clock as TestClock).advance(5000);
      await waitForState(m, job.id, 'TRANSIENT_ERROR');
      assert.equal((await m.getError(job.id)).name, 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY');
      await m.setCostFlags(job.id, null);
      await waitForState(m, job.id, ['QUEUED', 'CONNECTING', 'TRANSFERRING']);
      const doc = await m.getPolicy();
      assert.deepEqual((doc.cost as { current: unknown }).current, {
        state: 'capped',
        source: 'NetworkManager',
        detail: 'capped (NetworkManager Metered=guess-yes)',
      });
    } finally {
      await m.close();
    }
  });

  it('a job blocked by cost when the service stopped is released at start-up when the cost changed meanwhile', async () => {
    const metered = { value: 1 };
    const opts = setup(metered);
    server.add('/cost-restart.bin', 30_000);
    const dir = tempDir();
    const m1 = await createManager(opts);
    const job = await m1.createJob('restart');
    await m1.addFile(job.id, server.url('/cost-restart.bin'), join(dir, 'r.bin'));
    await m1.setCostFlags(job.id, TRANSFER_POLICIES.policyUnrestricted);
    await m1.resume(job.id);
    await waitForState(m1, job.id, 'TRANSIENT_ERROR');
    await m1.close();
    metered.value = 2;
    const m2 = await createManager({ ...opts, clock: new TestClock(), network: new ManualNetworkSource(true) });
    try {
      await waitForState(m2, job.id, 'TRANSFERRED');
    } finally {
      await m2.close();
    }
  });

  it('the policy default (costedNetworkBehaviorBackgroundPriority) applies to jobs without flags; FOREGROUND has its own', async () => {
    const metered = { value: 1 };
    const cost = {
      ...DEFAULT_COST_POLICY,
      backgroundFlags: TRANSFER_POLICIES.policyUnrestricted,
    };
    const opts = setup(metered, { policy: { cost } });
    const m = await createManager(opts);
    try {
      server.add('/cost-default.bin', 10_000);
      const dir = tempDir();
      const bg = await m.createJob('bg');
      await m.addFile(bg.id, server.url('/cost-default.bin'), join(dir, 'bg.bin'));
      await m.resume(bg.id);
      await waitForState(m, bg.id, 'TRANSIENT_ERROR');
      assert.match((await m.getError(bg.id)).message, /policy default for its priority/u);
      await m.setPriority(bg.id, 'FOREGROUND');
      await waitForState(m, bg.id, 'TRANSFERRED');
    } finally {
      await m.close();
    }
  });
});
