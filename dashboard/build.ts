/**
 * Bundle the dashboard: dashboard/src (TypeScript + Preact) → one minified ES module per page,
 * plus the HTML and CSS. `npm run build:dashboard` writes dist/dashboard/ (the packed package
 * serves it as is); bitsd running from a checkout without dist/ builds it in memory instead.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const HERE = import.meta.dirname;

/** The dashboard's files by URL path, as served. */
export type DashboardFiles = Map<string, { readonly body: Uint8Array; readonly type: string }>;

export async function buildDashboardFiles(): Promise<DashboardFiles> {
  const result = await build({
    entryPoints: { app: join(HERE, 'src/main.tsx') },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: '/assets',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const files: DashboardFiles = new Map();
  for (const out of result.outputFiles) {
    files.set(out.path, { body: out.contents, type: 'text/javascript; charset=utf-8' });
  }
  const html = 'text/html; charset=utf-8';
  files.set('/index.html', { body: await readFile(join(HERE, 'index.html')), type: html });
  files.set('/assets/style.css', { body: await readFile(join(HERE, 'style.css')), type: 'text/css; charset=utf-8' });
  return files;
}

if (import.meta.main) {
  const { mkdir, writeFile, rm } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const out = process.argv[2] ?? join(HERE, '..', 'dist', 'dashboard');
  await rm(out, { recursive: true, force: true });
  for (const [path, file] of await buildDashboardFiles()) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), file.body);
  }
  process.stderr.write(`dashboard built in ${out}\n`);
}
