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
 * outside, loaded from node_modules as before, but for typebox in bitsd's (outsideButTypebox).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

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
function importMetaOfDist(hostImport: RegExp): Plugin {
  return {
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
          .replace(hostImport, '__openbitsImport(');
        return { contents: text, loader: 'ts' };
      });
    },
  };
}

/**
 * A dynamic import() of something outside the bundle (a builtin, a package, a file URL) but not
 * a type (`typeof import('x')`) nor a module of src/ (esbuild bundles those). Such imports go
 * through __openbitsImport: bin/load-bundle.js runs the bundle as a vm.Script, where import()
 * would need an experimental option, and passes an import() of its own; a plain require() of
 * the bundle (the tests) uses the bundle's own import().
 */
const HOST_IMPORT = /(?<!typeof\s+)\bimport\((?!\s*['"]\.)/gu;
/** HOST_IMPORT but for typebox, which the daemon's bundle holds. */
const HOST_IMPORT_BUT_TYPEBOX = /(?<!typeof\s+)\bimport\((?!\s*['"](\.|typebox['"/]))/gu;

const BANNER = [
  '"use strict";',
  "const __openbitsDist = require('node:url').pathToFileURL(__dirname + '/').href;",
  "const __openbitsFile = (built) => require('node:path').join(__dirname, built);",
  "const __openbitsResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
  "const __openbitsImport = typeof __openbitsHostImport === 'function' ? __openbitsHostImport : (s) => import(s);",
].join('\n');

/** Writes dist/cli.cjs (and its source map) under `outRoot` (default: the package's root). */
export function buildCliBundle(outRoot: string = root): Promise<string> {
  return bundle(join(src, 'cli', 'bin-entry.ts'), join(outRoot, CLI_BUNDLE), {
    packages: 'external',
    plugins: [importMetaOfDist(HOST_IMPORT)],
  });
}

/** Writes dist/bitsd.cjs (and its source map) under `outRoot` (default: the package's root). */
export async function buildDaemonBundle(outRoot: string = root): Promise<string> {
  return bundle(join(src, 'daemon', 'main.ts'), join(outRoot, DAEMON_BUNDLE), {
    plugins: [importMetaOfDist(HOST_IMPORT_BUT_TYPEBOX), outsideButTypebox],
    footer: { js: await typeboxNotice() },
  });
}

/**
 * Every npm package stays outside but typebox: an ES module package of ~680 files, which a
 * require() from CommonJS loads file by file (bitsd's warm-up compiles the API's schemas), each
 * kept with its source text and module records for the life of the process. Bundled, bitsd's
 * RSS once warm went 92.4 → 83.9 MiB (medians of six alternated starts).
 */
const outsideButTypebox: Plugin = {
  name: 'outside-but-typebox',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path === 'typebox' || args.path.startsWith('typebox/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** The license of the typebox copy the daemon's bundle holds (MIT: its notice goes with every copy). */
async function typeboxNotice(): Promise<string> {
  const license = await readFile(join(root, 'node_modules', 'typebox', 'license'), 'utf8');
  if (!/\bMIT\b/u.test(license) || !/^Copyright/mu.test(license)) {
    throw new Error('node_modules/typebox/license is not the MIT notice the bundle expects');
  }
  return `/*! Includes TypeBox:\n${license.replaceAll('*/', '* /').replace(/\r\n?/gu, '\n').trim()}\n*/`;
}

/** `own`: what differs between the bundles (which packages stay outside, and how). */
async function bundle(
  entry: string,
  outfile: string,
  own: Pick<BuildOptions, 'packages' | 'plugins' | 'footer'>,
): Promise<string> {
  await build({
    ...own,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    sourcemap: 'linked',
    sourcesContent: false,
    banner: { js: BANNER },
    logLevel: 'warning',
    // Any import.meta the plugin did not replace would be empty in CommonJS: fail the build.
    logOverride: { 'empty-import-meta': 'error' },
    legalComments: 'none',
  });
  await asciiOnly(outfile);
  return outfile;
}

/**
 * esbuild escapes every non-ASCII character of the code (its default charset) but copies comments
 * as they are, and one `…` or `→` in a comment made V8 hold the whole bundle's source as a
 * two-byte string for the life of the process (bitsd's: 2.5 MB instead of 1.3). Each UTF-16
 * unit of such a character becomes `?` (no `u` flag: a character beyond the BMP gives two), so
 * the source map's columns still hold.
 */
async function asciiOnly(file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, '?');
  if (ascii !== text) await writeFile(file, ascii);
}

if (import.meta.main) process.stderr.write(`built ${await buildCliBundle()} and ${await buildDaemonBundle()}\n`);
