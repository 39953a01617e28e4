/**
 * The bundles: src/cli/bin-entry.ts and everything it loads from src/ in one CommonJS file,
 * dist/cli.cjs, which bin/bitsadmin.js and bin/openbits.js load when they run from the package;
 * src/daemon/main.ts likewise in dist/bitsd.cjs, which bin/bitsd.js loads.
 * Why one file: a `bitsadmin /list` from the per-module build resolves, reads and links ~60
 * modules, most of its start-up; bitsd's ~230 modules cost it ~50 ms of the ~300 from spawn to
 * its first answer (S8's reading; 15 alternating starts: medians 301 → 253 ms, minimums 250 →
 * 194). Why CommonJS: builtins come through require(), not through the ES facade that reads
 * every export (node:fs's loads fs/promises, readline and more). Modules
 * reached only by a dynamic import() stay unevaluated until then (esbuild wraps them), so a
 * switch still runs only what it needs; npm packages (cli-progress, saxes, undici…) stay
 * outside, loaded from node_modules as before.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');

/** Where the bundles go, from the package's root. */
export const CLI_BUNDLE = 'dist/cli.cjs';
export const DAEMON_BUNDLE = 'dist/bitsd.cjs';

/**
 * import.meta in a module of src/ means the module as tsc builds it into dist/: its URL, file and
 * folder are those of the dist/ file (code finds bin/ and systemd/ relative to it), and resolve() resolves
 * packages from the package's folder. The banner defines both for the bundle.
 */
const importMetaOfDist: Plugin = {
  name: 'import-meta-of-dist',
  setup(b) {
    // esbuild's filters are Go regular expressions: no `u` flag.
    b.onLoad({ filter: new RegExp(`^${src}/.*\\.ts$`) }, async (args) => {
      const built = relative(src, args.path).replace(/\.ts$/u, '.js');
      const text = (await readFile(args.path, 'utf8'))
        .replaceAll('import.meta.url', `new URL(${JSON.stringify(built)}, __openbitsDist).href`)
        .replaceAll('import.meta.dirname', `require('node:path').dirname(__openbitsFile(${JSON.stringify(built)}))`)
        .replaceAll('import.meta.filename', `__openbitsFile(${JSON.stringify(built)})`)
        .replaceAll('import.meta.resolve(', '__openbitsResolve(')
        .replace(HOST_IMPORT, '__openbitsImport(');
      return { contents: text, loader: 'ts' };
    });
  },
};

/**
 * A dynamic import() of something outside the bundle (a builtin, a package, a file URL) but not
 * a type (`typeof import('x')`) nor a module of src/ (esbuild bundles those). Such imports go
 * through __openbitsImport: bin/load-bundle.js runs the bundle as a vm.Script, where import()
 * would need an experimental option, and passes an import() of its own; a plain require() of
 * the bundle (the tests) uses the bundle's own import().
 */
const HOST_IMPORT = /(?<!typeof\s+)\bimport\((?!\s*['"]\.)/gu;

const BANNER = [
  '"use strict";',
  "const __openbitsDist = require('node:url').pathToFileURL(__dirname + '/').href;",
  "const __openbitsFile = (built) => require('node:path').join(__dirname, built);",
  "const __openbitsResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
  "const __openbitsImport = typeof __openbitsHostImport === 'function' ? __openbitsHostImport : (s) => import(s);",
].join('\n');

/** Writes dist/cli.cjs (and its source map) under `outRoot` (default: the package's root). */
export function buildCliBundle(outRoot: string = root): Promise<string> {
  return bundle(join(src, 'cli', 'bin-entry.ts'), join(outRoot, CLI_BUNDLE));
}

/** Writes dist/bitsd.cjs (and its source map) under `outRoot` (default: the package's root). */
export function buildDaemonBundle(outRoot: string = root): Promise<string> {
  return bundle(join(src, 'daemon', 'main.ts'), join(outRoot, DAEMON_BUNDLE));
}

async function bundle(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    packages: 'external',
    format: 'cjs',
    target: 'node24',
    sourcemap: 'linked',
    sourcesContent: false,
    banner: { js: BANNER },
    plugins: [importMetaOfDist],
    logLevel: 'warning',
    // Any import.meta the plugin did not replace would be empty in CommonJS: fail the build.
    logOverride: { 'empty-import-meta': 'error' },
    legalComments: 'none',
  });
  return outfile;
}

if (import.meta.main) process.stderr.write(`built ${await buildCliBundle()} and ${await buildDaemonBundle()}\n`);
