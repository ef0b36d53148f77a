/**
 * Secret hygiene, end to end: with known device keys (`SECRET-KEY-…`), run Homebridge with debug logging through
 * wrong keys and every kind of plug fault, run the CLI against good and bad plugs, and make the library throw
 * every error it has; then search everything printed, thrown and written for the keys. Also: the plugin opens no
 * listening socket of its own, and the files it writes in its storage folder are readable by the owner only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inspect, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { MerossClient } from '../../src/meross/client';
import { SimulatedPlug, type Fault } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { accessoryBySerial, readOne, TYPES, write } from '../e2e/hap';
import { Homebridge, nodeFor, ROOT } from '../e2e/homebridge';
import { crashLines } from '../e2e/stats';

const run = promisify(execFile);
const secret = (name: string): string => `SECRET-KEY-${name}-${randomBytes(6).toString('hex').toUpperCase()}`;

const KEYS = {
  platform: secret('PLATFORM'),
  own: secret('OWN'),
  plugC: secret('PLUGC'),
  wrong: secret('WRONG'),
  cli: secret('CLI'),
};
const ALL_SECRETS = Object.values(KEYS);

/** Every secret, and a distinctive piece of each (a truncated or re-encoded key would still give itself away). */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const key of ALL_SECRETS) {
    const tail = key.slice(-12);
    if (text.includes(key) || text.includes(tail) || text.includes(Buffer.from(key).toString('base64').slice(0, 16))) found.push(key);
  }
  return found;
}

const FAULTS: Fault[] = [
  { type: 'hang' },
  { type: 'garbage' },
  { type: 'reset' },
  { type: 'oversize' },
  { type: 'wrong-uuid' },
  { type: 'unsynced-clock' },
  { type: 'every-other' },
  { type: 'delay', ms: 1500 },
  { type: 'offline' },
];

describe('secrets never leave the plugin, and it keeps to itself', () => {
  const sims: SimulatedPlug[] = [];
  let a: SimulatedPlug;
  let b: SimulatedPlug;
  let c: SimulatedPlug;
  let hb: Homebridge;
  let hap: HttpClient;
  let listening: Sockets = { tcp: [], udp: [], hapConnections: 0 };
  let storageDir = '';

  beforeAll(async () => {
    [a, b, c] = await Promise.all([
      SimulatedPlug.start({ firmware: 2, key: KEYS.platform, on: true }),
      SimulatedPlug.start({ firmware: 1, key: KEYS.own }),
      SimulatedPlug.start({ firmware: 2, key: KEYS.plugC }),
    ]);
    sims.push(a, b, c);
    hb = await Homebridge.start({
      debug: true,
      platform: {
        key: KEYS.platform,
        pollInterval: 1,
        energyPollInterval: 1,
        timeout: 1,
        devices: [
          { name: 'Plug A', host: a.address },
          { name: 'Plug B', host: b.address, key: KEYS.own },
          // Configured with a key the plug does not have.
          { name: 'Plug C', host: c.address, key: KEYS.wrong, uuid: c.uuid },
        ],
      },
    });
    storageDir = hb.storageDir;
    await Promise.all(['Plug A', 'Plug B'].map((n) => hb.waitForLog(new RegExp(`${n}: added to HomeKit`))));
    await hb.waitForLog(/Plug C: .*rejected the device key/);
    hap = await hb.pair();
    const onA = (await accessoryBySerial(hap, a.uuid)).id(TYPES.Outlet, TYPES.On);
    const onC = (await accessoryBySerial(hap, c.uuid)).id(TYPES.Outlet, TYPES.On);
    expect(await write(hap, onC, true)).toBe(-70402);

    // Every fault on plug A in turn, with a toggle in each: whatever is logged on the way is searched below.
    for (const fault of FAULTS) {
      // A busy machine can make a healthy plug miss its 1 s timeout; each fault starts from a plug that answers, or
      // its "No Response" line would not be said again.
      for (let i = 0; i < 60 && ((await readOne(hap, onA)).status ?? 0) !== 0; i++) await new Promise((r) => setTimeout(r, 250));
      const mark = hb.logs.length;
      await a.setFault(fault);
      if (fault.type === 'unsynced-clock' || fault.type === 'every-other') await hb.waitForLog(/Plug A: /, 5000, mark).catch(() => undefined);
      else await hb.waitForLog(/Plug A: .*(No Response until|a different Meross device)/, 10_000, mark);
      await write(hap, onA, !a.isOn);
      const back = hb.logs.length;
      await a.setFault(null);
      if (fault.type !== 'unsynced-clock' && fault.type !== 'every-other') await hb.waitForLog(/Plug A: back online/, 10_000, back);
    }
    expect((await readOne(hap, onA)).status ?? 0).toBe(0);
    listening = sockets(hb.pid!, hb.port);
  }, 120_000);

  afterAll(async () => {
    await hap?.close();
    // Keep the storage: the file checks below run on what Homebridge left behind, after it saved on shutdown.
    await hb?.stop({ keepStorage: true });
    await Promise.all(sims.map((s) => s.stop()));
    if (storageDir) rmSync(storageDir, { recursive: true, force: true });
  });

  it('Homebridge log (debug level, wrong keys, every fault) holds no key, and no crash', () => {
    expect(leaks(`a line with ${KEYS.own.slice(-12)} in it`), 'the search itself works').toEqual([KEYS.own]);
    expect(hb.logs.length).toBeGreaterThan(50);
    expect(hb.logs.some((l) => l.includes('[Meross]') && /debug|attempt|Multiple|meter read/.test(l)), 'debug lines were captured').toBe(true);
    expect(leaks(hb.logs.join('\n'))).toEqual([]);
    expect(crashLines(hb.logs)).toEqual([]);
  });

  it('the plugin listens on no port of its own: only the HAP port (and mDNS) are open in Homebridge', () => {
    expect(listening.tcp.some((l) => l.port === hb.port)).toBe(true);
    // Besides it, HAP-NodeJS opens one loopback-only HTTP server per controller connection (it proxies the decrypted
    // requests through it): 127.0.0.1, never reachable from the network, and no more of them than HAP connections.
    const others = listening.tcp.filter((l) => l.port !== hb.port);
    expect(others.filter((l) => !l.loopback), 'no other listener reachable from the network').toEqual([]);
    expect(others.length).toBeLessThanOrEqual(listening.hapConnections);
    // ciao, Homebridge's mDNS advertiser, is the only one with UDP sockets, all on 5353.
    expect(listening.udp.filter((p) => p !== 5353)).toEqual([]);
  });

  it('the library never puts the key into an error: message, stack, JSON or inspect()', async () => {
    const texts: string[] = [];
    const plug = await SimulatedPlug.start({ firmware: 2, key: KEYS.cli });
    sims.push(plug);
    const attempts: Array<{ key: string; fault: Fault | null }> = [
      { key: KEYS.wrong, fault: null },
      ...FAULTS.map((fault) => ({ key: KEYS.cli, fault })),
    ];
    let errors = 0;
    for (const { key, fault } of attempts) {
      await plug.setFault(fault);
      const client = new MerossClient({ host: plug.address, key, timeoutMs: 300, uuid: fault?.type === 'wrong-uuid' ? plug.uuid : undefined });
      for (const call of [() => client.systemAll(), () => client.poll(), () => client.setOn(true), () => client.consumption()]) {
        try {
          await call();
        } catch (error) {
          errors++;
          texts.push(String(error), (error as Error).stack ?? '', JSON.stringify(error), inspect(error, { depth: 5, showHidden: true }));
        }
      }
    }
    await plug.setFault(null);
    expect(errors, 'the scenarios did produce errors').toBeGreaterThan(20);
    expect(leaks(texts.join('\n'))).toEqual([]);
  });

  it('the CLI prints no key, whether the key is wrong, right, or the plug is faulty', async () => {
    const cli = join(ROOT, 'dist', 'cli.js');
    expect(existsSync(cli), 'npm test builds dist/ before the tests run').toBe(true);
    const plug = await SimulatedPlug.start({ firmware: 2, key: KEYS.cli });
    sims.push(plug);
    const node = nodeFor('v2');
    const runs: Array<{ args: string[]; env?: Record<string, string>; fault?: Fault }> = [
      { args: ['info', '--host', plug.address, '--key', KEYS.wrong] },
      { args: ['info', '--host', plug.address, '--key', KEYS.wrong, '--json'] },
      { args: ['info', '--host', plug.address], env: { MEROSS_KEY: KEYS.wrong } },
      { args: ['info', '--host', plug.address, '--key', KEYS.cli] },
      { args: ['on', '--host', plug.address, '--key', KEYS.wrong] },
      { args: ['toggle', '--host', plug.address, '--key', KEYS.cli, '--json'] },
      { args: ['info', '--host', plug.address, '--key', KEYS.cli, '--timeout', '1'], fault: { type: 'hang' } },
      { args: ['info', '--host', plug.address, '--key', KEYS.cli], fault: { type: 'garbage' } },
      { args: ['info', '--host', plug.address, '--key', KEYS.cli], fault: { type: 'wrong-uuid' } },
      { args: ['info', '--host', 'not a host', '--key', KEYS.cli] },
      { args: ['info', '--host', plug.address, '--key', KEYS.cli, '--timeout', 'soon'] },
    ];
    let failures = 0;
    const printed: string[] = [];
    for (const r of runs) {
      await plug.setFault(r.fault ?? null);
      const out = await run(node, [cli, ...r.args], { env: { ...process.env, NODE_OPTIONS: '', ...r.env }, timeout: 20_000 }).then(
        (res) => ({ stdout: res.stdout, stderr: res.stderr }),
        (error: { stdout?: string; stderr?: string }) => {
          failures++;
          return { stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
        },
      );
      printed.push(out.stdout, out.stderr);
      expect(leaks(`${out.stdout}\n${out.stderr}`), r.args.join(' ')).toEqual([]);
    }
    await plug.setFault(null);
    expect(failures, 'the wrong-key and fault runs failed, as they should').toBeGreaterThanOrEqual(7);
    expect(printed.join('\n')).toMatch(/rejected the device key/);
  });

  it('what the plugin writes stays in its folder, readable by the owner only, and holds no key', async () => {
    await hap.close();
    await hb.stop({ keepStorage: true });
    const files = walk(storageDir);
    const own = join(storageDir, 'meross-lan');
    const ownFiles = files.filter((f) => f.startsWith(`${own}/`));
    // The energy ledgers and Eve histories of the plugs that answered.
    expect(ownFiles.length, 'the plugin wrote its files').toBeGreaterThanOrEqual(2);
    expect(statSync(own).mode & 0o777, 'meross-lan/ is 0700').toBe(0o700);
    for (const f of ownFiles) expect(statSync(f).mode & 0o777, relative(storageDir, f)).toBe(0o600);
    // Everything else is Homebridge's own: its config (which holds the keys the user typed), cache and HAP state.
    const foreign = files.filter((f) => !f.startsWith(`${own}/`)).map((f) => relative(storageDir, f));
    expect(foreign.filter((f) => !/^(config\.json|accessories\/|persist\/|backups\/)/.test(f))).toEqual([]);
    for (const f of files.filter((x) => !x.endsWith('config.json'))) {
      expect(leaks(readFileSync(f, 'latin1')), relative(storageDir, f)).toEqual([]);
    }
  });
});

describe('cloud secrets: the account password, its tokens and key stay out of the log', () => {
  const password = `SECRET-PASSWORD-${randomBytes(6).toString('hex')}`;
  const accountKey = secret('ACCOUNT');
  let cert: TestCert;
  let cloud: FakeCloud;
  let plug: SimulatedPlug;
  const instances: Homebridge[] = [];

  beforeAll(async () => {
    cert = makeTestCert();
    plug = await SimulatedPlug.start({ firmware: 2, key: accountKey });
    cloud = await FakeCloud.start([{ email: 'owner@example.com', password, key: accountKey, devices: [{ uuid: plug.uuid, devName: 'Cloud lamp' }] }], cert);
  });

  afterAll(async () => {
    for (const hb of instances) await hb.stop();
    await cloud?.stop();
    await plug?.stop();
    cert?.cleanup();
  });

  it('signs in with the password (and once with a wrong one), runs the plug on the account key, and prints none of them', async () => {
    // Homebridge trusts the fake cloud's self-signed certificate through the environment it inherits.
    process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
    try {
      const wrong = await Homebridge.start({
        debug: true,
        platform: { pollInterval: 1, timeout: 1, cloud: { email: 'owner@example.com', password: `${password}-typo`, url: cloud.url }, devices: [{ host: plug.address, uuid: plug.uuid }] },
      });
      instances.push(wrong);
      await wrong.waitForLog(/Meross cloud: sign-in failed: wrong email or password/, 20_000);
      await wrong.stop();
      const right = await Homebridge.start({
        debug: true,
        platform: { pollInterval: 1, timeout: 1, cloud: { email: 'owner@example.com', password, url: cloud.url }, devices: [{ host: plug.address, uuid: plug.uuid }] },
      });
      instances.push(right);
      await right.waitForLog(/added to HomeKit/, 20_000);
      const hap = await right.pair();
      const onId = (await accessoryBySerial(hap, plug.uuid)).id(TYPES.Outlet, TYPES.On);
      // The plug obeys only the account key, which only the cloud could have given the plugin.
      const switched = new Promise<void>((resolve) => plug.once('toggle', () => resolve()));
      expect(await write(hap, onId, !plug.isOn)).toBe(0);
      await switched;
      await hap.close();
      await right.stop({ keepStorage: true });
      const secrets = [password, accountKey, ...cloud.issuedTokens];
      expect(cloud.issuedTokens.length, 'the cloud issued a token').toBeGreaterThan(0);
      for (const hb of [wrong, right]) {
        const text = hb.logs.join('\n');
        for (const value of secrets) expect(text.includes(value), `${value.slice(0, 14)}… in the log`).toBe(false);
        expect(crashLines(hb.logs)).toEqual([]);
      }
      // The remembered sign-in (token, key) is the one file that may hold them: owner-only.
      const own = join(right.storageDir, 'meross-lan');
      for (const f of walk(own)) expect(statSync(f).mode & 0o777, relative(right.storageDir, f)).toBe(0o600);
      for (const f of walk(right.storageDir).filter((x) => !x.startsWith(`${own}/`) && !x.endsWith('config.json'))) {
        for (const value of secrets) expect(readFileSync(f, 'latin1').includes(value), relative(right.storageDir, f)).toBe(false);
      }
      rmSync(right.storageDir, { recursive: true, force: true });
    } finally {
      delete process.env.NODE_EXTRA_CA_CERTS;
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

interface Sockets {
  /** TCP listeners: port, and whether bound to loopback only. */
  tcp: Array<{ port: number; loopback: boolean }>;
  /** Ports of bound UDP sockets. */
  udp: number[];
  /** Established TCP connections on the HAP port (one per controller connection). */
  hapConnections: number;
}

/** The sockets `pid` owns, from its fds and /proc/<pid>/net (the kernel's view, whatever the process says). */
function sockets(pid: number, hapPort: number): Sockets {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // the fd closed while we looked
    }
  }
  const rows = (files: string[]): Array<{ address: string; port: number; state: string }> => {
    const out: Array<{ address: string; port: number; state: string }> = [];
    for (const file of files) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
      } catch {
        continue; // no IPv6 here
      }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 10 || !inodes.has(cols[9])) continue;
        const [address, port] = cols[1].split(':');
        out.push({ address, port: parseInt(port, 16), state: cols[3] });
      }
    }
    return out;
  };
  // 127.0.0.1 as /proc writes it: little-endian hex, plain or IPv4-mapped in tcp6.
  const loopback = (address: string): boolean => address === '0100007F' || address === '0000000000000000FFFF00000100007F' || address === '00000000000000000000000001000000';
  const tcp = rows(['tcp', 'tcp6']);
  return {
    // TCP state 0A = LISTEN, 01 = ESTABLISHED.
    tcp: tcp.filter((r) => r.state === '0A').map((r) => ({ port: r.port, loopback: loopback(r.address) })),
    udp: [...new Set(rows(['udp', 'udp6']).map((r) => r.port))].sort((x, y) => x - y),
    hapConnections: tcp.filter((r) => r.state === '01' && r.port === hapPort).length,
  };
}
