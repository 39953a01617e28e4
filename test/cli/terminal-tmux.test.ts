import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../../src/client/index.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';

// The real thing on a real terminal: `node bin/bitsadmin.js` in a tmux pane (120×30), talking to
// a bitsd it starts on demand (OPENBITS_HOME keeps it in a temp folder), downloading from a
// local origin. The screen is read back with capture-pane.

const BIN = fileURLToPath(new URL('../../bin/bitsadmin.js', import.meta.url));
const run = promisify(execFile);

let server: FileServer;
let home: string;
let env: Record<string, string>;
// A tmux server of our own (its socket in the temp home): the user's default server is shared by
// every concurrent run (session names clashed) and gives new panes its own environment, not ours.
let socket: string;
const TRANSFER_PANE = 'bits-transfer';
const MONITOR_PANE = 'bits-monitor';
const INTERRUPT_PANE = 'bits-interrupt';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
}

before(async () => {
  server = await FileServer.start();
  home = await mkdtemp(join(tmpdir(), 'bitsadmin-tmux-'));
  env = { ...(process.env as Record<string, string>), OPENBITS_HOME: home };
  socket = join(home, 'tmux.sock');
});

after(async () => {
  try {
    execFileSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // never started, or already gone
  }
  // Stop the bitsd this test started (its pid from its own status route).
  const client = connect({ env, autoStart: false });
  try {
    const { pid } = await client.status();
    process.kill(pid, 'SIGTERM');
    // Wait for it to exit: it writes its compile cache into the home folder on the way out.
    for (let i = 0; i < 500 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  } catch {
    // not running
  } finally {
    await client.close();
  }
  await server.close();
  await rm(home, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** bitsadmin as a plain child process (not on the terminal), for setup and checks. */
async function bitsadmin(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { env });
  return stdout;
}

/** Start `node bin/bitsadmin.js args…` in a new detached 120×30 tmux session; the shell prints EXIT=<code> after. */
function startPane(name: string, args: readonly string[]): void {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '120',
    '-y',
    '30',
    '-e',
    `OPENBITS_HOME=${home}`,
    `${quoted}; echo EXIT=$?; sleep 60`,
  );
}

function screen(name: string): string {
  return tmux('capture-pane', '-p', '-t', name);
}

/** Poll the pane until `re` matches (a hang guard of 60 s, not a timing assertion). */
async function waitForScreen(name: string, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(name);
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`screen never matched ${re}:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('bitsadmin on a terminal (tmux)', () => {
  it('/transfer draws a live progress bar, then completes', async () => {
    // Held at 2.5 MB until the bar has been seen moving (a slow poll could miss a 3 s transfer).
    // Progress moves at checkpoints (every 2 s of writing by default): at 1 MB/s the hold comes
    // after 2.5 s, past the first checkpoint (held at 1 MB, the bar stayed at 0 % on an idle machine).
    const seen = Promise.withResolvers<void>();
    const data = server.add('/tty.bin', 3_000_000, {
      rateBps: 1_000_000,
      hold: { at: 2_500_000, release: seen.promise },
    });
    const local = join(home, 'tty.bin');
    startPane(TRANSFER_PANE, ['/transfer', 'ttyjob', server.url('/tty.bin'), local]);
    let moving: string;
    try {
      moving = await waitForScreen(
        TRANSFER_PANE,
        /TRANSFERRING\s+\[[█░]{40}\]\s+[1-9]\d*% [\d.]+ (B|KiB|MiB) \/ 2\.86 MiB/u,
      );
    } finally {
      seen.resolve();
    }
    assert.match(moving, /^BITSADMIN version 3\.0 \[ openbits /mu);
    assert.match(moving, /^DISPLAY: 'ttyjob' TYPE: DOWNLOAD PRIORITY: NORMAL JOB: \{[0-9A-F-]{36}\}$/mu);
    const done = await waitForScreen(TRANSFER_PANE, /EXIT=\d+/u);
    assert.match(done, /TRANSFERRED\s+\[█{40}\] 100% 2\.86 MiB \/ 2\.86 MiB .*files 1\/1/u);
    assert.match(done, /^Transferred 2\.86 MiB \(1 file\) in \d+:\d\d at [\d.]+ (KiB|MiB)\/s\.$/mu);
    assert.match(done, /^Transfer complete\.$/mu);
    assert.match(done, /EXIT=0$/mu);
    assert.doesNotMatch(done, /^STATE: /mu, 'no plain progress lines on a terminal');
    assert.equal(sha256(await readFile(local)), sha256(data));
  });

  it('/monitor redraws the job table until Ctrl-C', async () => {
    const id = (await bitsadmin('/rawreturn', '/create', 'monitored')).trim();
    startPane(MONITOR_PANE, ['/monitor', '/refresh', '1']);
    const shown = await waitForScreen(
      MONITOR_PANE,
      new RegExp(`${id.replace(/[{}]/gu, '\\$&')} monitored SUSPENDED`, 'u'),
    );
    const lines = shown.split('\n');
    assert.equal(lines[0], 'MONITORING BACKGROUND COPY MANAGER(1 second refresh)', 'the screen was cleared first');
    await bitsadmin('/setdisplayname', id, 'renamed');
    await waitForScreen(MONITOR_PANE, new RegExp(`${id.replace(/[{}]/gu, '\\$&')} renamed SUSPENDED`, 'u'));
    tmux('send-keys', '-t', MONITOR_PANE, 'C-c');
    await waitForScreen(MONITOR_PANE, /EXIT=0$/mu);
  });

  it('Ctrl-C during /transfer suspends the job and says how to resume it', async () => {
    // Held at 200 kB: it is still transferring whenever the Ctrl-C lands.
    const never = new Promise<void>(() => {});
    server.add('/crawl.bin', 2_000_000, { rateBps: 200_000, hold: { at: 200_000, release: never } });
    startPane(INTERRUPT_PANE, ['/transfer', 'crawl', server.url('/crawl.bin'), join(home, 'crawl.bin')]);
    await waitForScreen(INTERRUPT_PANE, /TRANSFERRING\s+\[/u);
    tmux('send-keys', '-t', INTERRUPT_PANE, 'C-c');
    const text = await waitForScreen(INTERRUPT_PANE, /EXIT=\d+$/mu);
    assert.match(text, /EXIT=130$/mu);
    const m = /To resume it: bitsadmin \/resume (\{[0-9A-F-]{36}\})/u.exec(text);
    assert.ok(m?.[1] !== undefined, text);
    assert.equal(await bitsadmin('/rawreturn', '/getstate', m[1]), 'SUSPENDED');
    await bitsadmin('/cancel', m[1]);
  });
});
