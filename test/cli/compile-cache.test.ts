import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

// bin/compile-cache.js: the folder of Node's compile cache and of the CLI bundle's code cache
// (bin/load-bundle.js). A cache is code that runs: a folder someone else made in advance or
// may write into turns the cache off, silently.

const root = join(import.meta.dirname, '..', '..');
let scratch: string;

before(() => {
  mkdirSync(join(root, 'tmp'), { recursive: true });
  scratch = mkdtempSync(join(root, 'tmp', 'compile-cache-'));
});
after(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** COMPILE_CACHE_DIR and Node's compile cache folder in a process that loads compile-cache.js. */
function cacheIn(env: Record<string, string>): { dir: string | null; node: string | null; status: number | null } {
  const script = [
    `const { COMPILE_CACHE_DIR } = await import(${JSON.stringify(new URL('../../bin/compile-cache.js', import.meta.url).href)});`,
    `const { getCompileCacheDir } = await import('node:module');`,
    `process.stdout.write(JSON.stringify({ dir: COMPILE_CACHE_DIR ?? null, node: getCompileCacheDir() ?? null }));`,
  ].join('\n');
  const { OPENBITS_HOME: _h, XDG_CACHE_HOME: _x, NODE_COMPILE_CACHE: _n, ...rest } = process.env;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as { dir: string | null; node: string | null }), status: r.status };
}

describe("bin/compile-cache.js: caches only in folders that are this user's alone", () => {
  it('makes its folders private and turns both caches on', () => {
    const home = join(scratch, 'fresh');
    const r = cacheIn({ OPENBITS_HOME: home });
    assert.equal(r.dir, join(home, 'compile-cache'));
    assert.ok(r.node?.startsWith(join(home, 'compile-cache')), String(r.node));
    assert.equal(statSync(join(home, 'compile-cache')).mode & 0o777, 0o700);

    const xdg = mkdtempSync(join(scratch, 'xdg-'));
    const x = cacheIn({ XDG_CACHE_HOME: xdg });
    assert.equal(x.dir, join(xdg, 'openbits', 'compile-cache'));
    assert.equal(statSync(join(xdg, 'openbits')).mode & 0o777, 0o700);
  });

  it('turns the caches off for a folder others may write, or a link', () => {
    for (const mode of [0o777, 0o770, 0o702]) {
      const home = mkdtempSync(join(scratch, 'home-'));
      mkdirSync(join(home, 'compile-cache'));
      chmodSync(join(home, 'compile-cache'), mode);
      assert.deepEqual(cacheIn({ OPENBITS_HOME: home }), { dir: null, node: null, status: 0 }, mode.toString(8));
    }
    const home = mkdtempSync(join(scratch, 'home-'));
    symlinkSync(mkdtempSync(join(scratch, 'real-')), join(home, 'compile-cache'));
    assert.deepEqual(cacheIn({ OPENBITS_HOME: home }), { dir: null, node: null, status: 0 });

    // Under XDG_CACHE_HOME, the `openbits` folder on the way counts too.
    const xdg = mkdtempSync(join(scratch, 'xdg-'));
    mkdirSync(join(xdg, 'openbits'));
    chmodSync(join(xdg, 'openbits'), 0o777);
    assert.deepEqual(cacheIn({ XDG_CACHE_HOME: xdg }), { dir: null, node: null, status: 0 });
    // A shared home of caches without the sticky bit: others could rename our folders away.
    const shared = mkdtempSync(join(scratch, 'xdg-'));
    chmodSync(shared, 0o777);
    assert.deepEqual(cacheIn({ XDG_CACHE_HOME: shared }), { dir: null, node: null, status: 0 });
    chmodSync(shared, 0o1777);
    assert.equal(cacheIn({ XDG_CACHE_HOME: shared }).dir, join(shared, 'openbits', 'compile-cache'));
  });

  // chown to another user: the tests run as root (CI does).
  it('turns the caches off for folders another user made in advance', () => {
    // As root with XDG_CACHE_HOME on a world-writable (sticky) folder like /tmp.
    const shared = mkdtempSync(join(scratch, 'shared-'));
    chmodSync(shared, 0o1777);
    for (const planted of [join(shared, 'openbits'), join(shared, 'openbits', 'compile-cache')]) {
      rmSync(join(shared, 'openbits'), { recursive: true, force: true });
      mkdirSync(planted, { recursive: true, mode: 0o700 });
      chownSync(planted, 65534, 65534);
      assert.deepEqual(cacheIn({ XDG_CACHE_HOME: shared }), { dir: null, node: null, status: 0 }, planted);
    }
    const home = mkdtempSync(join(scratch, 'home-'));
    mkdirSync(join(home, 'compile-cache'), { mode: 0o700 });
    chownSync(join(home, 'compile-cache'), 65534, 65534);
    assert.deepEqual(cacheIn({ OPENBITS_HOME: home }), { dir: null, node: null, status: 0 });
  });
});
