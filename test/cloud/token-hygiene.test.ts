/**
 * Cloud token hygiene, as the peers do it: every sign-in that replaces a token logs the old one out, `meross-lan
 * logout` ends the stored one, a token the cloud calls dead is never tried twice, and several processes sharing
 * cloud.json keep each other's tokens. Real HTTPS against the fake cloud on loopback; the CLI runs as a process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CloudAccount,
  CloudApi,
  cloudCacheRecord,
  cloudStatusError,
  readCloudCache,
  transportWithCa,
  updateCloudCache,
  type CloudAccountOptions,
  type CloudTransport,
} from '../../src/cloud';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const BASE_ENV: Record<string, string | undefined> = { ...process.env };
delete BASE_ENV.MEROSS_CLOUD_URL;
delete BASE_ENV.NODE_EXTRA_CA_CERTS;
const DEVICE = { uuid: '2009113111806125175848e1e9000001', devName: 'Desk lamp' };

async function run(args: string[], input: string, env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

class Log {
  readonly lines: Array<[string, string]> = [];
  info = (m: string): void => void this.lines.push(['info', m]);
  warn = (m: string): void => void this.lines.push(['warn', m]);
  error = (m: string): void => void this.lines.push(['error', m]);
  debug = (m: string): void => void this.lines.push(['debug', m]);
}

let cert: TestCert;
let cloud: FakeCloud;
let transport: CloudTransport;
const dirs: string[] = [];
const storage = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'meross-tokens-'));
  dirs.push(dir);
  return dir;
};
const env = (): Record<string, string> => ({ MEROSS_CLOUD_URL: cloud.url, NODE_EXTRA_CA_CERTS: cert.certPath });
const cacheFile = (dir: string): string => join(dir, 'meross-lan', 'cloud.json');

beforeAll(async () => {
  cert = makeTestCert();
  transport = transportWithCa(cert.cert);
  cloud = await FakeCloud.start(
    [
      { email: 'cli@example.com', password: 'pw-cli', key: 'cli-key', devices: [DEVICE] },
      { email: 'refused@example.com', password: 'pw-refused', key: 'refused-key', devListStatus: 1043, devices: [DEVICE] },
      { email: 'nokey@example.com', password: 'pw-nokey', key: '', devices: [] },
      { email: 'acct@example.com', password: 'pw-acct', key: 'acct-key', devices: [DEVICE] },
      { email: 'limited@example.com', password: 'pw-limited', key: 'limited-key', maxTokens: 1, devices: [DEVICE] },
    ],
    cert,
  );
});

afterAll(async () => {
  await cloud.stop();
  cert.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('fake cloud follows the peers', () => {
  it('signs in without an Authorization header (as meross_lan), answers mfaLockExpire, and ends a token on logout', async () => {
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    const noAuth: CloudTransport = (url, body, headers, timeoutMs) => {
      const rest = { ...headers };
      delete rest.Authorization;
      return url.pathname === '/v1/Auth/signIn' ? transport(url, body, rest, timeoutMs) : transport(url, body, headers, timeoutMs);
    };
    const session = await new CloudApi({ baseUrl: cloud.url, transport: noAuth, timeoutMs: 5000 }).signIn({ email: 'acct@example.com', password: 'pw-acct' });
    expect(cloud.requests.at(-1)).toMatchObject({ path: '/v1/Auth/signIn', authorization: undefined, apiStatus: 0 });
    expect(cloud.liveTokens()).toContain(session.token);
    await api.logout(session);
    expect(cloud.requests.at(-1)).toMatchObject({ path: '/v1/Profile/Logout', authorization: `Basic ${session.token}`, apiStatus: 0, signOk: true });
    expect(cloud.liveTokens()).not.toContain(session.token);
    await expect(api.devices(session)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED', apiStatus: 1019 });
    await expect(api.logout(session)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('never sends an empty mfaCode', async () => {
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    const session = await api.signIn({ email: 'acct@example.com', password: 'pw-acct', mfaCode: '' });
    expect(Object.keys(cloud.requests.at(-1)?.data ?? {})).not.toContain('mfaCode');
    await api.logout(session);
  });

  it('refuses a sign-in reply with an empty key, naming the field and nothing else', async () => {
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    await expect(api.signIn({ email: 'nokey@example.com', password: 'pw-nokey' })).rejects.toMatchObject({
      code: 'BAD_REPLY',
      message: 'the Meross cloud accepted the sign-in but sent an empty "key"',
    });
    for (const field of ['userid', 'email', 'token']) {
      const reply = { apiStatus: 0, data: { userid: '1', email: 'a@b.c', key: 'k', token: 't', domain: cloud.url, [field]: '' } };
      const fake: CloudTransport = async () => ({ status: 200, body: JSON.stringify(reply) });
      await expect(new CloudApi({ baseUrl: cloud.url, transport: fake }).signIn({ email: 'a@b.c', password: 'x' })).rejects.toMatchObject({
        code: 'BAD_REPLY',
        message: `the Meross cloud accepted the sign-in but sent an empty "${field}"`,
      });
    }
  });

  it('names every status the peers name instead of "refused (status N)"', () => {
    for (const status of [1001, 1002, 1003, 1004, 1005, 1006, 1008, 1019, 1022, 1028, 1030, 1031, 1032, 1033, 1035, 1041, 1042, 1043, 1200, 1201, 1301]) {
      expect(cloudStatusError(status).message, String(status)).not.toMatch(/refused the request \(status/);
    }
    expect(cloudStatusError(1006).message).toMatch(/bad password format/);
    expect(cloudStatusError(1031).message).toMatch(/user name does not match/);
    expect(cloudStatusError(1041).message).toMatch(/repeated check-in/);
    expect(cloudStatusError(1043).message).toMatch(/access to this resource is denied/);
    expect(cloudStatusError(1201).message).toMatch(/could not issue a sign-in token/);
    expect(cloudStatusError(1301)).toMatchObject({ code: 'TOO_MANY_TOKENS' });
    expect(cloudStatusError(4242, 'odd').message).toBe('the Meross cloud refused the request (status 4242: odd)');
  });
});

describe('meross-lan login and logout leave no stray token', () => {
  it('a second login logs out the first token: exactly one live token; logout leaves none and forgets cloud.json', async () => {
    const dir = storage();
    const first = await run(['login', '--email', 'cli@example.com', '-U', dir], 'pw-cli\n', env());
    expect(first.code).toBe(0);
    expect(cloud.liveTokens('cli@example.com')).toHaveLength(1);
    const second = await run(['login', '--email', 'cli@example.com', '-U', dir], 'pw-cli\n', env());
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('The sign-in stored there before was signed out at the Meross cloud.');
    const live = cloud.liveTokens('cli@example.com');
    expect(live).toEqual([readCloudCache(join(dir, 'meross-lan'))?.token]);
    expect(statSync(cacheFile(dir)).mode & 0o777).toBe(0o600);

    const out = await run(['logout', '-U', dir], '', env());
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toBe(`Signed out at the Meross cloud.\nForgot ${cacheFile(dir)} (token, device key and plug list of cli@example.com).\n`);
    expect(cloud.liveTokens('cli@example.com')).toEqual([]);
    expect(existsSync(cacheFile(dir))).toBe(false);
    for (const secret of ['pw-cli', 'cli-key', ...cloud.issuedTokens]) expect(first.stdout + first.stderr + second.stdout + second.stderr + out.stdout).not.toContain(secret);

    const again = await run(['logout', '--storage', dir], '', env());
    expect(again).toMatchObject({ code: 0, stdout: `Not signed in: there is no ${cacheFile(dir)}.\n` });
  });

  it('logout of a token the cloud already dropped still forgets the file; an unreachable cloud keeps it', async () => {
    const dir = storage();
    expect((await run(['login', '--email', 'cli@example.com', '-U', dir], 'pw-cli\n', env())).code).toBe(0);
    await cloud.down();
    try {
      const offline = await run(['logout', '-U', dir], '', env());
      expect(offline.code).toBe(1);
      expect(offline.stderr).toMatch(/^meross-lan: logout failed: cannot reach the Meross cloud at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); .*cloud\.json was kept, run meross-lan logout again later\n$/);
      expect(existsSync(cacheFile(dir))).toBe(true);
    } finally {
      await cloud.up();
    }
    cloud.expireTokens();
    const out = await run(['logout', '-U', dir], '', env());
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^The stored sign-in had already expired at the Meross cloud\.\nForgot /);
    expect(existsSync(cacheFile(dir))).toBe(false);
  });

  it('fails, stores nothing and logs the new token out when the device list right after sign-in is refused', async () => {
    const dir = storage();
    const result = await run(['login', '--email', 'refused@example.com', '-U', dir], 'pw-refused\n', env());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Meross password: \nmeross-lan: login failed: the Meross cloud accepted the sign-in but then refused the device list (the Meross cloud refused: access to this resource is denied); nothing was stored\n',
    );
    expect(existsSync(cacheFile(dir))).toBe(false);
    expect(cloud.liveTokens('refused@example.com')).toEqual([]);
    expect(cloud.loggedOutTokens.length).toBeGreaterThan(0);
  });

  it('refuses an empty key in the sign-in reply with a clear error', async () => {
    const dir = storage();
    const result = await run(['login', '--email', 'nokey@example.com', '-U', dir], 'pw-nokey\n', env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('meross-lan: login failed: the Meross cloud accepted the sign-in but sent an empty "key"; nothing was stored');
    expect(existsSync(cacheFile(dir))).toBe(false);
  });

  it('logout has its own help and refuses stray arguments', async () => {
    expect((await run(['logout', '--help'], '', {})).stdout).toMatch(/^Usage: meross-lan logout \[-U\|--storage DIR\]/);
    expect(await run(['logout', 'now'], '', {})).toMatchObject({ code: 2, stderr: 'meross-lan: logout takes no arguments besides options (got 1 more) (see meross-lan logout --help)\n' });
    expect((await run(['--help'], '', {})).stdout).toMatch(/\n {2}logout {5}sign the stored Meross sign-in out and forget it\n/);
  });
});

describe('the platform account: dead tokens, re-sign-in and shared cloud.json', () => {
  let dir: string;
  let log: Log;
  const account = (overrides: Partial<CloudAccountOptions> = {}): CloudAccount =>
    new CloudAccount({
      email: 'acct@example.com',
      password: 'pw-acct',
      baseUrl: cloud.url,
      pluginDir: join(dir, 'meross-lan'),
      storagePath: dir,
      log,
      transport,
      timeoutMs: 5000,
      ...overrides,
    });
  const calls = (path: string, token?: string): number =>
    cloud.requests.filter((r) => r.path === path && (token === undefined || r.authorization === `Basic ${token}`)).length;

  beforeEach(() => {
    dir = storage();
    log = new Log();
    // Start every case from no live token for the account.
    cloud.killTokens(1200);
  });

  it.each([1003, 1019, 1022, 1200, 1301])('signs in again on dead-token status %i, tries the dead token once, leaves exactly one live token', async (status) => {
    expect((await account().refresh()).source).toBe('cloud');
    const old = readCloudCache(join(dir, 'meross-lan'))?.token ?? '';
    cloud.killTokens(status);
    const signInsBefore = calls('/v1/Auth/signIn');
    const state = await account().refresh();
    expect(state).toMatchObject({ source: 'cloud', key: 'acct-key' });
    expect(calls('/v1/Device/devList', old)).toBe(2);
    expect(calls('/v1/Auth/signIn') - signInsBefore).toBeGreaterThanOrEqual(1);
    const stored = readCloudCache(join(dir, 'meross-lan'))?.token;
    expect(cloud.liveTokens('acct@example.com')).toEqual([stored]);
    expect(log.lines.filter(([level]) => level !== 'debug')).toEqual([]);
    // The dead token is never tried again.
    await account().refresh();
    expect(calls('/v1/Device/devList', old)).toBe(2);
  });

  it('a re-sign-in replacing a live token (another cloud URL stored) logs it out: one live token', async () => {
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    const other = await api.signIn({ email: 'acct@example.com', password: 'pw-acct' });
    // A token from a different base URL is never sent to this one's devList, so this is a real re-sign-in.
    await updateCloudCache(join(dir, 'meross-lan'), () => ({ ...cloudCacheRecord({ email: 'acct@example.com', base: cloud.regionUrl, session: other }) }));
    expect(cloud.liveTokens('acct@example.com')).toHaveLength(1);
    expect((await account().refresh()).source).toBe('cloud');
    expect(cloud.liveTokens('acct@example.com')).toEqual([readCloudCache(join(dir, 'meross-lan'))?.token]);
    expect(cloud.loggedOutTokens).toContain(other.token);
  });

  it('never retries a fresh token that the device list refuses', async () => {
    const acct = account({ email: 'refused@example.com', password: 'pw-refused' });
    cloud.accounts[1].devListStatus = 1022;
    try {
      const before = calls('/v1/Auth/signIn');
      const state = await acct.refresh();
      // The account key from the sign-in is kept (it signs the plugs); the refused token is not.
      expect(state).toMatchObject({ source: 'cache', key: 'refused-key' });
      expect(calls('/v1/Auth/signIn') - before).toBe(2); // the 1030 redirect and the sign-in itself: one attempt
      expect(cloud.liveTokens('refused@example.com')).toEqual([]);
      expect(readCloudCache(join(dir, 'meross-lan'))?.token).toBeUndefined();
      expect(log.lines.filter(([level]) => level === 'error' || level === 'warn')).toHaveLength(1);
    } finally {
      cloud.accounts[1].devListStatus = 1043;
    }
  });

  it('a token another process stored while this one found its own dead is used, not replaced', async () => {
    expect((await account().refresh()).source).toBe('cloud');
    cloud.killTokens(1200);
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    // The other process: it signs in and stores its token right while this one's devList is on the wire.
    let raced = false;
    const racing: CloudTransport = async (url, body, headers, timeoutMs) => {
      const reply = await transport(url, body, headers, timeoutMs);
      if (!raced && url.pathname === '/v1/Device/devList') {
        raced = true;
        const session = await api.signIn({ email: 'acct@example.com', password: 'pw-acct' });
        await updateCloudCache(join(dir, 'meross-lan'), (current) => cloudCacheRecord({ email: 'acct@example.com', base: cloud.url, session, previous: current }));
      }
      return reply;
    };
    const signInsBefore = calls('/v1/Auth/signIn');
    const state = await account({ transport: racing }).refresh();
    expect(state.source).toBe('cloud');
    // Only the other process signed in (redirect + sign-in).
    expect(calls('/v1/Auth/signIn') - signInsBefore).toBe(2);
    expect(cloud.liveTokens('acct@example.com')).toEqual([readCloudCache(join(dir, 'meross-lan'))?.token]);
  });

  it('two bridges finding the same token dead at once end with one live token, stored for both', async () => {
    expect((await account().refresh()).source).toBe('cloud');
    cloud.killTokens(1022);
    const [a, b] = await Promise.all([account().refresh(), account().refresh()]);
    expect(a.source).toBe('cloud');
    expect(b.source).toBe('cloud');
    const stored = readCloudCache(join(dir, 'meross-lan'));
    expect(cloud.liveTokens('acct@example.com')).toEqual([stored?.token]);
    expect(stored?.devices.map((d) => d.name)).toEqual(['Desk lamp']);
  });

  it('does not pile up tokens: an account limited to one token keeps signing in fine', async () => {
    const limited = (): CloudAccount => account({ email: 'limited@example.com', password: 'pw-limited' });
    for (let i = 0; i < 3; i++) {
      expect((await limited().refresh()).source).toBe('cloud');
      cloud.killTokens(1019);
    }
    expect(cloud.liveTokens('limited@example.com')).toEqual([]);
    expect(log.lines.filter(([level]) => level === 'error' || level === 'warn')).toEqual([]);
    expect(readFileSync(cacheFile(dir), 'utf8')).not.toContain('pw-limited');
  });
});
