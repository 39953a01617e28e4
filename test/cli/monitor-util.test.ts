import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitsadmin, body, makeManager } from './helpers.ts';

/** A sleep that never waits: it records the requested delay and stops the run after `rounds` calls. */
function rounds(n: number, onRound?: (i: number) => Promise<void> | void) {
  const stop = new AbortController();
  const delays: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    delays.push(ms);
    await onRound?.(delays.length);
    if (delays.length >= n) stop.abort();
  };
  return { signal: stop.signal, sleep, delays };
}

describe('bitsadmin /monitor', () => {
  it('on a pipe prints one snapshot (header + /list lines) per refresh until interrupted', async () => {
    const m = await makeManager();
    const a = await m.createJob('watched');
    let added: string | null = null;
    const clock = rounds(2, async (i) => {
      if (i === 1) added = (await m.createJob('late')).id;
    });
    const r = await bitsadmin(m, ['/monitor', '/refresh', '2'], { signal: clock.signal, sleep: clock.sleep });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(clock.delays, [2000, 2000]);
    const snaps = body(r.stdout).trimEnd().split('\n\n');
    assert.equal(snaps.length, 2);
    assert.equal(
      snaps[0],
      `MONITORING BACKGROUND COPY MANAGER(2 second refresh)\n{${a.id.toUpperCase()}} watched SUSPENDED 0 / 0 0 / 0`,
    );
    assert.match(snaps[1] ?? '', new RegExp(`\\{${(added ?? 'x').toUpperCase()}\\} late SUSPENDED`, 'u'));
    assert.doesNotMatch(r.stdout, /\x1b\[2J/u);
  });

  it('on a terminal clears the screen before each redraw and cuts lines to the width', async () => {
    const m = await makeManager();
    await m.createJob('a-rather-long-display-name-that-would-wrap-on-a-narrow-terminal');
    const clock = rounds(2);
    const r = await bitsadmin(m, ['monitor'], { signal: clock.signal, sleep: clock.sleep, isTTY: true, columns: 60 });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.split('\x1b[2J\x1b[H').length - 1, 2);
    assert.match(r.stdout, /MONITORING BACKGROUND COPY MANAGER\(5 second refresh\)/u);
    const screen = r.stdout.split('\x1b[2J\x1b[H').at(-1) ?? '';
    for (const line of screen.trimEnd().split('\n')) assert.ok(line.length <= 60, line);
  });

  it('--json prints one JSON array per refresh', async () => {
    const m = await makeManager();
    await m.createJob('j');
    const clock = rounds(3);
    const r = await bitsadmin(m, ['--json', '/monitor', '/allusers', '/refresh', '1'], clock);
    const docs = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(docs.length, 3);
    assert.equal(docs[2][0].displayName, 'j');
  });

  it('rejects a bad /refresh with usage and exit 2', async () => {
    const m = await makeManager();
    for (const argv of [
      ['/monitor', '/refresh'],
      ['/monitor', '/refresh', 'soon'],
      ['/monitor', '/refresh', '0'],
      ['/monitor', 'x'],
    ]) {
      const r = await bitsadmin(m, argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /Usage: bitsadmin \/monitor \[\/allusers\] \[\/refresh <seconds>\]/u);
    }
  });
});

describe('bitsadmin /util', () => {
  it('/util /version prints the versions; /rawreturn only openbits', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/util', '/version']);
    assert.equal(r.code, 0);
    assert.match(body(r.stdout), /^BITSADMIN 3\.0 openbits \d+\.\d+\.\d+\n$/u);
    const raw = await bitsadmin(m, ['/rawreturn', '/util', '/version']);
    assert.match(raw.stdout, /^\d+\.\d+\.\d+$/u);
  });

  it('/util /getpolicy lists dotted keys; /util /setpolicy changes one and the service applies it', async () => {
    const m = await makeManager();
    const g = await bitsadmin(m, ['/util', '/getpolicy']);
    assert.equal(g.code, 0, g.stderr);
    assert.match(body(g.stdout), /^maxBackgroundJobs: 1$/mu);
    assert.match(body(g.stdout), /^quotas\.maxFilesPerJob: 200$/mu);
    const one = await bitsadmin(m, ['/rawreturn', '/util', '/getpolicy', 'QUOTAS.maxfilesperjob']);
    assert.equal(one.stdout, '200');
    const s = await bitsadmin(m, ['/util', '/setpolicy', 'quotas.maxFilesPerJob', '2']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(body(s.stdout), 'Policy quotas.maxFilesPerJob set to 2.\n');
    const policy = (await m.getPolicy()) as { quotas: { maxFilesPerJob: number; maxJobsPerUser: number } };
    assert.equal(policy.quotas.maxFilesPerJob, 2);
    assert.equal(policy.quotas.maxJobsPerUser, 60, 'siblings keep their values');
    const j = await bitsadmin(m, ['--json', '/util', '/getpolicy']);
    assert.equal(JSON.parse(j.stdout).quotas.maxFilesPerJob, 2);
    const bad = await bitsadmin(m, ['/util', '/setpolicy', 'maxBackgroundJobs', 'many']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^ERROR: E_INVALIDARG/u);
    const unknown = await bitsadmin(m, ['/util', '/getpolicy', 'nosuch']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /E_INVALIDARG/u);
  });

  it('/util with an unknown or missing sub-switch', async () => {
    const m = await makeManager();
    const bad = await bitsadmin(m, ['/util', '/repairservice']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown \/util switch/u);
    const help = await bitsadmin(m, ['/util']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /\/util \/version/u);
    assert.equal((await bitsadmin(m, ['/util', '/setpolicy', 'onlykey'])).code, 2);
  });
});
