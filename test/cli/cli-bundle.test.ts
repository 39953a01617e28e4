import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCliBundle } from '../../scripts/bundle.ts';

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

  it("leaves no import() the HOST_IMPORT rewrite missed: the banner's fallback is the only one", () => {
    // A missed import() would throw in the vm.Script of bin/load-bundle.js (ERR_VM_DYNAMIC_IMPORT…).
    const text = readFileSync(bundle, 'utf8');
    const found = text.split('\n').filter((line) => /\bimport\s*\(/u.test(line));
    assert.deepEqual(found, [
      "const __openbitsImport = typeof __openbitsHostImport === 'function' ? __openbitsHostImport : (s) => import(s);",
    ]);
    assert.match(text, /__openbitsImport\(/u, 'the rewrite ran');
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
function runLoaded(
  file: string,
  cacheDir: string,
  args: readonly string[],
  prelude = '',
): { state: string; stderr: string } {
  const loader = JSON.stringify(new URL('../../bin/load-bundle.js', import.meta.url).href);
  const script = [
    `const loader = await import(${loader});`,
    `const { loadBundle } = loader;`,
    prelude,
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

/** The one cache file in `cacheDir` (named for the Node and the bundle's path). */
function cacheFile(cacheDir: string): string {
  const names = readdirSync(cacheDir).filter((n) => n.endsWith('.v8cache'));
  assert.equal(names.length, 1, names.join(' '));
  return join(cacheDir, names[0] as string);
}

/** A new cache folder, with the cache of `copy.cjs` written and used once. */
function warmCache(): { cacheDir: string; copy: string } {
  const cacheDir = mkdtempSync(join(scratch, 'cache-'));
  const copy = join(mkdtempSync(join(scratch, 'install-')), 'cli.cjs');
  copyFileSync(bundle, copy);
  assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
  assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
  return { cacheDir, copy };
}

describe("bin/load-bundle.js: a code cache is code, used only when it is this user's own", () => {
  it("keeps one cache per install: the name holds a hash of the bundle's path", () => {
    const { cacheDir, copy } = warmCache();
    const other = join(mkdtempSync(join(scratch, 'install-')), 'cli.cjs');
    copyFileSync(bundle, other);
    assert.equal(runLoaded(other, cacheDir, ['/help']).state, 'written');
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
    assert.equal(runLoaded(other, cacheDir, ['/help']).state, 'used');
    assert.equal(readdirSync(cacheDir).filter((n) => n.endsWith('.v8cache')).length, 2);
  });

  it("never writes through a link planted at a predictable temporary name, nor at the cache's name", () => {
    const cacheDir = mkdtempSync(join(scratch, 'cache-'));
    const copy = join(mkdtempSync(join(scratch, 'install-')), 'cli.cjs');
    copyFileSync(bundle, copy);
    const outside = mkdtempSync(join(scratch, 'outside-'));
    const target = join(outside, 'precious');
    writeFileSync(target, 'precious\n');
    // The child plants links at the names a writer could predict: the cache's name with its pid
    // (under this and the former naming), and the cache's own name.
    const prelude = [
      `const { symlinkSync } = await import('node:fs');`,
      `const dir = ${JSON.stringify(cacheDir)};`,
      `const names = ['cli-bundle-' + process.version + '.v8cache', loader.cacheFileName?.(${JSON.stringify(copy)})].filter(Boolean);`,
      `for (const n of names) symlinkSync(${JSON.stringify(target)}, dir + '/' + n + '.' + process.pid + '.tmp');`,
      `symlinkSync(${JSON.stringify(target)}, dir + '/' + names.at(-1));`,
    ].join('\n');
    assert.equal(runLoaded(copy, cacheDir, ['/help'], prelude).state, 'written');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.deepEqual(readdirSync(outside), ['precious']);
    // The cache was written beside the links, as a file of its own, and is used.
    const cache = cacheFile(cacheDir);
    assert.ok(lstatSync(cache).isFile());
    assert.equal(statSync(cache).mode & 0o777, 0o600);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.deepEqual(
      readdirSync(cacheDir).filter((n) => n.endsWith('.tmp') && !lstatSync(join(cacheDir, n)).isSymbolicLink()),
      [],
      'no temporary file left',
    );
  });

  it('does not read a cache through a link', () => {
    const { cacheDir, copy } = warmCache();
    const cache = cacheFile(cacheDir);
    const elsewhere = join(mkdtempSync(join(scratch, 'outside-')), 'cache');
    copyFileSync(cache, elsewhere);
    rmSync(cache);
    symlinkSync(elsewhere, cache);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
    assert.ok(lstatSync(cache).isFile(), 'the link is replaced by a file of its own');
  });

  // chown to another user: the tests run as root (CI does).
  it('refuses a cache owned by another user', () => {
    const { cacheDir, copy } = warmCache();
    const cache = cacheFile(cacheDir);
    chownSync(cache, 65534, 65534);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
    assert.equal(statSync(cache).uid, 0, 'written anew by its user');
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
  });

  it('uses no cache in a folder that others may write, nor in a folder of another user', () => {
    const { cacheDir, copy } = warmCache();
    for (const mode of [0o770, 0o707, 0o720, 0o702]) {
      chmodSync(cacheDir, mode);
      assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'off', mode.toString(8));
    }
    chmodSync(cacheDir, 0o700);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
    chownSync(cacheDir, 65534, 65534);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'off');
    // A link to a private folder is not the folder.
    const link = join(scratch, `cache-link-${process.pid}`);
    const real = mkdtempSync(join(scratch, 'cache-'));
    symlinkSync(real, link);
    assert.equal(runLoaded(copy, link, ['/help']).state, 'off');
    assert.deepEqual(readdirSync(real), []);
  });

  it('refuses a cache whose V8 data has a flipped byte (CRC-32)', () => {
    const { cacheDir, copy } = warmCache();
    const cache = cacheFile(cacheDir);
    const bytes = readFileSync(cache);
    const at = bytes.length - 100;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(cache, bytes);
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'written');
    assert.equal(runLoaded(copy, cacheDir, ['/help']).state, 'used');
  });
});
