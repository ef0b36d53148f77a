/**
 * Several child bridges share `<storage>/meross-lan/cloud.json`. Real separate Node processes (the built plugin's
 * CloudAccount, real fetch) against the fake cloud on loopback: when the shared token dies in all of them at once,
 * they end with one live token on the account, stored in the file and used by all, and none stores a token over
 * one another process just stored.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCloudCache, updateCloudCache, type CloudCache } from '../../src/cloud';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const DIST_CLOUD = join(__dirname, '..', '..', 'dist', 'cloud', 'index.js');

/** One "bridge": waits for a line on stdin, refreshes once, prints what it got as one JSON line. */
const BRIDGE = `
const { CloudAccount } = require(process.env.DIST_CLOUD);
const quiet = () => undefined;
const problems = [];
const log = { info: quiet, debug: quiet, warn: (m) => problems.push(m), error: (m) => problems.push(m) };
process.stdin.once('data', async () => {
  const account = new CloudAccount({
    email: 'shared@example.com', password: 'pw-shared', baseUrl: process.env.CLOUD_URL,
    pluginDir: process.env.PLUGIN_DIR, storagePath: process.env.PLUGIN_DIR, log, timeoutMs: 5000,
  });
  const state = await account.refresh();
  process.stdout.write(JSON.stringify({ source: state.source, key: state.key, problems }) + '\\n');
  process.stdin.pause();
});
`;

describe('cloud.json shared by several bridge processes', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let dir: string;

  beforeAll(async () => {
    cert = makeTestCert();
    cloud = await FakeCloud.start([{ email: 'shared@example.com', password: 'pw-shared', key: 'shared-key', devices: [] }], cert);
    dir = mkdtempSync(join(tmpdir(), 'meross-shared-'));
  });

  afterAll(async () => {
    await cloud.stop();
    cert.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `n` bridge processes, lets them all refresh at once, and returns what each printed. */
  async function bridges(n: number): Promise<Array<{ source: string; key: string; problems: string[] }>> {
    const env = { ...process.env, DIST_CLOUD, CLOUD_URL: cloud.url, PLUGIN_DIR: join(dir, 'meross-lan'), NODE_EXTRA_CA_CERTS: cert.certPath };
    const children = Array.from({ length: n }, () => spawn(process.execPath, ['-e', BRIDGE], { env, stdio: ['pipe', 'pipe', 'inherit'] }));
    const outputs = children.map((child) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      return once(child, 'close').then(() => JSON.parse(out) as { source: string; key: string; problems: string[] });
    });
    // All of them start their refresh together.
    for (const child of children) child.stdin.end('go\n');
    return Promise.all(outputs);
  }

  it('the first sign-in by three bridges at once leaves one live token, in the file', async () => {
    const results = await bridges(3);
    expect(results.map((r) => [r.source, r.key, r.problems])).toEqual(Array.from({ length: 3 }, () => ['cloud', 'shared-key', []]));
    const stored = readCloudCache(join(dir, 'meross-lan'));
    expect(cloud.liveTokens('shared@example.com')).toEqual([stored?.token]);
  });

  it.each([1022, 1200, 1301])('a shared token dying (%i) in three bridges at once is replaced by exactly one', async (status) => {
    const before = readCloudCache(join(dir, 'meross-lan'))?.token;
    cloud.killTokens(status);
    const results = await bridges(3);
    // Each bridge lists devices with a live token: none has its token logged out under it by another.
    expect(results.map((r) => [r.source, r.problems])).toEqual(Array.from({ length: 3 }, () => ['cloud', []]));
    const stored = readCloudCache(join(dir, 'meross-lan'));
    expect(stored?.token).not.toBe(before);
    expect(cloud.liveTokens('shared@example.com')).toEqual([stored?.token]);
    // The survivor is the token every bridge listed devices with last: nobody overwrote it afterwards.
    const lastLists = cloud.requests.filter((r) => r.path === '/v1/Device/devList' && r.apiStatus === 0).slice(-3);
    expect(lastLists.map((r) => r.authorization)).toContain(`Basic ${stored?.token}`);
  });
});

describe('cloud.json.lock', () => {
  const record = (token: string): CloudCache => ({ version: 1, email: 'a@example.com', base: 'https://127.0.0.1:1', token, devices: [] });

  it('a change waits while another process holds the lock, then reads what that process wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meross-lock-'));
    try {
      const pluginDir = join(dir, 'meross-lan');
      mkdirSync(pluginDir, { mode: 0o700 });
      writeFileSync(join(pluginDir, 'cloud.json.lock'), '1', { mode: 0o600 });
      let seen: string | undefined = 'not yet';
      const change = updateCloudCache(pluginDir, (current) => {
        seen = current?.token;
        return { ...record('mine'), devices: current?.devices ?? [] };
      });
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toBe('not yet');
      // The other process writes its token and lets go.
      writeFileSync(join(pluginDir, 'cloud.json'), JSON.stringify(record('theirs')));
      unlinkSync(join(pluginDir, 'cloud.json.lock'));
      await change;
      expect(seen).toBe('theirs');
      expect(readCloudCache(pluginDir)?.token).toBe('mine');
      expect(existsSync(join(pluginDir, 'cloud.json.lock'))).toBe(false);
      expect(statSync(join(pluginDir, 'cloud.json')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lock left by a process that died long ago is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meross-lock-'));
    try {
      const pluginDir = join(dir, 'meross-lan');
      mkdirSync(pluginDir, { mode: 0o700 });
      const lockFile = join(pluginDir, 'cloud.json.lock');
      writeFileSync(lockFile, '1');
      const old = new Date(Date.now() - 10 * 60_000);
      utimesSync(lockFile, old, old);
      await updateCloudCache(pluginDir, () => record('after'));
      expect(readCloudCache(pluginDir)?.token).toBe('after');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
