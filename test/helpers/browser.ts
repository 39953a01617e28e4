import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with a fresh profile in `dir`, closed when the test ends. The flags keep it
 * from reaching for the network (there is none) and from stalling on GPU or sandbox set-up.
 */
export async function launchBrowser(t: TestContext, dir: string): Promise<BrowserContext> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium`);
  const profile = await mkdtemp(join(dir, 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => context.close());
  // Playwright's 30 s default is short for Chromium on a loaded 2-core machine: a hang guard only.
  context.setDefaultTimeout(90_000);
  return context;
}

/** Where screenshots are kept for people to look at (git-ignored). */
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

/**
 * Take a screenshot into the test's folder and copy it to test-artifacts/<name>; both paths are
 * printed as test diagnostics. Returns the stable path.
 */
export async function keepScreenshot(t: TestContext, page: Page, dir: string, name: string): Promise<string> {
  const shot = join(dir, name);
  await page.screenshot({ path: shot, fullPage: true });
  await mkdir(ARTIFACTS, { recursive: true });
  const kept = join(ARTIFACTS, name);
  await copyFile(shot, kept);
  t.diagnostic(`screenshot: ${kept} (also ${shot})`);
  return kept;
}
