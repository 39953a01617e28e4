// The web dashboard (issue 17) in headless Chromium (Debian's, driven by playwright-core), served
// by a real bitsd (policy `dashboard.listen`) at the address `bitsadmin /util /dashboard` prints: a
// download made in the page runs to TRANSFERRED, is completed from the page and lands with the
// right sha256; the API refuses callers without the user's token. Without `dashboard.listen`, the
// same switch serves the dashboard itself through the socket until Ctrl-C.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { ARTIFACTS, keepScreenshot, launchBrowser } from '../helpers/browser.ts';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import { cliOk, MiB, scratchDir, sha256, sha256File, spawnCli } from './helpers.ts';

describe('e2e: the web dashboard in Chromium', () => {
  let home: { path: string; remove(): Promise<void> };
  let out: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let origin: OriginServer;
  /** The printed address: `http://127.0.0.1:<port>/#token=<token>`. */
  let address: string;
  let dashboard: string;

  before(async () => {
    home = await scratchDir('openbits-dash-home-');
    out = await scratchDir('openbits-dash-out-');
    writeFileSync(join(home.path, 'config.json'), JSON.stringify({ dashboard: { listen: '127.0.0.1:0' } }));
    daemon = await spawnDaemon(home.path);
    origin = await startOrigin();
    address = await cliOk(home.path, ['/rawreturn', '/util', '/dashboard']);
    assert.match(address, /^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/u);
    dashboard = new URL(address).origin;
    // The GNU-style CLI prints the same address.
    const openbits = spawnSync(process.execPath, [join(import.meta.dirname, '../../bin/openbits.js'), 'dashboard'], {
      env: { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: '1' },
      encoding: 'utf8',
    });
    assert.equal(openbits.status, 0, openbits.stderr);
    assert.equal(openbits.stdout, `${address}\n`);
  });

  after(async () => {
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
    await page.goto(address);
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

    const row = page.locator('tr[data-job-id]', { hasText: 'release image' });
    try {
      await row
        .getByTestId('state')
        .filter({ hasText: /^TRANSFERRED$/u })
        .waitFor({ timeout: 60_000 });
    } catch (err) {
      // Kept for whoever reads the failure, with what the daemon said.
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-failed.png') }).catch(() => undefined);
      t.diagnostic(`page: ${await page.locator('body').innerText()}`);
      t.diagnostic(`bitsd: ${daemon.stderr().slice(-3000)}`);
      throw err;
    }
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
    const jobs = `${dashboard}/v1/jobs`;
    const none = await fetch(jobs);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { name: string } }).error.name, 'E_ACCESSDENIED');
    assert.equal(
      (await fetch(jobs, { headers: { authorization: 'Bearer wrong-token-wrong-token-wrong' } })).status,
      401,
    );
    assert.equal((await fetch(`${dashboard}/v1/events`)).status, 401);
    assert.equal((await fetch(jobs, { method: 'POST', body: '{"displayName":"x"}' })).status, 401);
    const token = new URL(address).hash.replace('#token=', '');
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
    await page.goto(dashboard);
    await page.getByTestId('sign-in').waitFor();
    // A new page: the same address with only a new #fragment would not reload the first one.
    const wrong = await browser.newPage();
    await wrong.goto(`${dashboard}/#token=not-the-token-not-the-token-not`);
    await wrong.getByTestId('sign-in').filter({ hasText: 'refused' }).waitFor();
  });

  it('without dashboard.listen, /util /dashboard serves it here through the socket until Ctrl-C', async (t) => {
    const other = await scratchDir('openbits-dash-proxy-');
    t.after(() => other.remove());
    const plain = await spawnDaemon(other.path);
    t.after(() => stopDaemon(plain));
    const cli = spawnCli(other.path, ['/util', '/dashboard']);
    t.after(() => cli.child.kill('SIGKILL'));
    const deadline = Date.now() + 60_000;
    while (!/Dashboard: \S+/u.test(cli.stdout()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const printed = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/u.exec(cli.stdout())?.[1] ?? '';
    assert.notEqual(printed, '', `${cli.stdout()}${cli.stderr()}`);
    const url = new URL(printed);
    const token = url.hash.replace('#token=', '');
    const ok = await fetch(`${url.origin}/v1/jobs`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { jobs: [] });
    assert.equal((await fetch(`${url.origin}/v1/jobs`)).status, 401);
    assert.match(await (await fetch(url.origin)).text(), /<div id="app">/u, 'the page itself');
    cli.child.kill('SIGINT');
    assert.equal((await cli.done).code, 0);
  });
});
