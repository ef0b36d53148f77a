/**
 * Cloud sign-in and LAN discovery end to end: a real Homebridge (child process) with the built plugin, a real
 * HAP controller, a fake Meross cloud over HTTPS on loopback (trusted through NODE_EXTRA_CA_CERTS, never by
 * turning verification off) and simulated plugs on 127.42.7.x. Scans are confined to that range by
 * MEROSS_LAN_SUBNETS.
 */
import type { HttpClient } from 'hap-controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { commonPort } from '../discovery/helpers';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { accessories, accessoryBySerial, readOne, TYPES, write, type AccessoryView } from './hap';

const ACCOUNT_KEY = 'e2e-account-key';
const ip = (n: number): string => `127.42.7.${n}`;

describe('cloud plugs and LAN discovery (Homebridge 2)', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let port = 0;
  const sims = new Map<string, SimulatedPlug>();
  let hb: Homebridge | undefined;
  let hap: HttpClient | undefined;
  let pairing: NonNullable<ReturnType<HttpClient['getLongTermData']>>;
  const storageDir = makeTempDir('hb-discovery');
  let bridgePort = 0;
  const username = '0E:44:49:53:43:56';
  const aids = new Map<string, number>();
  const savedEnv = { ...process.env };

  /** Starts (or restarts elsewhere) the simulated plug called `name`, keeping its identity and relay state. */
  async function plugAt(name: string, host: string, options: SimulatorOptions = {}): Promise<SimulatedPlug> {
    const old = sims.get(name);
    if (old) await old.stop();
    const sim = await SimulatedPlug.start({
      key: ACCOUNT_KEY,
      ...(old ? { uuid: old.uuid, mac: old.mac, key: old.key, firmware: old.firmware, on: old.isOn } : {}),
      ...options,
      host,
      port,
    });
    sims.set(name, sim);
    return sim;
  }

  const platform = {
    pollInterval: 1,
    timeout: 1,
    cloud: { email: 'owner@example.com', password: 'owner-password' },
    discovery: { port: 0, rescanAfter: 5 },
    devices: [] as unknown[],
  };

  async function view(name: string): Promise<AccessoryView> {
    return accessoryBySerial(hap as HttpClient, (sims.get(name) as SimulatedPlug).uuid);
  }

  beforeAll(async () => {
    cert = makeTestCert();
    port = await commonPort([5, 6, 7, 8, 25].map(ip));
    platform.discovery.port = port;
    await plugAt('lamp', ip(5), { on: true });
    await plugAt('kettle', ip(6), { on: false });
    await plugAt('heater', ip(7), { on: true });
    // Not on the account: its own key, configured by uuid only.
    await plugAt('fan', ip(8), { key: 'fan-own-key', on: false });
    const uuid = (name: string): string => (sims.get(name) as SimulatedPlug).uuid;
    cloud = await FakeCloud.start(
      [
        {
          email: 'owner@example.com',
          password: 'owner-password',
          key: ACCOUNT_KEY,
          devices: [
            { uuid: uuid('lamp'), devName: 'Desk lamp' },
            { uuid: uuid('kettle'), devName: 'Kettle' },
            { uuid: uuid('heater'), devName: 'Heater' },
            { uuid: '2009113111806125175848e1e9aaaaaa', devName: 'Hallway light', deviceType: 'msl120' },
          ],
        },
      ],
      cert,
    );
    platform.devices = [
      // The user named the kettle and gave its address: both win over the cloud.
      { name: 'My kettle', host: `${ip(6)}:${port}` },
      { uuid: uuid('fan'), key: 'fan-own-key' },
    ];
    // Passed through to Homebridge by the harness.
    process.env.MEROSS_CLOUD_URL = cloud.url;
    process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
    process.env.MEROSS_LAN_SUBNETS = `${ip(2)}-${ip(40)}`;
    bridgePort = await freePort();
  });

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await cloud?.stop();
    await Promise.all([...sims.values()].map((s) => s.stop()));
    cert?.cleanup();
    process.env = savedEnv;
  }, 120_000);

  it('signs in, names cloud plugs after the Meross app and finds every plug on the LAN', async () => {
    hb = await Homebridge.start({ storageDir, port: bridgePort, username, platform, echo: process.env.E2E_ECHO === '1' });
    await Promise.all(
      ['Desk lamp', 'Heater', `Meross ${sims.get('fan')?.uuid.slice(-4).toUpperCase()}`].map((name) =>
        (hb as Homebridge).waitForLog(new RegExp(`${name}: found at 127\\.42\\.7\\.\\d+:${port}; using the new address`), 30_000),
      ),
    );
    await hb.waitForLog(/Desk lamp: back online/, 10_000);
    await hb.waitForLog(/Heater: back online/, 10_000);
    // The kettle is in the cloud and in "devices" by address: whichever comes first, it ends up with the user's name.
    await hb.waitForLog(/renamed to "My kettle" \(as named in "devices"\)|My kettle: added to HomeKit/, 10_000);
    hap = await hb.pair();
    pairing = hap.getLongTermData() as typeof pairing;
    const all = await accessories(hap);
    expect(all).toHaveLength(4);
    for (const name of ['lamp', 'kettle', 'heater', 'fan']) aids.set(name, (await view(name)).aid);
    expect((await view('lamp')).info(TYPES.Name)).toBe('Desk lamp');
    expect((await view('heater')).info(TYPES.Name)).toBe('Heater');
    expect((await view('kettle')).info(TYPES.Name)).toBe('My kettle');
    const lamp = await view('lamp');
    expect(Boolean((await readOne(hap, lamp.id(TYPES.Outlet, TYPES.On))).value)).toBe(true);
    // The cloud was asked for keys and names only, and nothing secret reached the log.
    const log = hb.logs.join('\n');
    for (const secret of ['owner-password', ACCOUNT_KEY, 'fan-own-key', ...cloud.issuedTokens]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/Hallway light/);
  }, 120_000);

  it('follows a plug to a new address while running: same accessory, same state, control goes there', async () => {
    const from = hb?.logs.length ?? 0;
    const moved = await plugAt('lamp', ip(25));
    await hb?.waitForLog(new RegExp(`Desk lamp: found at ${ip(25).replace(/\./g, '\\.')}:${port} \\(was ${ip(5).replace(/\./g, '\\.')}:${port}\\)`), 30_000, from);
    await hb?.waitForLog(/Desk lamp: back online/, 10_000, from);
    const lamp = await view('lamp');
    expect(lamp.aid).toBe(aids.get('lamp'));
    expect(Boolean((await readOne(hap as HttpClient, lamp.id(TYPES.Outlet, TYPES.On))).value)).toBe(true);
    expect(await write(hap as HttpClient, lamp.id(TYPES.Outlet, TYPES.On), false)).toBe(0);
    expect(moved.isOn).toBe(false);
  }, 120_000);

  it('two plugs that swap addresses are each followed by uuid, never controlled through the other', async () => {
    const from = hb?.logs.length ?? 0;
    const kettleWasOn = sims.get('kettle')?.isOn;
    const heaterWasOn = sims.get('heater')?.isOn;
    await Promise.all([sims.get('kettle')?.stop(), sims.get('heater')?.stop()]);
    const heater = sims.get('heater') as SimulatedPlug;
    const kettle = sims.get('kettle') as SimulatedPlug;
    sims.delete('heater');
    sims.delete('kettle');
    await plugAt('kettle', ip(7), { uuid: kettle.uuid, mac: kettle.mac, on: kettleWasOn });
    await plugAt('heater', ip(6), { uuid: heater.uuid, mac: heater.mac, on: heaterWasOn });
    const esc = (n: number): string => `${ip(n).replace(/\./g, '\\.')}:${port}`;
    await hb?.waitForLog(new RegExp(`My kettle: found at ${esc(7)} \\(was ${esc(6)}\\)`), 30_000, from);
    await hb?.waitForLog(new RegExp(`Heater: found at ${esc(6)} \\(was ${esc(7)}\\)`), 30_000, from);
    await hb?.waitForLog(/My kettle: back online/, 10_000, from);
    await hb?.waitForLog(/Heater: back online/, 10_000, from);
    const k = await view('kettle');
    const h = await view('heater');
    expect([k.aid, h.aid]).toEqual([aids.get('kettle'), aids.get('heater')]);
    expect(Boolean((await readOne(hap as HttpClient, h.id(TYPES.Outlet, TYPES.On))).value)).toBe(true);
    expect(await write(hap as HttpClient, k.id(TYPES.Outlet, TYPES.On), true)).toBe(0);
    expect(sims.get('kettle')?.isOn).toBe(true);
    expect(sims.get('heater')?.isOn).toBe(true);
  }, 120_000);

  it('starts from the cache when the cloud is down: same accessories and names, local control works', async () => {
    await hap?.close();
    await hb?.stop({ keepStorage: true });
    await cloud.down();
    hb = await Homebridge.start({ storageDir, port: bridgePort, username, platform, echo: process.env.E2E_ECHO === '1' });
    await hb.waitForLog(
      /Meross cloud: cannot reach the Meross cloud at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Using the 4 devices and the key remembered from \d{4}-\d\d-\d\d; local control is not affected\./,
      15_000,
    );
    hap = hb.connect(pairing);
    const all = await accessories(hap);
    expect(all.map((a) => a.aid).sort()).toEqual([...aids.values()].sort());
    expect((await view('lamp')).info(TYPES.Name)).toBe('Desk lamp');
    await hb.waitForLog(/Watching 4 Meross plugs/, 10_000);
    const lamp = await view('lamp');
    expect(await write(hap, lamp.id(TYPES.Outlet, TYPES.On), true)).toBe(0);
    expect(sims.get('lamp')?.isOn).toBe(true);
    expect(hb.logs.filter((l) => /Meross cloud:/.test(l))).toHaveLength(1);
    expect(hb.logs.some((l) => /removed/.test(l))).toBe(false);
    // Cloud plugs started where discovery last found them: no address was missing, no scan was needed.
    expect(hb.logs.some((l) => /address is not known yet|LAN discovery \(/.test(l))).toBe(false);
  }, 120_000);
});

describe('discovery.enabled without a cloud (Homebridge 2)', () => {
  const KEY = 'e2e-platform-key';
  const sims: SimulatedPlug[] = [];
  let hb: Homebridge | undefined;
  let hap: HttpClient | undefined;
  const savedEnv = { ...process.env };

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all(sims.map((s) => s.stop()));
    process.env = savedEnv;
  });

  it('adds plugs that answer to the platform key and lists the others as key needed', async () => {
    const hosts = [3, 4].map((n) => `127.42.8.${n}`);
    const port = await commonPort(hosts);
    sims.push(
      await SimulatedPlug.start({ host: hosts[0], port, key: KEY, on: true }),
      await SimulatedPlug.start({ host: hosts[1], port, key: 'not-ours' }),
    );
    process.env.MEROSS_LAN_SUBNETS = '127.42.8.2-127.42.8.20';
    delete process.env.MEROSS_CLOUD_URL;
    hb = await Homebridge.start({ platform: { pollInterval: 1, timeout: 1, key: KEY, discovery: { enabled: true, port } } });
    const added = `MSS310 ${sims[0].uuid.slice(-4).toUpperCase()}`;
    await hb.waitForLog(new RegExp(`${added}: added to HomeKit`), 20_000);
    await hb.waitForLog(
      new RegExp(`LAN discovery: Meross plug ${sims[1].uuid} found at ${hosts[1].replace(/\./g, '\\.')}:${port}, key needed`),
      20_000,
    );
    expect(hb.logs.some((l) => /No Meross plugs are configured yet/.test(l))).toBe(false);
    hap = await hb.pair();
    const all = await accessories(hap);
    expect(all.map((a) => a.info(TYPES.SerialNumber))).toEqual([sims[0].uuid]);
    const on = all[0].id(TYPES.Outlet, TYPES.On);
    expect(await write(hap, on, false)).toBe(0);
    expect(sims[0].isOn).toBe(false);
    expect(hb.logs.join('\n')).not.toContain(KEY);
  }, 120_000);
});
