import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCliBundle } from '../../scripts/build-cli.ts';

// The CLIs as an installed package runs them: one CommonJS bundle, dist/cli.cjs (issue 11: a
// `bitsadmin /list` loaded ~60 modules and node:fs's ES facade, most of its start-up). Built into
// a scratch folder inside the checkout (git ignores /tmp/), so that the packages the bundle
// leaves outside (cli-progress, saxes…) resolve from node_modules as in an installed package.

const root = join(import.meta.dirname, '..', '..');
let scratch: string;
let bundle: string;

before(async () => {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  scratch = mkdtempSync(join(root, 'tmp', 'cli-bundle-'));
  bundle = await buildCliBundle(scratch);
});
after(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** Runs `bitsadmin ARGS` from the bundle; prints the builtins it loaded on stderr's last line. */
function runBundle(args: readonly string[]): { status: number | null; stdout: string; builtins: string[] } {
  const script = [
    `const before = new Set(process.moduleLoadList);`,
    `process.on('exit', () => process.stderr.write('\\n' + JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m)))));`,
    `require(${JSON.stringify(bundle)}).bitsadmin(${JSON.stringify(args)}).then((code) => { process.exitCode = code; });`,
  ].join('\n');
  const home = join(scratch, 'home');
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1' },
    encoding: 'utf8',
  });
  const lines = r.stderr.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, builtins: JSON.parse(lines.at(-1) ?? '[]') as string[] };
}

describe('the CLI bundle (dist/cli.cjs)', () => {
  it('leaves no import.meta behind: each module keeps the URL of its dist/ file', () => {
    const text = readFileSync(bundle, 'utf8');
    assert.doesNotMatch(text, /import\.meta/u);
    assert.match(text, /new URL\("client\/autostart\.js", __openbitsDist\)/u);
  });

  it('answers /help without the client, and /list without fs/promises, readline or TLS', () => {
    const help = runBundle(['/help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /\/transfer \[<name>\]/u);
    assert.ok(!help.builtins.includes('NativeModule http'), help.builtins.join(' '));

    const list = runBundle(['/list']);
    assert.equal(list.status, 1, 'no daemon runs');
    const heavy = list.builtins.filter((m) => /fs\/promises|readline|tls|crypto|child_process|worker_threads/u.test(m));
    assert.deepEqual(heavy, []);
  });
});
