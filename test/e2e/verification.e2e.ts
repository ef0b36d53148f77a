/**
 * Verification-style runs, modelled on Homebridge's rules for verified plugins, through a real Homebridge (2.4, and
 * 1.11 for the first three): no MerossLan block at all, an empty block, every option on at once (a fake cloud,
 * LAN discovery, push with the embedded broker, Matter on 2.4, several simulated plugs), and everything unreachable.
 * Each run starts, logs clearly and without a stack trace, exits within 12 s of SIGTERM with its sockets, broker,
 * timers and file writes closed, and an immediate restart on the same storage binds the same ports and finds every
 * ledger, history and cache file intact. Everything listens on loopback only (127.42.21.x / 127.42.22.x).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { commonPort, loopback } from '../discovery/helpers';
import { Homebridge, freePort, makeTempDir, type HomebridgeVersion } from './homebridge';

const ACCOUNT_KEY = 'verification-account-key';
const USER_ID = '424242';
const EXIT_LIMIT_MS = 12_000;

/** What a run is not allowed to print, from our plugin or anyone. */
export function assertCleanLogs(logs: readonly string[]): void {
  const text = logs.join('\n');
  expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection|triggerUncaughtException/i);
  // A stack frame ("    at fn (file:1:2)" or "    at file:1:2").
  expect(logs.filter((l) => /^\s+at .+:\d+:\d+\)?\s*$/.test(l))).toEqual([]);
  // An error printed as a trace ("Error: …", "TypeError: …" at a line start or after the log prefix).
  expect(logs.filter((l) => /(^|\] )\w*Error: /.test(l))).toEqual([]);
}

/** Every process is gone (signal 0 fails with ESRCH). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The port can be bound again at once: nothing of the old process holds it. */
async function tcpFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function udpFree(port: number): Promise<boolean> {
  const socket = createSocket('udp6');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '::1', () => socket.close(() => resolve(true)));
  });
}

/** SIGTERM, and how long until the process (and any child bridge it started) is gone. */
export async function stopTimed(hb: Homebridge): Promise<number> {
  const children = hb.childPids;
  const started = performance.now();
  await hb.stop({ keepStorage: true });
  const deadline = started + EXIT_LIMIT_MS;
  while (children.some((pid) => !gone(pid)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ms = performance.now() - started;
  expect(children.filter((pid) => !gone(pid))).toEqual([]);
  expect(ms).toBeLessThan(EXIT_LIMIT_MS);
  return ms;
}

/** The plugin's files and Homebridge's accessory caches, as text. No temp file may be left behind. */
export function snapshot(storageDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const pluginDir = join(storageDir, 'meross-lan');
  if (existsSync(pluginDir)) {
    for (const name of readdirSync(pluginDir, { recursive: true }) as string[]) {
      if (!name.endsWith('.json')) continue;
      files.set(`meross-lan/${name}`, readFileSync(join(pluginDir, name), 'utf8'));
    }
    expect((readdirSync(pluginDir, { recursive: true }) as string[]).filter((n) => /\.tmp$|\.corrupt$/.test(n))).toEqual([]);
  }
  const cacheDir = join(storageDir, 'accessories');
  if (existsSync(cacheDir)) {
    for (const name of readdirSync(cacheDir)) {
      if (name.startsWith('cachedAccessories')) files.set(`accessories/${name}`, readFileSync(join(cacheDir, name), 'utf8'));
    }
  }
  for (const [name, text] of files) expect(() => JSON.parse(text), name).not.toThrow();
  return files;
}

/**
 * After a restart (plugs may have been read again meanwhile): every file is still there and parses; write-once
 * files and Eve histories are byte-identical or grew; each ledger keeps every day it had, with no less energy; the
 * accessory caches hold the same accessories.
 */
export function assertIntact(before: Map<string, string>, after: Map<string, string>): void {
  for (const [name, text] of before) {
    const now = after.get(name);
    expect(now, `${name} is gone after the restart`).toBeDefined();
    if (now === text) continue;
    const [was, is] = [JSON.parse(text) as Record<string, unknown>, JSON.parse(now as string) as Record<string, unknown>];
    if (/energy-.*\.json$/.test(name)) {
      const [d0, d1] = [was.days as Record<string, [number, number]>, is.days as Record<string, [number, number]>];
      for (const [day, [raw]] of Object.entries(d0)) expect(d1[day]?.[0], `${name} ${day}`).toBeGreaterThanOrEqual(raw);
    } else if (/history-.*\.json$/.test(name)) {
      expect(JSON.stringify(is).length, name).toBeGreaterThanOrEqual(JSON.stringify(was).length * 0.9);
    } else if (name === 'meross-lan/cloud.json') {
      // Rewritten by every device-list refresh (its time stamp); the account it holds stays.
      for (const field of ['email', 'key', 'userId']) expect(is[field], `${name} ${field}`).toEqual(was[field]);
    } else if (name.startsWith('accessories/cachedAccessories')) {
      const uuids = (list: unknown): string[] => (list as { UUID: string }[]).map((a) => a.UUID).sort();
      expect(uuids(is), name).toEqual(uuids(was));
    } else {
      expect(now, `${name} changed across a restart`).toBe(text);
    }
  }
}

interface Run {
  hb: Homebridge;
  exitMs: number[];
}

/** The suite for one Homebridge line (verification-v2.test.ts, verification-v1.test.ts run it in parallel). */
export function verificationSuite(version: HomebridgeVersion): void {
  const exitTimes: string[] = [];
  afterAll(() => {
    // The measured SIGTERM-to-exit times, for the record.
    console.log(`SIGTERM to exit:\n${exitTimes.join('\n')}`);
  });
  const label = version === 'v2' ? 'Homebridge 2.4' : 'Homebridge 1.11';
  const subnet = version === 'v2' ? 21 : 22;

  describe(`verification-style runs (${label})`, () => {
    const sims: SimulatedPlug[] = [];
    let cert: TestCert;
    let cloud: FakeCloud;
    let discoveryPort = 0;
    let brokerPort = 0;
    const runs: Run[] = [];

    beforeAll(async () => {
      cert = makeTestCert();
      const hosts = [2, 3, 4, 5, 6].map((n) => loopback(subnet, n));
      discoveryPort = await commonPort(hosts);
      brokerPort = await freePort();
      // Two of the plugs also talk MQTT to the plugin's broker (when a run has one).
      const mqtt = { broker: `127.0.0.1:${brokerPort}`, userId: USER_ID, reconnectMs: 250 };
      const start = (n: number, on: boolean, key = ACCOUNT_KEY, push = false): Promise<SimulatedPlug> =>
        SimulatedPlug.start({ host: loopback(subnet, n), port: discoveryPort, key, on, watts: 60 + n, ...(push ? { mqtt } : {}) });
      sims.push(
        ...(await Promise.all([start(2, true, ACCOUNT_KEY, true), start(3, false), start(4, true, 'own-key', true), start(5, true), start(6, true)])),
      );
      cloud = await FakeCloud.start(
        [
          {
            email: 'owner@example.com',
            password: 'owner-password',
            key: ACCOUNT_KEY,
            userId: USER_ID,
            devices: [
              { uuid: sims[0].uuid, devName: 'Desk lamp' },
              { uuid: sims[1].uuid, devName: 'Kettle' },
            ],
          },
        ],
        cert,
      );
    });

    afterAll(async () => {
      for (const run of runs) if (run.hb.running) await run.hb.stop({ keepStorage: true });
      await cloud?.stop();
      await Promise.all(sims.map((s) => s.stop()));
      cert?.cleanup();
    }, 60_000);

    /**
     * One run: start, `ready`, clean logs, timed SIGTERM, then an immediate restart on the same storage and ports,
     * `ready` again, and a second timed stop; the files must come through both.
     */
    async function verify(
      name: string,
      options: {
        platforms: Record<string, unknown>[];
        env?: Record<string, string>;
        matterPort?: number;
        ready: (hb: Homebridge, first: boolean) => Promise<void>;
        files?: (files: Map<string, string>) => void;
      },
    ): Promise<Homebridge> {
      const storageDir = makeTempDir(`hb-verify-${version}`);
      const port = await freePort();
      const username = version === 'v2' ? '0E:56:45:52:49:46' : '0E:56:45:52:49:31';
      const start = async (): Promise<Homebridge> => {
        const hb = await Homebridge.start({
          version,
          storageDir,
          port,
          username,
          platforms: options.platforms,
          env: options.env,
          matter: options.matterPort ? { port: options.matterPort } : undefined,
          echo: process.env.E2E_ECHO === '1',
        });
        runs.push({ hb, exitMs: [] });
        return hb;
      };
      const first = await start();
      await options.ready(first, true);
      assertCleanLogs(first.logs);
      const firstExit = await stopTimed(first);
      // The platform finished its shutdown (ledgers, histories and the broker closed) before the process ended.
      if (options.platforms.length > 0) expect(first.logs.some((l) => /Stopped: \d+ plugs? saved/.test(l))).toBe(true);
      expect(await tcpFree(port)).toBe(true);
      if (options.matterPort) expect(await udpFree(options.matterPort)).toBe(true);
      const before = snapshot(storageDir);
      options.files?.(before);

      const second = await start();
      expect(second.logs.some((l) => new RegExp(`is running on port ${port}`).test(l))).toBe(true);
      if (options.matterPort) expect(second.logs.some((l) => /Matter/.test(l) && l.includes(String(options.matterPort)))).toBe(true);
      await options.ready(second, false);
      expect(second.logs.join('\n')).not.toMatch(/could not be read|\.corrupt|EADDRINUSE|already in use/);
      assertCleanLogs(second.logs);
      const secondExit = await stopTimed(second);
      assertIntact(before, snapshot(storageDir));
      exitTimes.push(`${label}, ${name}: ${Math.round(firstExit)} ms, after the restart ${Math.round(secondExit)} ms`);
      return second;
    }

    it('no MerossLan block: the plugin loads, does nothing, writes nothing and says nothing alarming', async () => {
      await verify('no block', {
        platforms: [],
        ready: async (hb) => {
          // Without a block there is no platform instance: nothing logs under a "[Meross…]" prefix, and Homebridge
          // names the plugin only as loaded.
          expect(hb.logs.filter((l) => /\[Meross/.test(l))).toEqual([]);
          expect(hb.logs.filter((l) => /meross-lan/i.test(l) && /warn|error|fail|deprecat/i.test(l))).toEqual([]);
          expect(existsSync(join(hb.storageDir, 'meross-lan'))).toBe(false);
        },
      });
    });

    it('{"platform":"MerossLan"} alone: one line that says what to add, no files, no network', async () => {
      await verify('empty block', {
        platforms: [{ platform: 'MerossLan' }],
        ready: async (hb) => {
          await hb.waitForLog(/Watching 0 Meross plugs/, 5000);
          const ours = hb.logs.filter((l) => /\[(Meross|MerossLan)\]/.test(l));
          expect(ours.filter((l) => /No Meross plugs are configured yet/.test(l))).toHaveLength(1);
          expect(existsSync(join(hb.storageDir, 'meross-lan'))).toBe(false);
        },
      });
    });

    it('every option on at once: cloud, discovery, push with its broker, Matter (2.4), several plugs', async () => {
      const matterPort = version === 'v2' ? await freePort() : undefined;
      const uuids = sims.map((s) => s.uuid);
      await verify('everything on', {
        matterPort,
        env: {
          MEROSS_CLOUD_URL: cloud.url,
          NODE_EXTRA_CA_CERTS: cert.certPath,
          MEROSS_LAN_SUBNETS: `${loopback(subnet, 2)}-${loopback(subnet, 9)}`,
        },
        platforms: [
          {
            platform: 'MerossLan',
            name: 'Meross',
            pollInterval: 1,
            energyPollInterval: 2,
            timeout: 1,
            key: ACCOUNT_KEY,
            cloud: { email: 'owner@example.com', password: 'owner-password' },
            discovery: { enabled: true, port: discoveryPort, rescanAfter: 5 },
            push: { enabled: true, port: brokerPort, bind: '127.0.0.1', userId: USER_ID },
            matter: true,
            devices: [
              { name: 'Kettle', host: `${sims[1].address}` },
              { name: 'Fan', uuid: sims[2].uuid, host: sims[2].address, key: 'own-key' },
            ],
          },
        ],
        ready: async (hb, first) => {
          await hb.waitForLog(new RegExp(`Local push: listening on 127\\.0\\.0\\.1:${brokerPort} \\(TLS\\)`), 15_000);
          if (matterPort) await hb.waitForLog(/Manual Pairing Code/, 15_000);
          await hb.waitForLog(/Desk lamp: connected over local MQTT/, 15_000);
          await hb.waitForLog(/Fan: connected over local MQTT/, 15_000);
          if (first) {
            // A press on the plug: an Eve history entry, pending when SIGTERM comes.
            sims[0].press();
            // Every plug's first meter read answered and handled (its next request went out after it): the ledgers
            // have something to save. (The first reads are spread over the energy interval, plug.ts start().)
            await Promise.all(sims.map((s) => meterReadHandled(s)));
          }
        },
        files: (files) => {
          for (const uuid of uuids) {
            expect(files.has(`meross-lan/energy-${uuid}.json`), `ledger of ${uuid}`).toBe(true);
          }
          // Written by the shutdown flush: the press's history entry would otherwise wait up to 30 s to be saved.
          expect(files.has(`meross-lan/history-${sims[0].uuid}.json`), 'Eve history of the pressed plug').toBe(true);
          expect(files.has('meross-lan/push-tls.json')).toBe(true);
          expect(files.has('meross-lan/cloud.json')).toBe(true);
        },
      });
    }, 120_000);

    if (version === 'v2') {
      it('everything unreachable: plugs refusing and hanging, the cloud closed', async () => {
        await cloud.down();
        await sims[3].setFault({ type: 'offline' });
        await sims[4].setFault({ type: 'hang' });
        try {
          await verify('everything unreachable', {
            env: { MEROSS_CLOUD_URL: cloud.url, NODE_EXTRA_CA_CERTS: cert.certPath, MEROSS_LAN_SUBNETS: `${loopback(subnet, 2)}-${loopback(subnet, 9)}` },
            platforms: [
              {
                platform: 'MerossLan',
                name: 'Meross',
                pollInterval: 1,
                timeout: 1,
                cloud: { email: 'other@example.com', password: 'owner-password' },
                push: { enabled: true, port: brokerPort, bind: '127.0.0.1', userId: USER_ID },
                devices: [
                  { name: 'Refusing', host: sims[3].address, key: ACCOUNT_KEY, uuid: sims[3].uuid },
                  { name: 'Hanging', host: sims[4].address, key: ACCOUNT_KEY, uuid: sims[4].uuid },
                ],
              },
            ],
            ready: async (hb) => {
              await hb.waitForLog(/Refusing: .*cannot connect/, 10_000);
              await hb.waitForLog(/Hanging: .*no reply within/, 15_000);
              await hb.waitForLog(/Meross cloud: cannot reach/, 10_000);
            },
          });
        } finally {
          await cloud.up();
          await sims[3].setFault(null);
          await sims[4].setFault(null);
        }
      }, 120_000);
    }
  });
}

/** Resolves once the plug answered a ConsumptionX request and then received another request (the reply was handled). */
function meterReadHandled(sim: SimulatedPlug): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      const read = sim.requests.findIndex((r) => r.namespace === 'Appliance.Control.ConsumptionX' || r.inner?.some((i) => i.namespace === 'Appliance.Control.ConsumptionX'));
      if (read < 0 || sim.requests.length <= read + 1) return;
      sim.off('request', check);
      resolve();
    };
    sim.on('request', check);
    check();
  });
}
