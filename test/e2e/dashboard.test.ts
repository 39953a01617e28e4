// The web dashboard (issue 17) in headless Chromium (Debian's, driven by playwright-core),
// against a real bitsd through the `openbits dashboard` proxy: a download made in the page runs to
// TRANSFERRED, is completed from the page and lands with the right sha256; the API refuses callers
// without the user's token.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DashboardProxy, startDashboardProxy } from '../../src/cli/dashboard-proxy.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { keepScreenshot, launchBrowser } from '../helpers/browser.ts';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import { MiB, scratchDir, sha256, sha256File } from './helpers.ts';

describe('e2e: the web dashboard in Chromium', () => {
  let home: { path: string; remove(): Promise<void> };
  let out: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let origin: OriginServer;
  let proxy: DashboardProxy;

  before(async () => {
    home = await scratchDir('openbits-dash-home-');
    out = await scratchDir('openbits-dash-out-');
    daemon = await spawnDaemon(home.path);
    origin = await startOrigin();
    proxy = await startDashboardProxy({ socketPath: daemon.socketPath, stateDir: home.path });
  });

  after(async () => {
    await proxy?.close();
    await origin?.close();
    if (daemon !== undefined) assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await home?.remove();
    await out?.remove();
  });

  it('create a download in the page, watch it reach TRANSFERRED live, complete it: the file has the right sha256', async (t) => {
    const body = Buffer.alloc(6 * MiB + 4321);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    origin.route('/data/release.iso', serving(body, { etag: '"r1"' }));
    // A slow one beside it, so the page shows a running transfer with a rate and an ETA.
    const slow = Buffer.alloc(512 * MiB);
    origin.route('/data/slow.bin', serving(slow, { dripBytes: 64 * 1024, dripMs: 40 }));
    const dest = join(out.path, 'release.iso');

    const browser = await launchBrowser(t, out.path);
    const page = await browser.newPage();
    await page.goto(proxy.url);
    await page.getByTestId('live').filter({ hasText: 'live' }).waitFor();
    assert.ok(!page.url().includes('token='), 'the token leaves the address bar');

    const create = async (name: string, url: string, to: string, priority: string): Promise<void> => {
      await page.click('[data-nav=create]');
      const form = page.getByTestId('create-form');
      await form.locator('input[name=displayName]').fill(name);
      await form.locator('input[name=remoteName]').fill(url);
      await form.locator('input[name=localName]').fill(to);
      await form.locator('select[name=priority]').selectOption(priority);
      await form.locator('button[type=submit]').click();
      await page.locator('tr[data-job-id]', { hasText: name }).waitFor();
    };
    await create('slow mirror', origin.url('/data/slow.bin'), join(out.path, 'slow.bin'), 'NORMAL');
    // FOREGROUND runs beside the NORMAL one instead of waiting for its time slice.
    await create('release image', origin.url('/data/release.iso'), dest, 'FOREGROUND');
    t.after(async () => {
      if (existsSync(dest)) return;
      await page.screenshot({ path: join(out.path, 'failed.png') }).catch(() => undefined);
    });

    const row = page.locator('tr[data-job-id]', { hasText: 'release image' });
    await row
      .getByTestId('state')
      .filter({ hasText: /^TRANSFERRED$/u })
      .waitFor({ timeout: 60_000 });
    const slowRow = page.locator('tr[data-job-id]', { hasText: 'slow mirror' });
    await slowRow.getByTestId('rate').filter({ hasText: /\/s$/u }).waitFor({ timeout: 60_000 });
    assert.equal(existsSync(dest), false, 'not published before Complete');

    await row.locator('[data-action=open]').click();
    await page.getByTestId('detail').getByTestId('file').first().waitFor();
    assert.match((await page.getByTestId('detail').textContent()) ?? '', /release\.iso/u);
    await keepScreenshot(t, page, out.path, 'dashboard.png');

    await row.locator('[data-action=complete]').click();
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await sha256File(dest), sha256(body));

    page.once('dialog', (d) => void d.accept());
    await slowRow.locator('[data-action=cancel]').click();
    await slowRow.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('without the token: the API answers 401, a foreign Host 403, and the page asks for the address with the token', async (t) => {
    const jobs = `${proxy.origin}/v1/jobs`;
    const none = await fetch(jobs);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { name: string } }).error.name, 'E_ACCESSDENIED');
    assert.equal(
      (await fetch(jobs, { headers: { authorization: 'Bearer wrong-token-wrong-token-wrong' } })).status,
      401,
    );
    assert.equal((await fetch(`${proxy.origin}/v1/events`)).status, 401);
    assert.equal((await fetch(jobs, { method: 'POST', body: '{"displayName":"x"}' })).status, 401);
    const token = new URL(proxy.url).hash.replace('#token=', '');
    const ok = await fetch(jobs, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, 'the same call with the token works');
    // DNS rebinding: a page of another name resolved to 127.0.0.1 is refused by its Host.
    const { request } = await import('node:http');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(jobs, { headers: { host: 'evil.example', authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);

    const browser = await launchBrowser(t, out.path);
    const page = await browser.newPage();
    await page.goto(proxy.origin);
    await page.getByTestId('sign-in').waitFor();
    // A new page: the same address with only a new #fragment would not reload the first one.
    const wrong = await browser.newPage();
    await wrong.goto(`${proxy.origin}/#token=not-the-token-not-the-token-not`);
    await wrong.getByTestId('sign-in').filter({ hasText: 'refused' }).waitFor();
  });
});
