/**
 * The settings UI end to end, in a real browser: homebridge-config-ui-x (hb-service) with this plugin on loopback,
 * Debian's headless Chromium, a fake Meross cloud over HTTPS with an MFA account, and simulated plugs on
 * 127.0.0.x. A user signs in (a wrong MFA code first), finds the plugs, tests one, ticks two, saves; then the
 * saved config.json is checked (keys in, password nowhere) and Homebridge, restarted, must expose exactly those two.
 *
 * MEROSS_UI_SCREENSHOTS=1 writes the step screenshots to docs/ (the README shows them); otherwise they go to the
 * test's temp folder, so a test run leaves the working tree alone.
 */
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { HttpClient } from 'hap-controller';
import { HttpClient as HapClient } from 'hap-controller';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug, type RequestRecord } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { commonPort } from '../discovery/helpers';
import { accessories, TYPES } from './hap';
import { ROOT, makeTempDir } from './homebridge';
import { launchOffline, openPluginSettings, type OfflineBrowser } from './ui/browser';
import { ConfigUi } from './ui/config-ui';

/** A busy machine (the other e2e worker) can take seconds to carry a change through the dialog; vitest's default is 1 s. */
const POLL = { timeout: 20_000, interval: 100 };

const EMAIL = 'alex@example.com';
const PASSWORD = 'Tr0ub4dor&3-not-stored';
const MFA = '135790';
const ACCOUNT_KEY = 'a1b2c3d4e5f6a7b8c9d0';
const SUBNET = '127.0.0.16/28';
const OFFLINE_UUID = '2101234567890123456748e1e9fa0042';

interface MerossBlock {
  platform: string;
  name?: string;
  devices?: Array<Record<string, string>>;
  cloud?: Record<string, string>;
  [field: string]: unknown;
}

function merossBlock(storageDir: string): MerossBlock | undefined {
  const config = JSON.parse(readFileSync(join(storageDir, 'config.json'), 'utf8')) as { platforms: MerossBlock[] };
  return config.platforms.find((p) => p.platform === 'MerossLan');
}

/** Resolves when config.json (rewritten by the UI) satisfies `accept`. fs.watch, no polling. */
function configWhere(storageDir: string, accept: (block: MerossBlock | undefined) => boolean, timeoutMs = 10_000): Promise<MerossBlock> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      try {
        const block = merossBlock(storageDir);
        if (!accept(block)) return false;
        done();
        resolve(block!);
        return true;
      } catch {
        return false; // mid-write
      }
    };
    const watcher = watch(storageDir, () => void check());
    const timer = setTimeout(() => {
      done();
      reject(new Error(`config.json never matched; MerossLan block: ${JSON.stringify(merossBlock(storageDir))}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      watcher.close();
    };
    check();
  });
}

/** The next request the plug receives that matches. */
function nextRequest(plug: SimulatedPlug, accept: (r: RequestRecord) => boolean): Promise<RequestRecord> {
  return new Promise((resolve) => {
    const on = (r: RequestRecord): void => {
      if (!accept(r)) return;
      plug.off('request', on);
      resolve(r);
    };
    plug.on('request', on);
  });
}

function allText(dir: string): string {
  return readdirSync(dir)
    .map((name) => {
      const path = join(dir, name);
      if (name === 'plugins') return ''; // the link to this repository
      return statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'latin1');
    })
    .join('\n');
}

describe('settings UI in homebridge-config-ui-x (real browser)', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let plugs: SimulatedPlug[] = [];
  let ui: ConfigUi | undefined;
  let browser: OfflineBrowser | undefined;
  let hap: HttpClient | undefined;
  let storageDir: string;
  let shots: string;
  let port: number;
  let step = 0;

  /**
   * The dialog only, as a user sees it: the window is made as tall as the dialog (which otherwise scrolls), and
   * with `from` the picture starts at that element and is at most 1000 px high.
   */
  const shoot = async (page: Page, name: string, from?: Locator): Promise<void> => {
    const modal = page.locator('ngb-modal-window .modal-content').first();
    const viewport = page.viewportSize()!;
    const height = await modal.evaluate((el) => el.scrollHeight);
    await page.setViewportSize({ width: viewport.width, height: Math.min(4000, height + 80) });
    let clip = (await modal.boundingBox())!;
    if (from) {
      const top = Math.max(clip.y, (await from.boundingBox())!.y - 24);
      clip = { ...clip, y: top, height: Math.min(1000, clip.y + clip.height - top) };
    }
    await page.screenshot({ path: join(shots, `ui-${++step}-${name}.png`), clip, animations: 'disabled' });
    await page.setViewportSize(viewport);
  };

  beforeAll(async () => {
    cert = makeTestCert();
    const hosts = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24'];
    port = await commonPort(hosts);
    plugs = await Promise.all([
      SimulatedPlug.start({ host: hosts[0], port, key: ACCOUNT_KEY, on: true, watts: 42.5, volts: 231.2, amps: 0.19 }),
      SimulatedPlug.start({ host: hosts[1], port, key: ACCOUNT_KEY, firmware: 1 }),
      SimulatedPlug.start({ host: hosts[2], port, key: ACCOUNT_KEY, on: true, watts: 88 }),
      // Someone else's plug on the same network: found, but its key is unknown.
      SimulatedPlug.start({ host: hosts[3], port, key: 'not-this-account' }),
    ]);
    cloud = await FakeCloud.start(
      [
        {
          email: EMAIL,
          password: PASSWORD,
          key: ACCOUNT_KEY,
          mfaCode: MFA,
          devices: [
            { uuid: plugs[0].uuid, devName: 'Desk lamp' },
            { uuid: plugs[1].uuid, devName: 'Kettle', fmwareVersion: '1.1.18', hdwareVersion: '1.0.0' },
            { uuid: plugs[2].uuid, devName: 'Fridge' },
            { uuid: OFFLINE_UUID, devName: 'Garage heater' },
          ],
        },
      ],
      cert,
    );
    storageDir = makeTempDir('ui-e2e');
    shots = process.env.MEROSS_UI_SCREENSHOTS === '1' ? join(ROOT, 'docs') : join(storageDir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    [ui, browser] = await Promise.all([
      ConfigUi.start({
        storageDir,
        env: { MEROSS_CLOUD_URL: cloud.url, NODE_EXTRA_CA_CERTS: cert.certPath, MEROSS_LAN_SUBNETS: SUBNET },
      }),
      launchOffline(),
    ]);
  });

  afterAll(async () => {
    await hap?.close().catch(() => undefined);
    await browser?.browser.close();
    await ui?.stop();
    await cloud?.stop();
    await Promise.all(plugs.map((p) => p.stop()));
    cert?.cleanup();
  });

  it('signs in with MFA, finds and tests plugs, saves two, and Homebridge then exposes exactly those two', { timeout: 90_000 }, async () => {
    const { page } = browser!;
    const [desk, kettle, fridge] = plugs;
    const frame: FrameLocator = await openPluginSettings(page, ui!.url);
    const button = (name: string) => frame.getByRole('button', { name: new RegExp(`^\\s*${name}\\s*$`, 'i') });

    // 1. Sign in: the account has two-step sign-in, so the first attempt asks for the code.
    await frame.getByLabel('Email').fill(EMAIL);
    await frame.getByLabel('Password').fill(PASSWORD);
    await shoot(page, 'sign-in');
    await button('Sign in').click();
    await expect.poll(() => frame.getByRole('alert').textContent(), POLL).toMatch(/two-step sign-in.*"MFA code"/);
    await frame.getByLabel('MFA code').fill('000000');
    await button('Sign in').click();
    await frame.getByText(/That MFA code was wrong or has expired/).waitFor();
    await shoot(page, 'mfa-code');
    await frame.getByLabel('MFA code').fill(MFA);
    await button('Sign in').click();
    await frame.getByText(`Signed in as ${EMAIL}`).waitFor();
    await frame.getByText(/another region \(127\.0\.0\.1:\d+\); signed in there/).waitFor();

    // 2. Find plugs on the prefilled subnets (MEROSS_LAN_SUBNETS here; the host's own network for users).
    expect(await frame.getByLabel('Subnets').inputValue()).toBe(SUBNET);
    await frame.getByLabel('Port').fill(String(port));
    await button('Find plugs').click();
    await frame.getByText(/Found 4 plugs in 127\.0\.0\.16\/28 \(14 addresses/).waitFor();
    const rows = frame.locator('#rows > tr:not(.test-result)');
    await expect.poll(() => rows.count(), POLL).toBe(5);
    const row = (text: string) => rows.filter({ hasText: text });
    await expect.poll(() => row(desk.uuid).locator('td').allTextContents(), POLL).toEqual(['Use Desk lamp', '', `127.0.0.21:${port}`, desk.uuid, 'MSS310', '2.1.17', 'yes', 'yes', 'Test']);
    expect(await row(desk.uuid).getByRole('textbox').inputValue()).toBe('Desk lamp');
    expect(await row(plugs[3].uuid).locator('td').nth(7).textContent()).toBe('key needed');
    expect(await row(OFFLINE_UUID).locator('td').nth(6).textContent()).toBe('not found');

    // 3. Tick two plugs, and test one: a read reaches the plug; switching waits for a confirmation.
    await frame.getByRole('checkbox', { name: 'Use Desk lamp' }).check();
    await frame.getByRole('checkbox', { name: 'Use Kettle' }).check();
    const read = nextRequest(desk, (r) => r.namespace === 'Appliance.Control.Electricity');
    await frame.getByRole('button', { name: 'Test Desk lamp' }).click();
    expect((await read).method).toBe('GET');
    await frame.getByText(/Desk lamp answers: on · 42\.5 W · 231\.2 V · 0\.19 A/).waitFor();
    await button('Switch off…').click();
    await frame.getByText(/Switch “Desk lamp” off\? Whatever is plugged in .* loses power/).waitFor();
    await shoot(page, 'plugs');
    expect(desk.requests.filter((r) => r.method === 'SET')).toEqual([]);
    const toggled = once(desk, 'toggle');
    await button('Yes, switch off').click();
    expect(await toggled).toEqual([{ on: false, source: 'request', channel: 0 }]);
    await frame.getByText(/Desk lamp answers: off/).waitFor();

    // 4. Save: a normal config block with the two plugs, their keys, and no password anywhere.
    await button('Save').click();
    const saved = await configWhere(storageDir, (b) => b?.devices?.length === 2);
    await frame.getByText('Saved 2 plugs. Restart Homebridge to apply.').waitFor();
    await shoot(page, 'saved');
    expect(saved).toEqual({
      platform: 'MerossLan',
      name: 'Meross',
      devices: [
        { name: 'Desk lamp', host: `127.0.0.21:${port}`, uuid: desk.uuid, key: ACCOUNT_KEY },
        { name: 'Kettle', host: `127.0.0.22:${port}`, uuid: kettle.uuid, key: ACCOUNT_KEY },
      ],
      discovery: { port },
    });
    const cache = JSON.parse(readFileSync(join(storageDir, 'meross-lan', 'cloud.json'), 'utf8')) as Record<string, unknown>;
    expect(cache).toMatchObject({ email: EMAIL, key: ACCOUNT_KEY, token: cloud.issuedTokens.at(-1) });
    expect(allText(storageDir)).not.toContain(PASSWORD);
    expect(ui!.logs.join('\n')).not.toContain(PASSWORD);

    // 5. The schema form shows the same block, and an edit there comes back to the custom UI.
    await button('Show all settings').click();
    // The form's plug names are labelled "Name" (the platform's own is "Name*"); the second plug is the kettle.
    const kettleName = page.locator('ngb-modal-window').getByRole('textbox', { name: 'Name', exact: true }).nth(1);
    await kettleName.waitFor();
    expect(await kettleName.inputValue()).toBe('Kettle');
    await kettleName.fill('Kitchen kettle');
    await expect.poll(() => row(kettle.uuid).getByRole('textbox').inputValue(), POLL).toBe('Kitchen kettle');
    await shoot(page, 'all-settings', page.locator('ngb-modal-window').getByRole('textbox', { name: 'Name*' }));
    await button('Hide all settings').click();
    await button('Save').click();
    const renamed = await configWhere(storageDir, (b) => b?.devices?.[1]?.name === 'Kitchen kettle');
    expect(renamed.devices?.map((d) => d.uuid)).toEqual([desk.uuid, kettle.uuid]);
    expect(renamed.devices?.[1].key).toBe(ACCOUNT_KEY);
    expect(fridge.requests.filter((r) => r.method === 'SET')).toEqual([]);

    // 6. Restart Homebridge (as the UI's restart button does): exactly the two ticked plugs are in HomeKit.
    // The UI server lives only as long as the dialog.
    expect(ui!.running('homebridge-ui/server.js')).toHaveLength(1);
    await page.locator('ngb-modal-window .modal-footer').getByRole('button', { name: /close/i }).click();
    // config-ui-x would SIGTERM it after 5 s; it must go by itself well before that.
    expect(await ui!.gone('homebridge-ui/server.js', 3000)).toBe(true);
    await ui!.restartHomebridge();
    await ui!.waitForLog(/Watching 2 Meross plugs/, 20_000);
    hap = new HapClient(ui!.bridge.username, '127.0.0.1', ui!.bridge.port, undefined, { usePersistentConnections: true });
    await hap.pairSetup(ui!.bridge.pin);
    const exposed = await accessories(hap);
    expect(exposed.map((a) => [a.info(TYPES.SerialNumber), a.info(TYPES.Name)]).sort()).toEqual(
      [
        [desk.uuid, 'Desk lamp'],
        [kettle.uuid, 'Kitchen kettle'],
      ].sort(),
    );
    expect(ui!.logs.filter((l) => /\[Meross\].*Config:/.test(l))).toEqual([]);
    expect(browser!.blocked).toEqual([]);
  });
});
