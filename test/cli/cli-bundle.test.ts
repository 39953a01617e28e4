import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    // The client speaks HTTP on node:net (src/client/unix-http.ts): node:http is not loaded.
    assert.ok(!list.builtins.includes('NativeModule http'), list.builtins.join(' '));
  });
});

/** Runs `bitsadmin ARGS` from `file` through bin/load-bundle.js with its cache in `cacheDir`. */
function runLoaded(file: string, cacheDir: string, args: readonly string[]): { state: string; stderr: string } {
  const loader = JSON.stringify(new URL('../../bin/load-bundle.js', import.meta.url).href);
  const script = [
    `const { loadBundle } = await import(${loader});`,
    `const { exports, state } = loadBundle(${JSON.stringify(file)}, ${JSON.stringify(cacheDir)});`,
    `process.stdout.write(state + '\\n');`,
    `process.exitCode = await exports.bitsadmin(${JSON.stringify(args)});`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, OPENBITS_HOME: join(scratch, 'home'), OPENBITS_NO_AUTOSTART: '1' },
    encoding: 'utf8',
  });
  return { state: r.stdout.split('\n')[0] ?? '', stderr: r.stderr };
}

describe('bin/load-bundle.js: the bundle with a code cache made after a run', () => {
  it('writes the cache at the first run, uses it next, and never for other bytes of the same length', () => {
    const cacheDir = mkdtempSync(join(scratch, 'cache-'));
    const copy = join(scratch, 'copy.cjs');
    copyFileSync(bundle, copy);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
    // Same length, other bytes (V8 would take its cache for them: it checks only the length).
    const text = readFileSync(copy, 'utf8');
    assert.ok(text.includes('Transfer complete.'));
    writeFileSync(copy, text.replace('Transfer complete.', 'Transfer COMPLETE.'));
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
  });

  it('runs dynamic imports of the bundle (a Metalink read loads node:fs/promises) without experimental options', () => {
    const meta = join(scratch, 'one.meta4');
    writeFileSync(
      meta,
      '<?xml version="1.0"?><metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="a.bin"><url>http://127.0.0.1:9/a.bin</url></file></metalink>',
    );
    const r = runLoaded(bundle, mkdtempSync(join(scratch, 'cache-')), [
      '/importmetalink',
      '{11111111-2222-3333-4444-555555555555}',
      meta,
      scratch,
    ]);
    assert.match(r.stderr, /RPC_S_SERVER_UNAVAILABLE/u);
    assert.doesNotMatch(r.stderr, /ExperimentalWarning|ERR_VM/u);
  });
});
