// Loads the CLI bundle (dist/cli.cjs, a CommonJS file) with a V8 code cache made at the END of a
// run. Node's compile cache (compile-cache.js) is made when a file is compiled, before it runs,
// so it holds only the functions V8 compiled eagerly: every run compiled the rest again (a few
// ms of a 40 ms `bitsadmin /getstate`). Made after a run, the cache holds every function that
// run used. The cache file keeps a copy of the bundle's bytes and is used only when they equal
// the bundle's (V8 itself checks just the source's length); V8 rejects one made by another
// Node, and a missing, stale or rejected cache is written anew at exit (to a temporary file
// renamed into place). Plain JavaScript, loaded after require-node.js like the rest of bin/.
import * as nodeModule from 'node:module';

const require = nodeModule.createRequire(import.meta.url);
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

/** Bytes of the header that holds the length of the bundle copy. */
const HEADER = 4;

/** The code cache stored for exactly `source`, else undefined. */
function cachedFor(cachePath, source) {
  let stored;
  try {
    stored = readFileSync(cachePath);
  } catch {
    return undefined;
  }
  if (stored.length < HEADER) return undefined;
  const length = stored.readUInt32LE(0);
  if (length !== source.length || stored.length <= HEADER + length) return undefined;
  if (!stored.subarray(HEADER, HEADER + length).equals(source)) return undefined;
  return stored.subarray(HEADER + length);
}

function writeCache(cachePath, source, script) {
  try {
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(source.length, 0);
    const temporary = `${cachePath}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.concat([header, source, script.createCachedData()]), { mode: 0o600 });
    renameSync(temporary, cachePath);
  } catch {
    // No cache: the next run compiles as this one did.
  }
}

/**
 * Runs the CommonJS file `file` as require() would and returns its exports, with its code cache
 * in `cacheDir` (none when undefined). `state` says what the cache did: 'used', 'written' (none
 * or a stale one; a new one is written at exit), 'rejected' (V8 refused it; written anew), 'off'.
 */
export function loadBundle(file, cacheDir) {
  const source = readFileSync(file);
  const cachePath = cacheDir === undefined ? undefined : join(cacheDir, `cli-bundle-${process.version}.v8cache`);
  const cachedData = cachePath === undefined ? undefined : cachedFor(cachePath, source);
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname, __openbitsHostImport) {${source.toString('utf8')}\n})`,
    { filename: file, ...(cachedData === undefined ? {} : { cachedData }) },
  );
  const rejected = script.cachedDataRejected === true;
  const state = cachePath === undefined ? 'off' : cachedData === undefined ? 'written' : rejected ? 'rejected' : 'used';
  if (state === 'written' || state === 'rejected') process.once('exit', () => writeCache(cachePath, source, script));
  const module = { exports: {} };
  // import() from this ES module: a vm.Script may only import() with an experimental option.
  script.runInThisContext()(
    module.exports,
    nodeModule.createRequire(file),
    module,
    file,
    dirname(file),
    (s) => import(s),
  );
  return { exports: module.exports, state };
}
