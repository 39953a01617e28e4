import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  abbreviate,
  cliCommand,
  fileSetText,
  parseCreatedJob,
  shellLine,
  transferArgs,
  urlListText,
} from '../../bench/adapters/cli-command.ts';
import { statCpuMs } from '../../bench/lib/exec.ts';
import { combineRuns, SampleTable } from '../../bench/scenarios/cli-tools.ts';
import { parseTransferArgs } from '../../src/cli/commands/transfer.ts';
import { parseFileSet } from '../../src/cli/parse-values.ts';

const pairs = [
  { url: 'http://127.0.0.1:8080/small/0000.bin', dest: '/d/0000.bin' },
  { url: 'http://127.0.0.1:8080/small/0001.bin', dest: '/d/0001.bin' },
];

test('OPENBITS_BENCH_CLI replaces the default bitsadmin command, split on white space', () => {
  const fallback = ['/n/node', '/r/bin/bitsadmin.js'];
  assert.deepEqual(cliCommand(undefined, fallback), fallback);
  assert.deepEqual(cliCommand('  ', fallback), fallback);
  assert.deepEqual(cliCommand(' node  dist/bitsadmin.js ', fallback), ['node', 'dist/bitsadmin.js']);
  assert.deepEqual(cliCommand('bitsadmin', fallback), ['bitsadmin']);
});

test('the /transfer command line is the one the CLI itself parses back into the same pairs', () => {
  const args = transferArgs('bench-many', pairs, 'foreground');
  assert.deepEqual(args.slice(0, 4), ['/transfer', 'bench-many', '/priority', 'foreground']);
  const parsed = parseTransferArgs(args.slice(1));
  assert.equal(parsed.name, 'bench-many');
  assert.equal(parsed.priority, 'FOREGROUND');
  assert.equal(parsed.type, 'DOWNLOAD');
  assert.deepEqual(
    parsed.files,
    pairs.map((p) => ({ remoteName: p.url, localName: p.dest })),
  );
  assert.deepEqual(transferArgs('big', pairs.slice(0, 1)), ['/transfer', 'big', pairs[0]?.url, pairs[0]?.dest]);
  assert.throws(() => transferArgs('none', []), /at least one pair/);
});

test('the /addfileset list is what the CLI parses back; white space in a name is refused', () => {
  const text = fileSetText(pairs);
  assert.equal(text.split('\n').length, pairs.length + 1);
  assert.deepEqual(
    parseFileSet('addfileset', text),
    pairs.map((p) => ({ remoteName: p.url, localName: p.dest })),
  );
  assert.throws(() => fileSetText([{ url: 'http://x/a', dest: '/d/a b' }]), /white space/);
  assert.equal(urlListText(['http://x/a', 'http://x/b']), 'http://x/a\nhttp://x/b\n');
});

test('command lines for notes: plain words bare, others quoted; long ones abbreviated', () => {
  assert.equal(shellLine(['bitsadmin', '/info', '{A-B}', "it's here"]), `bitsadmin /info {A-B} 'it'\\''s here'`);
  assert.equal(abbreviate(['a', 'b', 'c'], 3), 'a b c');
  assert.equal(abbreviate(['a', 'b', 'c', 'd', 'e'], 2), 'a b … (3 more arguments)');
});

test('/rawreturn /create output gives the braced GUID; anything else throws', () => {
  const guid = '{2982EE43-4D85-4DAB-BF7E-0828DCCE6950}';
  assert.equal(parseCreatedJob(guid), guid);
  assert.equal(parseCreatedJob(`${guid}\n`), guid);
  assert.throws(() => parseCreatedJob(`BITSADMIN version 3.0\n\nCreated job ${guid}.`), /no job GUID/);
  assert.throws(() => parseCreatedJob(''), /no job GUID/);
});

test('CPU ms from /proc/PID/stat counts fields after the last parenthesis', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const tail = 'S 1 2 3 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0';
  assert.equal(statCpuMs(`42 (node) ${tail}`), 3250);
  assert.equal(statCpuMs(`42 (odd) name (x)) ${tail}`), 3250);
  assert.ok(Number.isNaN(statCpuMs('garbage')));
  assert.ok(Number.isNaN(statCpuMs('42 (node) S 1 2')));
});

test('a CLI session sums the CPU of its processes and keeps the largest peak RSS', () => {
  assert.deepEqual(
    combineRuns([
      { cpuMs: 300, maxRssKiB: 90_000 },
      { cpuMs: 250, maxRssKiB: 120_000 },
      { cpuMs: 10, maxRssKiB: 5_000 },
    ]),
    { cliCpuMs: 560, cliPeakRssKiB: 120_000, processes: 3 },
  );
  assert.deepEqual(combineRuns([]), { cliCpuMs: 0, cliPeakRssKiB: 0, processes: 0 });
});

test('the sample table keeps one row per tool and metric, in the order first seen', () => {
  const table = new SampleTable();
  const session = {
    wallMs: 2000,
    cliCpuMs: 500,
    daemonCpuMs: 1500,
    cliPeakRssKiB: 100 * 1024,
    daemonPeakRssKiB: 200 * 1024,
    processes: 1,
  };
  table.addSession('cli', session);
  table.addPeer('wget -i', { wallMs: 500, cpuMs: 100, maxRssKiB: 5 * 1024 });
  table.addSession('cli', { ...session, wallMs: 4000 });
  const rows = table.measurements();
  assert.deepEqual(
    rows.map((r) => `${r.tool}/${r.metric}`),
    [
      'cli/time',
      'cli/CPU, all processes',
      'cli/CPU bitsadmin',
      'cli/CPU bitsd',
      'cli/peak RSS',
      'cli/peak RSS bitsd',
      'cli/bitsadmin processes',
      'wget -i/time',
      'wget -i/CPU, all processes',
      'wget -i/peak RSS',
    ],
  );
  const time = rows.find((r) => r.tool === 'cli' && r.metric === 'time');
  assert.deepEqual(time?.samples, [2, 4]);
  assert.equal(time?.median, 3);
  assert.equal(rows.find((r) => r.metric === 'CPU, all processes' && r.tool === 'cli')?.median, 2);
  assert.equal(rows.find((r) => r.tool === 'wget -i' && r.metric === 'peak RSS')?.median, 5);
});
