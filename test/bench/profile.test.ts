import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CpuProfile,
  frameKey,
  moduleOf,
  profileMarkdown,
  summarizeProfile,
  topInclusive,
} from '../../bench/lib/cpu-profile.ts';
import { countCallsByPath, countHttpRequests, groupPaths, parseStraceSummary } from '../../bench/lib/strace.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

// root → main (src/cli/run.ts) → recurse → recurse (recursion: counted once in totals)
//      → (garbage collector), (idle), (program); main → parse (npm:undici)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6, 7, 9] },
    { id: 2, callFrame: frame('main', 'file:///r/src/cli/run.ts', 9), children: [3, 8] },
    { id: 3, callFrame: frame('recurse', 'file:///r/src/cli/run.ts', 20), children: [4] },
    { id: 4, callFrame: frame('recurse', 'file:///r/src/cli/run.ts', 20) },
    { id: 5, callFrame: frame('(garbage collector)') },
    { id: 6, callFrame: frame('(idle)') },
    { id: 7, callFrame: frame('(program)') },
    { id: 8, callFrame: frame('parse', 'file:///r/node_modules/undici/lib/x.js', 0) },
    { id: 9, callFrame: frame('reallyExit') },
  ],
  startTime: 0,
  endTime: 10_000,
  // each sample lasts until the next: delta[i + 1]
  samples: [2, 4, 4, 5, 6, 7, 8, 2, 9, 2],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 2000, 1000, 1000, 1000, 3000],
};

test('script URLs map to short module names', () => {
  assert.equal(moduleOf(''), '(native)');
  assert.equal(moduleOf('node:internal/streams/writable'), 'node:internal/streams');
  assert.equal(moduleOf('node:internal/timers'), 'node:internal/timers');
  assert.equal(moduleOf('node:fs'), 'node:fs');
  assert.equal(moduleOf('file:///w/node_modules/undici/lib/dispatcher/client.js'), 'npm:undici');
  assert.equal(moduleOf('file:///w/node_modules/@hono/node-server/dist/index.mjs'), 'npm:@hono/node-server');
  assert.equal(moduleOf('file:///work/wt/x/src/service/manager.ts'), 'src/service/manager.ts');
  assert.equal(moduleOf('file:///elsewhere/a.js'), '/elsewhere/a.js');
  assert.equal(moduleOf('file:///work/wt/bench/src/store/x.ts'), 'src/store/x.ts');
  assert.equal(moduleOf('file:///work/wt/bench/bench/profile.ts'), 'bench/profile.ts');
  assert.equal(moduleOf('wasm://wasm/00ad0bc6'), 'wasm (llhttp / amaro)');
  assert.equal(frameKey(frame('', 'file:///r/src/a.ts', 4)), '(anonymous) (src/a.ts:5)');
  assert.equal(frameKey(frame('(program)')), '(program)');
});

test('a profile summary: self and total time, GC share, idle left out of busy', () => {
  const s = summarizeProfile(profile);
  assert.equal(s.wallMs, 10);
  assert.equal(s.idleMs, 2);
  assert.equal(s.gcMs, 1);
  assert.equal(s.programMs, 1);
  assert.equal(s.busyMs, 7); // 12 ms of samples (the last has none), less 2 ms idle and 3 ms exit
  assert.equal(s.exitMs, 3);
  const row = (key: string) => s.functions.find((r) => r.key === key);
  assert.deepEqual(row('recurse (src/cli/run.ts:21)'), { key: 'recurse (src/cli/run.ts:21)', selfMs: 2, totalMs: 2 });
  assert.equal(row('main (src/cli/run.ts:10)')?.selfMs, 2);
  assert.equal(row('main (src/cli/run.ts:10)')?.totalMs, 5);
  assert.deepEqual([...(s.callers.get('recurse (src/cli/run.ts:21)') ?? [])], [['recurse (src/cli/run.ts:21)', 2]]);
  assert.equal(row('parse (npm:undici:1)')?.selfMs, 1);
  assert.equal(s.functions[0]?.key, 'main (src/cli/run.ts:10)'); // ties on self time: larger total first
  assert.deepEqual(
    s.modules.map((m) => [m.key, m.selfMs]),
    [
      ['src/cli/run.ts', 4],
      ['npm:undici', 1],
    ],
  );
  assert.deepEqual(
    topInclusive(s, /\(src\//u).map((r) => r.key),
    ['main (src/cli/run.ts:10)', 'recurse (src/cli/run.ts:21)'],
  );
  const md = profileMarkdown('cli', s, 5);
  assert.match(md, /GC 1\.0 ms \(14\.3 % of busy\)/);
  assert.match(md, /\| src\/cli\/run\.ts \| 4\.0 \| 57\.1 % \|/);
  assert.match(
    md,
    /\| recurse \(src\/cli\/run\.ts:21\) \| 2\.0 \| 28\.6 % \| 2\.0 \| 28\.6 % \| recurse \(src\/cli\/run\.ts:21\) \(2\.0\) \|/,
  );
});

test('a window keeps only the samples taken inside it', () => {
  // sample timestamps: 0, 1000, 2000, 3000, 4000, 6000, 7000, 8000, 9000, 12000 µs
  const s = summarizeProfile(profile, { fromUs: 1000, toUs: 4000 });
  assert.equal(s.wallMs, 3);
  assert.deepEqual(
    s.functions.filter((r) => r.selfMs > 0).map((r) => [r.key, r.selfMs]),
    [
      ['recurse (src/cli/run.ts:21)', 2],
      ['(garbage collector)', 1],
    ],
  );
  assert.equal(s.busyMs, 3);
  assert.equal(s.idleMs, 0);
});

test('strace -c tables give rows with and without errors, no total', () => {
  const text = [
    '% time     seconds  usecs/call     calls    errors syscall',
    '------ ----------- ----------- --------- --------- ----------------',
    ' 61.10    2.345678        1172      2001           fdatasync',
    ' 20.00    0.500000          10     50000       120 openat',
    '------ ----------- ----------- --------- --------- ----------------',
    '100.00    2.845678                 52001       120 total',
  ].join('\n');
  assert.deepEqual(parseStraceSummary(text), [
    { syscall: 'fdatasync', calls: 2001, errors: 0, seconds: 2.345678 },
    { syscall: 'openat', calls: 50000, errors: 120, seconds: 0.5 },
  ]);
  assert.deepEqual(parseStraceSummary('nothing here'), []);
});

test('strace -f -y logs give calls per path; resumed halves are not counted twice', () => {
  const log = [
    '101 fdatasync(23</d/.0000.bin.ab12>) = 0',
    '102 fdatasync(7</h/jobs.db-wal> <unfinished ...>',
    '101 pwrite64(7</h/jobs.db-wal>, "\\x37", 4096, 8192) = 4096',
    '102 <... fdatasync resumed>)            = 0',
    '101 fdatasync(7</h/jobs.db-wal>) = 0',
    '101 fsync(9</d>) = 0',
    '101 openat(AT_FDCWD</w>, "/d/.0001.bin.cd34", O_RDWR|O_CREAT) = 24</d/.0001.bin.cd34>',
    '101 rename("/d/.0000.bin.ab12", "/d/0000.bin") = 0',
    '101 write(25<socket:[77]>, "HTTP/1.1 200", 12) = 12',
    '101 getpid()                          = 101',
    '101 +++ exited with 0 +++',
  ].join('\n');
  const calls = countCallsByPath(log);
  assert.deepEqual(
    [...(calls.get('fdatasync') ?? [])],
    [
      ['/d/.0000.bin.ab12', 1],
      ['/h/jobs.db-wal', 2],
    ],
  );
  assert.deepEqual([...(calls.get('fsync') ?? [])], [['/d', 1]]);
  assert.deepEqual([...(calls.get('getpid') ?? [])], [['', 1]]);
  assert.deepEqual([...(calls.get('openat') ?? [])], [['/d/.0001.bin.cd34', 1]]);
  assert.deepEqual([...(calls.get('rename') ?? [])], [['/d/.0000.bin.ab12', 1]]);
  assert.deepEqual([...(calls.get('write') ?? [])], [['socket:[77]', 1]]);
  assert.equal(calls.has('exited'), false);
  const groups = groupPaths(calls.get('fdatasync') ?? new Map(), (p) => (p.endsWith('-wal') ? 'wal' : 'data'));
  assert.deepEqual(
    [...groups],
    [
      ['data', 1],
      ['wal', 2],
    ],
  );
});

test('HTTP request lines read by the server are counted by method and path, GUIDs as :id', () => {
  const log = [
    '7 read(21<socket:[9]>, "GET /v1/jobs/3e34550a-a933-4399-8c2f-81e087b76898 HTTP/1.1\\r\\nhost: x"..., 65536) = 120',
    '7 read(21<socket:[9]>, "GET /v1/jobs/3E34550A-A933-4399-8C2F-81E087B76898?x=1 HTTP/1.1\\r\\n"..., 65536) = 99',
    '7 read(22<socket:[10]>, "POST /v1/jobs HTTP/1.1\\r\\n"..., 65536) = 300',
    '7 write(21<socket:[9]>, "GET /v1/jobs HTTP/1.1", 20) = 20',
    '7 read(23</d/x>, "data", 4) = 4',
  ].join('\n');
  assert.deepEqual(
    [...countHttpRequests(log)],
    [
      ['GET /v1/jobs/:id', 2],
      ['POST /v1/jobs', 1],
    ],
  );
});
