import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { OPENBITS_VERSION } from '../../src/core/version.ts';
import { until } from '../helpers/until.ts';

// Issue 13: openbits worked from a git clone but not as a package (only .ts shipped, bins and
// the library failed under node_modules, 212 TS errors for a consumer, no clear message on an
// old Node). This packs the project (prepack builds dist/), installs the tarball into a scratch
// project with no network, and uses it as a JavaScript and a TypeScript consumer would.

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'node_modules', '.bin');
const fixtures = join(import.meta.dirname, 'fixtures');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};
// Node 24 first on PATH (the bins' `#!/usr/bin/env node` and npm's scripts use it).
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, OPENBITS_NO_AUTOSTART: undefined };

let work: string;
let scratch: string;
let tarball: string;
let files: string[];

function run(cmd: string, args: readonly string[], cwd: string, extra: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The scratch project's lockfile: the tarball plus the project's own runtime dependencies, as
 * resolved in its package-lock.json. `npm ci --offline` then takes every package from the npm
 * cache that `npm ci` of this project filled (a bare `npm install --offline TARBALL` would need
 * the registry's package documents too, which `npm ci` never caches).
 */
function scratchLock(tgz: string): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const integrity = `sha512-${createHash('sha512')
    .update(readFileSync(join(scratch, tgz)))
    .digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'scratch', dependencies: { openbits: `file:${tgz}` } },
    'node_modules/openbits': {
      version: pkg.version,
      resolved: `file:${tgz}`,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true) packages[key] = entry;
  }
  return { name: 'scratch', lockfileVersion: 3, requires: true, packages };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'openbits-pack-'));
  scratch = join(work, 'scratch');
  mkdirSync(scratch);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = packed[0]?.filename ?? '';
  files = (packed[0]?.files ?? []).map((f) => f.path);
  copyFileSync(join(work, tarball), join(scratch, tarball));
  writeFileSync(
    join(scratch, 'package.json'),
    `${JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { openbits: `file:${tarball}` } }, null, 2)}\n`,
  );
  writeFileSync(join(scratch, 'package-lock.json'), `${JSON.stringify(scratchLock(tarball), null, 2)}\n`);
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], scratch);
  for (const f of ['consumer.mjs', 'consumer.ts', 'client-modules.mjs'])
    copyFileSync(join(fixtures, f), join(scratch, f));
});

after(async () => {
  // A bitsd the consumer started on demand from the installed package.
  if (scratch !== undefined && existsSync(join(scratch, 'node_modules', '.bin', 'openbits'))) {
    spawnSync(join(scratch, 'node_modules', '.bin', 'openbits'), ['daemon', 'stop'], {
      env: { ...env, OPENBITS_HOME: join(scratch, 'home') },
    });
  }
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the npm package, installed from its tarball', () => {
  it('ships built JavaScript with .d.ts and source maps, man pages and the unit, and no TypeScript sources', () => {
    assert.equal(tarball, `openbits-${OPENBITS_VERSION}.tgz`, 'src/core/version.ts matches package.json');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'dist/client.js',
      'dist/client.d.ts',
      'dist/manager.js',
      'dist/upload-server.js',
      'dist/daemon/main.js',
      'dist/cli.cjs',
      'dist/bitsd.cjs',
      'dist/man/bitsadmin.1',
      'dist/man/openbits.1',
      'dist/dashboard/index.html',
      'dist/dashboard/assets/app.js',
      'dist/dashboard/assets/style.css',
      'bin/bitsd.js',
      'bin/openbits.js',
      'bin/openbits-worker.js',
      'dist/service/worker/worker-main.js',
      'systemd/openbits.service',
      'systemd/openbits-system.service',
      'README.md',
    ]) {
      assert.ok(files.includes(f), `${f} is in the package`);
    }
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
    );
  });

  it('a JavaScript consumer: createManager and connect() (bitsd started from the package) download a file', () => {
    const out = join(scratch, 'out');
    mkdirSync(out, { recursive: true });
    const result = JSON.parse(
      run('node', ['consumer.mjs', out], scratch, { OPENBITS_HOME: join(scratch, 'home') }),
    ) as {
      local: { result: string; same: boolean };
      remote: { result: string; same: boolean };
      bitsdPid: number;
    };
    assert.deepEqual(result.local, { ...result.local, result: 'S_OK', same: true });
    assert.deepEqual(result.remote, { ...result.remote, result: 'S_OK', same: true });
    // The on-demand bitsd runs the installed package's built JavaScript.
    const cmdline = readFileSync(`/proc/${result.bitsdPid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes(join(scratch, 'node_modules', 'openbits', 'bin', 'bitsd.js')), cmdline.join(' '));
  });

  it('a TypeScript consumer type-checks with tsc --strict (nodenext, skipLibCheck off) with zero errors', () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(join(bin, 'tsc'), ['-p', 'tsconfig.json'], { cwd: scratch, env, encoding: 'utf8' });
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  it('openbits/client loads connect() without SQLite, the service, the transfer engine, undici or TypeBox', () => {
    const urls = JSON.parse(run('node', ['client-modules.mjs'], scratch)) as string[];
    const ours = urls.filter((u) => u.includes('/node_modules/openbits/'));
    assert.ok(ours.some((u) => u.endsWith('/dist/client/connect.js')));
    const heavy = urls.filter((u) =>
      /\/dist\/(service|store|transfer|scheduler|daemon)\/|node:sqlite|\/undici\/|\/typebox\//u.test(u),
    );
    assert.deepEqual(heavy, []);
  });

  it('a bundled client (no package beside it) needs bitsdPath, and with it starts bitsd', () => {
    // What a bundler leaves: the client's modules copied into an application's own folder,
    // where neither openbits/package.json nor ../../bin/bitsd.js can be found.
    const bundle = join(work, 'bundle');
    const dist = join(scratch, 'node_modules', 'openbits', 'dist');
    for (const part of ['client', 'api', 'core']) cpSync(join(dist, part), join(bundle, part), { recursive: true });
    for (const f of ['client.js', 'require-node.js']) copyFileSync(join(dist, f), join(bundle, f));
    writeFileSync(join(bundle, 'package.json'), '{ "type": "module" }\n');
    const app = [
      "import { connect } from './client.js';",
      'const bitsdPath = process.argv[2] || undefined;',
      'const client = connect(bitsdPath === undefined ? {} : { bitsdPath });',
      'try { console.log(JSON.stringify({ pid: (await client.status()).pid })); }',
      'catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }',
      'await client.close();',
    ].join('\n');
    writeFileSync(join(bundle, 'app.mjs'), app);
    const home = join(work, 'bundle-home');
    const without = JSON.parse(run('node', ['app.mjs'], bundle, { OPENBITS_HOME: home })) as Record<string, string>;
    assert.equal(without.name, 'ERROR_FILE_NOT_FOUND');
    assert.match(without.message ?? '', /pass connect\(\{ bitsdPath \}\)/u);
    const bitsd = join(scratch, 'node_modules', 'openbits', 'bin', 'bitsd.js');
    const started = JSON.parse(run('node', ['app.mjs', bitsd], bundle, { OPENBITS_HOME: home })) as { pid: number };
    assert.ok(started.pid > 0);
    spawnSync(join(scratch, 'node_modules', '.bin', 'openbits'), ['daemon', 'stop'], {
      env: { ...env, OPENBITS_HOME: home },
    });
  });

  it('the installed package serves the dashboard as built, with no build step (no esbuild, no sources)', () => {
    const assets = join(scratch, 'node_modules', 'openbits', 'dist', 'api', 'dashboard-assets.js');
    const out = run(
      'node',
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(pathToFileURL(assets).href)});
         const files = await m.loadDashboardFiles();
         process.stdout.write(JSON.stringify([...files.keys()].sort()));`,
      ],
      scratch,
    );
    assert.deepEqual(JSON.parse(out), ['/assets/app.js', '/assets/style.css', '/index.html']);
    assert.equal(existsSync(join(scratch, 'node_modules', 'esbuild')), false, 'esbuild is a dev dependency only');
  });

  it('the four bins answer --help from the built JavaScript', () => {
    for (const [name, expected] of [
      ['bitsadmin', /^Usage: bitsadmin /mu],
      ['openbits', /^Usage: openbits VERB/mu],
      ['bitsd', /^Usage: bitsd \[options\]/mu],
      ['bits-upload-server', /^Usage: bits-upload-server/mu],
    ] as const) {
      const out = run(join(scratch, 'node_modules', '.bin', name), ['--help'], scratch);
      assert.match(out, expected, name);
    }
    const version = run(join(scratch, 'node_modules', '.bin', 'openbits'), ['--version'], scratch);
    assert.equal(version, `openbits ${OPENBITS_VERSION}\n`);
  });

  it('bitsadmin, openbits and bitsd run their one-file bundles (dist/cli.cjs, dist/bitsd.cjs), not the per-module build', async () => {
    // bin/load-bundle.js runs a bundle and keeps its code cache, with a copy of the bytes it was
    // made from, in the user's compile cache: that copy is the installed bundle.
    const bundleOf = (file: string) => readFileSync(join(scratch, 'node_modules', 'openbits', 'dist', `${file}.cjs`));
    const binOf = (name: string) => join(scratch, 'node_modules', 'openbits', 'bin', `${name}.js`);
    // Named for the bundle, the Node and a hash of its path; an 8-byte header (length, CRC-32).
    const cachesOf = (home: string, file: string) =>
      existsSync(join(home, 'compile-cache'))
        ? readdirSync(join(home, 'compile-cache')).filter((n) => n.startsWith(`${file}-bundle-${process.version}-`))
        : [];
    const assertCacheOf = (home: string, file: string, name: string) => {
      const names = cachesOf(home, file);
      assert.equal(names.length, 1, names.join(' '));
      const cache = readFileSync(join(home, 'compile-cache', names[0] as string));
      const bundle = bundleOf(file);
      assert.ok(cache.subarray(8, 8 + bundle.length).equals(bundle), `${name}: the cache is not of dist/${file}.cjs`);
    };
    for (const [name, file] of [
      ['bitsadmin', 'cli'],
      ['openbits', 'cli'],
      ['bitsd', 'bitsd'],
    ] as const) {
      const home = join(scratch, `home-${name}`);
      const r = spawnSync(process.execPath, [binOf(name), '--version'], {
        cwd: scratch,
        env: { ...env, OPENBITS_HOME: home },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      // The CLIs cache what any run used; bitsd only what a daemon that served used (its
      // --version would cache start-up code only, and every later start would take it).
      if (file === 'cli') assertCacheOf(home, file, name);
      else assert.deepEqual(cachesOf(home, file), [], 'bitsd --version writes no code cache');
    }
    const home = join(scratch, 'home-bitsd-served');
    const daemon = spawn(process.execPath, [binOf('bitsd')], {
      cwd: scratch,
      env: { ...env, OPENBITS_HOME: home, OPENBITS_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(daemon, 'exit');
    try {
      let output = '';
      daemon.stdout.on('data', (c) => {
        output += String(c);
      });
      daemon.stderr.on('data', (c) => {
        output += String(c);
      });
      await until(() => output.includes('transfer modules loaded'), 'bitsd to warm up', 60_000);
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }
    assertCacheOf(home, 'bitsd', 'bitsd');
  });

  it('the bundles are ASCII (one-byte source strings in V8); bitsd holds TypeBox, with its MIT notice', () => {
    const dist = join(scratch, 'node_modules', 'openbits', 'dist');
    for (const file of ['cli.cjs', 'bitsd.cjs']) {
      const bytes = readFileSync(join(dist, file));
      assert.equal(
        bytes.findIndex((b) => b > 0x7f),
        -1,
        `${file} holds a non-ASCII byte`,
      );
    }
    const daemon = readFileSync(join(dist, 'bitsd.cjs'), 'utf8');
    assert.doesNotMatch(daemon, /require\("typebox|__openbitsImport\("typebox/u);
    assert.match(
      daemon,
      /Includes TypeBox:\n[\s\S]*The MIT License[\s\S]*Copyright[\s\S]*Permission is hereby granted/u,
    );
    assert.doesNotMatch(
      readFileSync(join(dist, 'cli.cjs'), 'utf8'),
      /Includes TypeBox/u,
      'the CLI bundle keeps packages outside',
    );
  });

  it('on a Node older than 24, every entry point and bin stops with one clear sentence', (t) => {
    const old = '/usr/bin/node';
    const major = existsSync(old)
      ? Number(execFileSync(old, ['-p', 'process.versions.node.split(".")[0]']).toString())
      : 0;
    if (major === 0 || major >= 24) {
      t.diagnostic(`no Node older than 24 at ${old}: only the built entry points' own check is exercised`);
    }
    const node = major > 0 && major < 24 ? old : process.execPath;
    for (const entry of ['openbits', 'openbits/client', 'openbits/manager', 'openbits/upload-server']) {
      const r = spawnSync(node, ['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`], {
        cwd: scratch,
        encoding: 'utf8',
      });
      if (node === old) {
        assert.notEqual(r.status, 0, entry);
        assert.match(
          r.stderr,
          /Error: openbits needs Node\.js 24 or newer, but this is Node\.js v\d+\.\d+\.\d+\./u,
          entry,
        );
      } else assert.equal(r.status, 0, `${entry}: ${r.stderr}`);
    }
    if (node !== old) return;
    for (const name of ['bitsadmin', 'openbits', 'bitsd', 'bits-upload-server']) {
      const r = spawnSync(old, [join(scratch, 'node_modules', 'openbits', 'bin', `${name}.js`), '--help'], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, /^openbits needs Node\.js 24 or newer, but .* is Node\.js v\d+[^\n]*\.\n$/u, name);
    }
  });
});
