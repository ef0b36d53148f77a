/**
 * Power strips end to end (issue #16): a simulated MSS425E (master 0, outlets 1..3, USB on 4) beside a single MSS210,
 * a fake Meross cloud on loopback that names the strip's outlets, a real Homebridge 2 and a real HAP client. The strip
 * is one accessory with one Outlet per outlet and no master; each outlet switches its own channel and shows its own
 * button presses; a restart keeps the services (and their ids) and shows the outlets before the strip answers.
 */
import type { HttpClient } from 'hap-controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { furtherPolls } from './polls';
import { SimulatedPlug } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { accessories, accessoryBySerial, longType, nextEvent, read, TYPES, write, type AccessoryView, type HapService } from './hap';
import { freePort, Homebridge, makeTempDir, type HomebridgeOptions } from './homebridge';

const KEY = 'e2e-strip-account-key-0123456789';
const CONFIGURED_NAME = longType('E3');
/** What the Meross app calls the outlets (channel → name); channel 0, the master, has no entry. */
const APP_NAMES: Record<number, string> = { 1: 'Desk lamp', 2: 'Radio', 3: 'Kettle', 4: 'Phone charger' };
const EVE_ENERGY = [TYPES.EvePower, TYPES.EveVoltage, TYPES.EveCurrent, TYPES.EveTotal, TYPES.EveResetTotal];
const OUTLETS = [1, 2, 3, 4];
const EVE_HISTORY = 'E863F007-079E-48FF-8F27-9C2605A29F52';

describe('a power strip (MSS425E) in HomeKit through Homebridge 2', () => {
  let strip: SimulatedPlug;
  let fan: SimulatedPlug;
  let cert: TestCert;
  let cloud: FakeCloud;
  let options: HomebridgeOptions;
  let hb: Homebridge;
  let hap: HttpClient;
  let view: AccessoryView;
  /** How many Outlet services the strip had before its first answer. */
  let earlyOutlets: number;
  let earlyAid: number;
  const savedEnv = { ...process.env };

  /** The strip's Outlet services, keyed by channel (found by the Meross app name they carry). */
  const outletServices = (v: AccessoryView): Map<number, HapService> => {
    const byChannel = new Map<number, HapService>();
    for (const service of v.raw.services.filter((s) => longType(s.type) === TYPES.Outlet)) {
      const name = service.characteristics.find((c) => longType(c.type) === TYPES.Name)?.value;
      const channel = Number(Object.entries(APP_NAMES).find(([, n]) => n === name)?.[0]);
      if (!Number.isInteger(channel)) throw new Error(`an Outlet named ${String(name)}, not a Meross app name`);
      byChannel.set(channel, service);
    }
    return byChannel;
  };
  const onId = (v: AccessoryView, channel: number): string => {
    const c = outletServices(v)
      .get(channel)
      ?.characteristics.find((ch) => longType(ch.type) === TYPES.On);
    if (!c) throw new Error(`no On for outlet ${channel}`);
    return `${v.aid}.${c.iid}`;
  };
  /** What HomeKit reads for every outlet, by channel. */
  const shown = async (): Promise<Record<number, unknown>> => {
    const ids = OUTLETS.map((c) => onId(view, c));
    const values = await read(hap, ids);
    return Object.fromEntries(OUTLETS.map((c, i) => [c, values[ids[i]].status ? `status ${values[ids[i]].status}` : values[ids[i]].value]));
  };
  const onTheStrip = (): Record<number, boolean> => Object.fromEntries(OUTLETS.map((c) => [c, strip.channelOn(c)]));
  /** HAP sends booleans as true/false or 1/0. */
  const bools = (r: Record<number, unknown>): Record<number, unknown> => Object.fromEntries(Object.entries(r).map(([c, v]) => [c, typeof v === 'number' ? v === 1 : v]));

  beforeAll(async () => {
    [strip, fan] = await Promise.all([SimulatedPlug.start({ model: 'mss425e', key: KEY, on: false }), SimulatedPlug.start({ model: 'mss210', key: KEY, on: false })]);
    cert = makeTestCert();
    const channels: Array<Record<string, unknown>> = [{}];
    for (const c of [1, 2, 3]) channels.push({ type: 'Switch', devName: APP_NAMES[c], devIconId: 'device001' });
    channels.push({ type: 'USB', devName: APP_NAMES[4], devIconId: 'device001' });
    cloud = await FakeCloud.start(
      [
        {
          email: 'owner@example.com',
          password: 'owner-password',
          key: KEY,
          devices: [
            { uuid: strip.uuid, devName: 'Strip (app)', deviceType: 'mss425e', hdwareVersion: '2.0.0', fmwareVersion: '2.1.5', channels },
            { uuid: fan.uuid, devName: 'Fan (app)', deviceType: 'mss210', hdwareVersion: '1.0.0', fmwareVersion: '1.1.12' },
          ],
        },
      ],
      cert,
    );
    process.env.MEROSS_CLOUD_URL = cloud.url;
    process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
    options = {
      storageDir: makeTempDir('hb-strip'),
      port: await freePort(),
      platform: {
        key: KEY,
        cloud: { email: 'owner@example.com', password: 'owner-password' },
        pollInterval: 1,
        timeout: 1,
        devices: [
          { name: 'Strip', host: strip.address, uuid: strip.uuid },
          { name: 'Fan', host: fan.address, uuid: fan.uuid },
        ],
      },
    };
    // The strip does not answer at first: it is shown (known by uuid) as the one outlet a plug usually is, and a
    // controller pairs with the bridge before the strip's first answer turns it into four.
    await strip.setFault({ type: 'hang' });
    hb = await Homebridge.start(options);
    await Promise.all([hb.waitForLog(/Strip: added to HomeKit/), hb.waitForLog(/Fan: MSS210 hardware/)]);
    hap = await hb.pair();
    options.username = hb.username;
    const early = await accessoryBySerial(hap, strip.uuid);
    earlyOutlets = early.raw.services.filter((s) => longType(s.type) === TYPES.Outlet).length;
    earlyAid = early.aid;
    await strip.setFault(null);
    await hb.waitForLog(/Strip: MSS425E hardware .*, 4 outlets/);
  }, 60_000);

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all([strip, fan].map((p) => p?.stop()));
    await cloud?.stop();
    cert?.cleanup();
    process.env = savedEnv;
  });

  it('is one accessory with one Outlet per outlet once it answered, named as in the Meross app, no master and no energy', async () => {
    // The plugs start once the cloud's device list is in (the platform waits for it), so the names are there from the
    // strip's first answer on.
    expect(hb.logs).toContainEqual(expect.stringMatching(/Strip: shown as 4 outlets \(Desk lamp, Radio, Kettle, Phone charger\)/));
    expect(earlyOutlets).toBe(1);
    // The same paired controller reads the new shape: the same accessory, now with four Outlets.
    expect((await accessories(hap)).map((a) => a.info(TYPES.SerialNumber)).sort()).toEqual([strip.uuid, fan.uuid].sort());
    view = await accessoryBySerial(hap, strip.uuid);
    expect(view.aid).toBe(earlyAid);
    const services = outletServices(view);
    expect([...services.keys()].sort()).toEqual(OUTLETS);
    for (const [channel, service] of services) {
      const types = service.characteristics.map((c) => longType(c.type));
      expect(types).toEqual(expect.arrayContaining([TYPES.On, TYPES.OutletInUse, TYPES.Name, CONFIGURED_NAME]));
      for (const eve of EVE_ENERGY) expect(types, `outlet ${channel}`).not.toContain(eve);
      expect(service.characteristics.find((c) => longType(c.type) === CONFIGURED_NAME)?.value).toBe(APP_NAMES[channel]);
    }
    expect(view.info(TYPES.Model)).toBe('MSS425E');
    // The Eve history the first (pre-answer) guess gave it went with the meter it does not have.
    expect(view.raw.services.map((s) => longType(s.type))).not.toContain(EVE_HISTORY);
    // The single plug beside it stays one plain Outlet.
    const fanView = await accessoryBySerial(hap, fan.uuid);
    expect(fanView.raw.services.filter((s) => longType(s.type) === TYPES.Outlet)).toHaveLength(1);
    expect(bools(await shown())).toEqual(onTheStrip());
  });

  it('switches exactly the outlet written, and no other', async () => {
    for (const channel of [2, 4]) {
      const before = onTheStrip();
      expect(await write(hap, onId(view, channel), true)).toBe(0);
      expect(onTheStrip()).toEqual({ ...before, [channel]: true });
      expect(bools(await shown())).toEqual(onTheStrip());
    }
    expect(strip.channelOn(0)).toBe(true); // the master reads on while any outlet is on
    expect(await write(hap, onId(view, 2), false)).toBe(0);
    expect(onTheStrip()).toEqual({ 1: false, 2: false, 3: false, 4: true });
    // The plug beside it was not touched.
    expect(fan.isOn).toBe(false);
  });

  it('shows a button press on the outlet pressed, and on no other', async () => {
    const ids = OUTLETS.map((c) => onId(view, c));
    await hap.subscribeCharacteristics(ids);
    const events: Array<{ id: string; value: unknown }> = [];
    const record = (ev: { characteristics: Array<{ aid: number; iid: number; value: unknown }> }): void => {
      for (const c of ev.characteristics) events.push({ id: `${c.aid}.${c.iid}`, value: c.value });
    };
    hap.on('event', record);
    const pressed = nextEvent(hap, onId(view, 3), (v) => Boolean(v), 5000);
    strip.press(3);
    await pressed;
    expect(onTheStrip()).toEqual({ 1: false, 2: false, 3: true, 4: true });
    expect(bools(await shown())).toEqual(onTheStrip());
    // Two further polls of the strip (an event for their news would have come with the first): still none for any other outlet.
    await furtherPolls(strip, 2);
    hap.off('event', record);
    await hap.unsubscribeCharacteristics(ids);
    expect(events.filter((e) => e.id !== onId(view, 3))).toEqual([]);
    expect(events.map((e) => Boolean(e.value))).toEqual([true]);
  });

  it('keeps its services and ids across a restart, and shows the outlets before the strip answers', { timeout: 60_000 }, async () => {
    const pairing = hap.getLongTermData()!;
    const idsBefore = OUTLETS.map((c) => onId(view, c));
    const stateBefore = onTheStrip();
    await hap.close();
    await hb.stop({ keepStorage: true });
    // The strip does not answer now (accepts, never replies) until the test lets it.
    await strip.setFault({ type: 'hang' });
    hb = await Homebridge.start({ ...options, platform: { ...options.platform, timeout: 15 } });
    hap = hb.connect(pairing);
    view = await accessoryBySerial(hap, strip.uuid);
    expect([...outletServices(view).keys()].sort()).toEqual(OUTLETS);
    expect(OUTLETS.map((c) => onId(view, c))).toEqual(idsBefore);
    expect(bools(await shown())).toEqual(stateBefore);
    expect(hb.logs.some((l) => /Strip: MSS425E hardware/.test(l))).toBe(false); // it really has not answered yet

    await strip.setFault(null);
    await hb.waitForLog(/Strip: MSS425E hardware/, 30_000);
    expect(await write(hap, onId(view, 1), true)).toBe(0);
    expect(onTheStrip()).toEqual({ ...stateBefore, 1: true });
    expect(hb.logs.join('\n')).not.toMatch(/unhandledRejection|uncaughtException|\n\s+at .+\(.+:\d+:\d+\)/i);
  });
});
