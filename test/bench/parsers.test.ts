import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAria2PerFile, parseCurlPerFile, syncedPeer } from '../../bench/adapters/peers.ts';
import { throttleStats } from '../../bench/lib/counting-proxy.ts';
import { mountFor } from '../../bench/lib/disk.ts';
import { perJobSpread } from '../../bench/scenarios/s4-concurrent.ts';
import { mergeTraces } from '../../bench/scenarios/s6-throttle.ts';

test('aria2c download results give per-file rates in bytes/s', () => {
  const out = [
    'Download Results:',
    'gid   |stat|avg speed  |path/URI',
    '======+====+===========+=======',
    'a1b2c3|OK  |    10MiB/s|/d/mid/0.bin',
    'd4e5f6|OK  |   512KiB/s|/d/mid/1.bin',
    '0f0f0f|ERR |       0B/s|/d/mid/2.bin',
  ].join('\n');
  assert.deepEqual(parseAria2PerFile(out), [10 * 2 ** 20, 512 * 1024]);
});

test('curl -w lines give per-file rates in bytes/s', () => {
  assert.deepEqual(parseCurlPerFile('1000 0.5\n2000 2\n\n'), [2000, 1000]);
});

test('synced peer quotes its arguments for sh', () => {
  const p = syncedPeer({ tool: 'curl', bin: 'curl', argv: ['curl', '-o', "/tmp/it's", 'http://x/'] }, "/tmp/it's");
  assert.equal(p.tool, 'curl+sync');
  assert.equal(p.argv[2], `'curl' '-o' '/tmp/it'\\''s' 'http://x/' && sync -f '/tmp/it'\\''s'`);
});

test('per-job spread is 1 − slowest/fastest and ignores missing rates', () => {
  assert.ok(Math.abs(perJobSpread([100, 80, 90]) - 0.2) < 1e-12);
  assert.equal(perJobSpread([50, 50]), 0);
  assert.ok(Number.isNaN(perJobSpread([42])));
  assert.equal(perJobSpread([100, Number.NaN, 50]), 0.5);
});

test('throttle stats skip the first seconds and compare 1 s windows with the limit', () => {
  // 100 ms slots: 2 s of burst, then 1,000 B/s for 2 s, then one 1,500 B second.
  const slots = [...Array(20).fill(5000), ...Array(20).fill(100), ...Array(10).fill(150)];
  const stats = throttleStats({ openedAt: 0, slots }, 1000, 2, 5);
  assert.deepEqual(stats.windows, [1000, 1000, 1500]);
  assert.ok(Math.abs(stats.meanErrorPct - 100 / 6) < 1e-9);
  assert.equal(stats.maxWindowRatio, 1.5);
  assert.ok(stats.cv > 0.2 && stats.cv < 0.25); // windows 1000, 1000, 1500
});

test('traces of several connections merge on the first one', () => {
  const merged = mergeTraces([
    { openedAt: 1000, slots: [1, 2] },
    { openedAt: 1200, slots: [10, 20] },
  ]);
  assert.deepEqual(merged.slots, [1, 2, 10, 20]);
  assert.deepEqual(mergeTraces([]).slots, []);
});

test("mountFor: the longest mount point of the path's device holding it, the last of equals, unescaped", () => {
  const info = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '30 22 0:40 / /work/b rw - tmpfs tmpfs rw,size=1g',
    '31 22 0:41 / /work/b\\040c rw - tmpfs none rw',
    '32 30 7:0 / /work/b/disk rw,relatime shared:9 - ext4 /dev/loop0 rw',
    '33 30 0:42 / /work/b rw - tmpfs later rw',
  ].join('\n');
  const loop = { mountPoint: '/work/b/disk', fsType: 'ext4', source: '/dev/loop0', device: '7:0' };
  const later = { mountPoint: '/work/b', fsType: 'tmpfs', source: 'later', device: '0:42' };
  assert.deepEqual(mountFor(info, '/work/b/disk/x', '7:0'), loop);
  // Mount 33 covers /work/b after 32 was mounted below it: the device says which one the path is on.
  assert.deepEqual(mountFor(info, '/work/b/disk/x', '0:42'), later);
  assert.deepEqual(mountFor(info, '/work/b/other', '0:42'), later);
  assert.deepEqual(mountFor(info, '/work/b c/f', '0:41')?.mountPoint, '/work/b c');
  assert.deepEqual(mountFor(info, '/work/bb', '254:0')?.source, '/dev/vda');
  // No mount of that device: the longest holding the path.
  assert.deepEqual(mountFor(info, '/work/b/disk/x', '9:9'), loop);
  assert.equal(mountFor('', '/x', '1:1'), null);
});
