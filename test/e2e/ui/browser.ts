/**
 * Debian's Chromium, headless, driven by playwright-core, that can reach loopback and nothing else: host names
 * other than 127.0.0.1 do not resolve, and every request to anything but loopback is aborted.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface OfflineBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Requests that were aborted because they left loopback. */
  blocked: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export async function launchOffline(): Promise<OfflineBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH.`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', '--disable-background-networking', '--disable-component-update'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, serviceWorkers: 'block' });
  // A missing element fails within seconds, not at the test's own timeout.
  context.setDefaultTimeout(10_000);
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'blob:' || LOOPBACK.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  return { browser, context, page: await context.newPage(), blocked };
}

/**
 * Opens this plugin's settings dialog from the Plugins page, as a user does: "Set Up" on a plugin without a config
 * block yet, otherwise ⋮ → "Plugin Config". Resolves with the custom UI's frame once config-ui-x has shown it.
 */
export async function openPluginSettings(page: Page, uiUrl: string): Promise<FrameLocator> {
  await page.goto(`${uiUrl}/plugins`);
  const card = page.locator('.card', { hasText: 'homebridge-meross-lan' }).first();
  await card.waitFor({ state: 'visible', timeout: 20_000 });
  const setUp = card.getByRole('button', { name: 'Set Up' });
  if (await setUp.count()) await setUp.click();
  else {
    await card.getByRole('button', { name: 'Plugin Actions' }).click();
    await page.getByRole('menuitem', { name: 'Plugin Config' }).or(page.getByRole('button', { name: 'Plugin Config' })).first().click();
  }
  const frame = page.frameLocator('ngb-modal-window iframe.plugin-iframe');
  await frame.locator('body').waitFor({ state: 'visible', timeout: 20_000 });
  return frame;
}
