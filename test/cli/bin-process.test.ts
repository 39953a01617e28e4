import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// bin/bitsadmin.js as a process: exit codes and stderr, with no daemon (OPENBITS_NO_AUTOSTART).

const BIN = fileURLToPath(new URL('../../bin/bitsadmin.js', import.meta.url));
let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'bitsadmin-bin-'));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

function runBin(
  args: readonly string[],
  options: { closeStdout?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1' },
    });
    let stdout = '';
    let stderr = '';
    if (options.closeStdout === true) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bin/bitsadmin.js', () => {
  it('prints help with exit code 0 without needing the service', async () => {
    const r = await runBin(['/?']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/transfer \[<name>\]/u);
  });

  it('exits 2 with the usage of the switch on bad arguments', async () => {
    const r = await runBin(['/addfile', 'onlyjob']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Invalid argument: missing argument \(expected 3, got 1\)\nUsage: bitsadmin \/addfile /u);
  });

  it('exits 1 with the BITS error when the service is not running', async () => {
    const r = await runBin(['/list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: RPC_S_SERVER_UNAVAILABLE \(0x800706ba\) bitsd is not running/u);
  });

  it('a reader that closes the pipe early ends it quietly', async () => {
    const r = await runBin(['/examples'], { closeStdout: true });
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/u);
  });
});
