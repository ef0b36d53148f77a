import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudAccount, readCloudCache, transportWithCa, type CloudAccountOptions, type CloudTransport } from '../../src/cloud';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const DEVICES = [
  { uuid: '2009113111806125175848e1e9000001', devName: 'Desk lamp' },
  { uuid: '2009113111806125175848e1e9000002', devName: 'Kettle' },
];
const SECRETS = ['pw-plain', 'pw-mfa', 'account-key-1', 'mfa-key'];

class Log {
  readonly lines: Array<[string, string]> = [];
  info = (m: string): void => void this.lines.push(['info', m]);
  warn = (m: string): void => void this.lines.push(['warn', m]);
  error = (m: string): void => void this.lines.push(['error', m]);
  debug = (m: string): void => void this.lines.push(['debug', m]);
  text(): string {
    return this.lines.map(([level, m]) => `${level}: ${m}`).join('\n');
  }
}

describe('cloud account: sign-in, cache and fallbacks', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let transport: CloudTransport;
  let dir: string;
  let log: Log;
  const account = (overrides: Partial<CloudAccountOptions> = {}): CloudAccount =>
    new CloudAccount({
      email: 'plain@example.com',
      password: 'pw-plain',
      baseUrl: cloud.url,
      pluginDir: join(dir, 'meross-lan'),
      storagePath: dir,
      log,
      transport,
      timeoutMs: 5000,
      ...overrides,
    });
  const signIns = (): number => cloud.requests.filter((r) => r.path === '/v1/Auth/signIn' && r.apiStatus === 0).length;

  beforeAll(async () => {
    cert = makeTestCert();
    transport = transportWithCa(cert.cert);
    cloud = await FakeCloud.start(
      [
        { email: 'plain@example.com', password: 'pw-plain', key: 'account-key-1', devices: DEVICES },
        { email: 'mfa@example.com', password: 'pw-mfa', key: 'mfa-key', mfaCode: '123456', devices: [] },
      ],
      cert,
    );
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meross-cloud-account-'));
    log = new Log();
  });

  afterAll(async () => {
    await cloud.stop();
    cert.cleanup();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signs in once, caches token, key and devices in a 0600 file, then reuses the token', async () => {
    const before = signIns();
    const state = await account().refresh();
    expect(state).toMatchObject({ key: 'account-key-1', source: 'cloud' });
    expect(state.devices.map((d) => d.name)).toEqual(['Desk lamp', 'Kettle']);
    expect(signIns()).toBe(before + 1);

    const file = join(dir, 'meross-lan', 'cloud.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'meross-lan')).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('pw-plain');
    const cache = readCloudCache(join(dir, 'meross-lan'));
    expect(cache).toMatchObject({ email: 'plain@example.com', base: cloud.url, domain: cloud.regionUrl, key: 'account-key-1' });
    expect(cloud.issuedTokens).toContain(cache?.token);

    // A restart: the stored token lists the devices, no new sign-in (no password needed at all).
    const again = await account({ password: undefined }).refresh();
    expect(again.source).toBe('cloud');
    expect(signIns()).toBe(before + 1);
    expect(account().cached()).toMatchObject({ key: 'account-key-1', source: 'cache' });
    for (const secret of [...SECRETS, cache?.token ?? 'x']) expect(log.text()).not.toContain(secret);
  });

  it('signs in again with the password when the token expired', async () => {
    await account().refresh();
    cloud.expireTokens();
    const before = signIns();
    const state = await account().refresh();
    expect(state.source).toBe('cloud');
    expect(signIns()).toBe(before + 1);
    expect(log.lines.filter(([level]) => level === 'warn' || level === 'error')).toEqual([]);
  });

  it('without a password, an expired token means: keep the cache and say so once', async () => {
    await account().refresh();
    cloud.expireTokens();
    const acct = account({ password: undefined });
    const first = await acct.refresh();
    const second = await acct.refresh();
    expect(first).toMatchObject({ key: 'account-key-1', source: 'cache' });
    expect(second.devices).toHaveLength(2);
    const warnings = log.lines.filter(([level]) => level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0][1]).toMatch(/the stored sign-in has expired; add "cloud.password" or run `meross-lan login --email plain@example.com -U .+`\. Using the 2 devices and the key remembered/);
    // The dead token is dropped from the file.
    expect(readCloudCache(join(dir, 'meross-lan'))?.token).toBeUndefined();
  });

  it('works from the cache while the cloud is down, says so once, and notices when it is back', async () => {
    await account().refresh();
    await cloud.down();
    const acct = account();
    try {
      const a = await acct.refresh();
      const b = await acct.refresh();
      expect(a).toMatchObject({ source: 'cache', key: 'account-key-1' });
      expect(b.source).toBe('cache');
      const warnings = log.lines.filter(([level]) => level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0][1]).toMatch(/cannot reach the Meross cloud at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Using the 2 devices .*local control is not affected/);
    } finally {
      await cloud.up();
    }
    expect((await acct.refresh()).source).toBe('cloud');
    expect(log.lines.at(-1)).toEqual(['info', 'Meross cloud: reachable again; keys and names are up to date.']);
  });

  it('tells the user how to finish an MFA sign-in, and keeps going without the cloud', async () => {
    const state = await account({ email: 'mfa@example.com', password: 'pw-mfa' }).refresh();
    expect(state).toEqual({ key: undefined, devices: [], source: 'none' });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0][0]).toBe('error');
    expect(log.lines[0][1]).toBe(
      `Meross cloud: MFA required: run \`meross-lan login --email mfa@example.com -U ${dir}\` once in a terminal to finish signing in with your one-time code, then restart Homebridge. Local control of configured plugs is not affected.`,
    );
  });

  it('reports a wrong password in one line', async () => {
    await account({ password: 'wrong' }).refresh();
    expect(log.lines).toEqual([['error', expect.stringMatching(/^Meross cloud: sign-in failed: wrong email or password\. Check "cloud\.email" and "cloud\.password"\./)]]);
    expect(log.text()).not.toContain('wrong"');
  });

  it("never uses another account's cache, and survives a corrupt file", async () => {
    await account().refresh();
    expect(account({ email: 'someone@example.com', password: undefined }).cached()).toEqual({ key: undefined, devices: [], source: 'none' });
    writeFileSync(join(dir, 'meross-lan', 'cloud.json'), '{"version":1,"email":');
    const acct = account();
    expect(acct.cached().source).toBe('none');
    expect(log.lines.filter(([l]) => l === 'warn')).toEqual([['warn', expect.stringMatching(/cloud\.json\) is unreadable; ignoring it/)]]);
    // Signing in again replaces the corrupt file.
    expect((await acct.refresh()).source).toBe('cloud');
    expect(readCloudCache(join(dir, 'meross-lan'))?.key).toBe('account-key-1');
  });
});
