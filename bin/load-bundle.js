// Loads a bundle (dist/cli.cjs or dist/bitsd.cjs, CommonJS files) with a V8 code cache made at the END of a
// run. Node's compile cache (compile-cache.js) is made when a file is compiled, before it runs,
// so it holds only the functions V8 compiled eagerly: every run compiled the rest again (a few
// ms of a 40 ms `bitsadmin /getstate`). Made after a run, the cache holds every function that
// run used. A code cache is code that runs, and neither V8 nor Node checks its bytes, so it is
// used only from a folder that is this user's alone (private-folder.js), from a regular file
// (never through a symbolic link) owned by this user, when its CRC-32 matches its V8 data and
// its copy of the bundle's bytes equals the bundle's (V8 itself checks just the source's
// length). V8 rejects one made by another Node, and a missing, stale or refused cache is
// written anew at exit: into a new temporary file under a random name (never through a link
// nor into an existing file), renamed into place. Its name holds a hash of the bundle's path,
// so that two installs keep a cache each. Plain JavaScript, loaded after require-node.js.
const nodeModule = require('node:module');
const { isPrivateFolder } = require('./private-folder.js');
const { closeSync, constants, fstatSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync } =
  require('node:fs');
const { basename, dirname, join, resolve } = require('node:path');
const { Script } = require('node:vm');
const { crc32 } = require('node:zlib');

/** Header: the length of the bundle copy, then the CRC-32 of the V8 data (both u32 LE). */
const HEADER = 8;

/**
 * The cache's file name for the bundle at `file` (cli.cjs, bitsd.cjs): its name, this Node's
 * version and a hash of the path.
 */
function cacheFileName(file) {
  const pathHash = crc32(resolve(file)).toString(16).padStart(8, '0');
  return `${basename(file, '.cjs')}-bundle-${process.version}-${pathHash}.v8cache`;
}

/** The whole of `cachePath` when it is a regular file of this user's (not a link), else undefined. */
function readOwnFile(cachePath) {
  let fd;
  try {
    fd = openSync(cachePath, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.geteuid?.()) return undefined;
    const bytes = Buffer.allocUnsafe(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) return undefined;
      done += n;
    }
    return bytes;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The code cache stored for exactly `source`, else undefined. */
function cachedFor(cachePath, source) {
  const stored = readOwnFile(cachePath);
  if (stored === undefined || stored.length < HEADER) return undefined;
  const length = stored.readUInt32LE(0);
  if (length !== source.length || stored.length <= HEADER + length) return undefined;
  if (!stored.subarray(HEADER, HEADER + length).equals(source)) return undefined;
  const data = stored.subarray(HEADER + length);
  return crc32(data) === stored.readUInt32LE(4) ? data : undefined;
}

function writeCache(cachePath, source, script) {
  // Loaded only here: most runs use the cache and never write it.
  const temporary = `${cachePath}.${require('node:crypto').randomBytes(8).toString('hex')}.tmp`;
  let fd;
  let made = false;
  try {
    const data = script.createCachedData();
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(source.length, 0);
    header.writeUInt32LE(crc32(data), 4);
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    made = true;
    writeFileSync(fd, Buffer.concat([header, source, data]));
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, cachePath);
  } catch {
    // No cache: the next run compiles as this one did. Remove the temporary file this run made.
    try {
      if (fd !== undefined) closeSync(fd);
      if (made) unlinkSync(temporary);
    } catch {}
  }
}

/**
 * Runs the CommonJS file `file` as require() would and returns its exports, with its code cache
 * in `cacheDir` (none when undefined or not a private folder). `state` says what the cache did:
 * 'used', 'written' (none, a stale or refused one; a new one is written at exit), 'rejected'
 * (V8 refused it; written anew), 'off'. `writeAfter`: a process event; the new cache is written
 * at exit only if the run emitted it. bitsd emits 'openbits:warm' once its warm-up is done
 * (src/daemon/warm-up.ts, WARM_EVENT): a `bitsd --version`, `--help` or a second instance that
 * exits at once would otherwise leave a cache of start-up code only, used by every later start.
 */
function loadBundle(file, cacheDir, options = {}) {
  const source = readFileSync(file);
  const cachePath =
    cacheDir === undefined || !isPrivateFolder(cacheDir) ? undefined : join(cacheDir, cacheFileName(file));
  const cachedData = cachePath === undefined ? undefined : cachedFor(cachePath, source);
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname, __openbitsHostImport) {${source.toString('utf8')}\n})`,
    { filename: file, ...(cachedData === undefined ? {} : { cachedData }) },
  );
  const rejected = script.cachedDataRejected === true;
  const state = cachePath === undefined ? 'off' : cachedData === undefined ? 'written' : rejected ? 'rejected' : 'used';
  if (state === 'written' || state === 'rejected') {
    const atExit = () => process.once('exit', () => writeCache(cachePath, source, script));
    if (options.writeAfter === undefined) atExit();
    else process.once(options.writeAfter, atExit);
  }
  const bundle = { exports: {} };
  // import() from this file (CommonJS may import()): a vm.Script may only import() with an
  // experimental option.
  script.runInThisContext()(
    bundle.exports,
    nodeModule.createRequire(file),
    bundle,
    file,
    dirname(file),
    (s) => import(s),
  );
  return { exports: bundle.exports, state };
}

module.exports = { cacheFileName, loadBundle };
