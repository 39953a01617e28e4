// The dashboard's token file and its files (issue 17): the token is private and never written
// through a planted symlink; a packed package serves dist/dashboard as built; the bundle is whole.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDashboardFiles } from '../../src/api/dashboard-assets.ts';
import { dashboardToken, sameToken } from '../../src/api/dashboard-token.ts';

const base = mkdtempSync(join(tmpdir(), 'openbits-dash-files-'));
after(() => rmSync(base, { recursive: true, force: true }));

describe('dashboard token', () => {
  it('is created once, 0600, 32 random bytes, and read back the same', () => {
    const dir = mkdtempSync(join(base, 'state-'));
    const token = dashboardToken(dir);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/u);
    assert.equal(dashboardToken(dir), token);
    assert.equal(lstatSync(join(dir, 'dashboard.token')).mode & 0o777, 0o600);
    assert.ok(sameToken(token, token));
    assert.ok(!sameToken(`${token}x`, token));
    assert.notEqual(dashboardToken(mkdtempSync(join(base, 'other-'))), token, 'each user has their own');
  });

  it('a symlink planted at the token path is neither written through nor read', () => {
    const dir = mkdtempSync(join(base, 'planted-'));
    const target = join(base, 'victim.txt');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(dir, 'dashboard.token'));
    assert.throws(() => dashboardToken(dir), /ELOOP/u);
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
  });
});

describe('dashboard files', () => {
  it('a packed package serves dist/dashboard as it is', async () => {
    const root = mkdtempSync(join(base, 'pkg-'));
    mkdirSync(join(root, 'dist', 'dashboard', 'assets'), { recursive: true });
    writeFileSync(join(root, 'dist', 'dashboard', 'index.html'), '<!doctype html>built');
    writeFileSync(join(root, 'dist', 'dashboard', 'assets', 'app.js'), 'built()');
    const files = await loadDashboardFiles(root);
    assert.deepEqual([...files.keys()].sort(), ['/assets/app.js', '/index.html']);
    assert.equal(Buffer.from(files.get('/index.html')?.body ?? []).toString(), '<!doctype html>built');
    assert.equal(files.get('/assets/app.js')?.type, 'text/javascript; charset=utf-8');
  });

  it('neither built nor buildable: a clear error', async () => {
    await assert.rejects(loadDashboardFiles(mkdtempSync(join(base, 'empty-'))), /npm run build/u);
  });

  it('from the checkout (sources win over a dist/ left by a pack): one bundled script with Preact inside, the page and its style', async () => {
    const files = await loadDashboardFiles();
    assert.deepEqual([...files.keys()].sort(), ['/assets/app.js', '/assets/style.css', '/index.html']);
    const app = Buffer.from(files.get('/assets/app.js')?.body ?? []).toString();
    assert.ok(app.length > 5_000, 'the bundle holds the app and Preact');
    assert.doesNotMatch(app, /from\s*["']preact/u, 'no bare import left for the browser to resolve');
    const html = Buffer.from(files.get('/index.html')?.body ?? []).toString();
    assert.match(html, /<script type="module" src="\/assets\/app\.js"><\/script>/u);
  });
});
