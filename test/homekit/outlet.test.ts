import { resolve } from 'node:path';
import type { API, PlatformAccessory, Service } from 'homebridge' with { 'resolution-mode': 'import' };
import { afterEach, describe, expect, it } from 'vitest';
import { makeEveTypes } from '../../src/homekit/eve';
import { HISTORY_SERVICE_UUID } from '../../src/homekit/history-service';
import { OutletAdapter, type OutletContext } from '../../src/homekit/outlet';
import { Plug } from '../../src/plug/plug';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { captureLog } from '../plug/capture-log';

/** Homebridge's own API object (the one a real bridge hands the plugin), loaded from its build. */
async function homebridgeApi(): Promise<API> {
  const mod = (await import(resolve(__dirname, '../../node_modules/homebridge/dist/api.js'))) as { HomebridgeAPI: new () => API };
  return new mod.HomebridgeAPI();
}

const sims: SimulatedPlug[] = [];
const adapters: OutletAdapter[] = [];
const plugs: Plug[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.stop()));
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

interface Rig {
  api: API;
  sim: SimulatedPlug;
  plug: Plug;
  accessory: PlatformAccessory<OutletContext>;
  adapter: OutletAdapter;
  cacheWrites: number;
  /** The UUIDs of the Outlet's characteristics, and whether an Eve history service is there. */
  shape(): { outlet: string[]; history: boolean };
}

async function rig(options: SimulatorOptions, cached?: (accessory: PlatformAccessory<OutletContext>, api: API) => void): Promise<Rig> {
  const api = await homebridgeApi();
  const eve = makeEveTypes(api);
  const sim = await SimulatedPlug.start(options);
  sims.push(sim);
  const plug = new Plug({ host: sim.address, key: sim.key, uuid: sim.uuid, name: 'Lamp', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 2000, outletInUseWatts: 2, log: captureLog() });
  plugs.push(plug);
  const accessory = new api.platformAccessory<OutletContext>('Lamp', api.hap.uuid.generate(sim.uuid), api.hap.Categories.OUTLET);
  cached?.(accessory, api);
  const r = { api, sim, plug, accessory, cacheWrites: 0 } as Rig;
  r.adapter = new OutletAdapter(api, eve, accessory, plug, { cacheChanged: () => void r.cacheWrites++ });
  adapters.push(r.adapter);
  r.shape = () => ({
    outlet: accessory.getService(api.hap.Service.Outlet)!.characteristics.map((c) => c.UUID),
    history: accessory.services.some((s) => s.UUID === HISTORY_SERVICE_UUID),
  });
  return r;
}

const EVE = (id: string): string => `E863F${id}-079E-48FF-8F27-9C2605A29F52`;
const ON = '00000025-0000-1000-8000-0026BB765291';
const IN_USE = '00000026-0000-1000-8000-0026BB765291';
const NAME = '00000023-0000-1000-8000-0026BB765291';
const ENERGY = [EVE('10D'), EVE('126'), EVE('10A'), EVE('10C'), EVE('112')];

describe('HomeKit Outlet: the characteristics the plug can fill', () => {
  it('gives a metering MSS310 the Eve power, voltage, current, total, Reset Total and history', async () => {
    const r = await rig({ firmware: 2 });
    await r.plug.pollNow();
    expect(r.shape().outlet).toEqual(expect.arrayContaining([ON, IN_USE, ...ENERGY]));
    expect(r.shape().history).toBe(true);
    expect(r.accessory.context.metering).toEqual({ power: true, total: true });
  });

  it('gives a plug without a meter On and Outlet In Use only, removes what a cached accessory had, and switches it', async () => {
    // Cached by an older version: every plug had the whole Eve set and a history service.
    const r = await rig({ model: 'mss110' });
    expect(r.shape().outlet).toEqual(expect.arrayContaining(ENERGY));
    await r.plug.pollNow();
    expect(r.plug.abilities?.electricity).toBe(false);
    expect(r.shape().outlet.sort()).toEqual([NAME, ON, IN_USE].sort());
    expect(r.shape().history).toBe(false);
    expect(r.accessory.context.metering).toEqual({ power: false, total: false });
    // One for the characteristics removed, one for the firmware seen for the first time.
    expect(r.cacheWrites).toBe(2);
    // The estimate line is for plugs with power readings only.
    expect((r.plug.log as ReturnType<typeof captureLog>).lines.filter(([, m]) => /estimated/.test(m))).toEqual([]);
    await r.plug.setOn(!r.sim.isOn);
    expect(r.sim.isOn).toBe(r.plug.snapshot.on);
  });

  it('shows a cached meter-less plug without energy characteristics before it answers, and adds them if it starts to meter', async () => {
    const r = await rig({ firmware: 2 }, (accessory) => {
      accessory.context.metering = { power: false, total: false };
    });
    expect(r.shape().outlet.sort()).toEqual([NAME, ON, IN_USE].sort());
    expect(r.shape().history).toBe(false);
    await r.plug.pollNow();
    expect(r.shape().outlet).toEqual(expect.arrayContaining(ENERGY));
    expect(r.shape().history).toBe(true);
    expect(r.cacheWrites).toBe(2);
  });

  it('says once when the firmware changed since the last start, and nothing the first time', async () => {
    const first = await rig({ firmware: 2 });
    await first.plug.pollNow();
    expect(first.accessory.context.firmware).toBe('2.1.17');
    const again = await rig({ firmware: 2 }, (accessory) => {
      accessory.context.firmware = '2.1.16';
    });
    await again.plug.pollNow();
    await again.plug.pollNow();
    const lines = (p: Plug): string[] => (p.log as ReturnType<typeof captureLog>).lines.map(([, m]) => m);
    expect(lines(first.plug).filter((m) => /firmware changed/.test(m))).toEqual([]);
    expect(lines(again.plug).filter((m) => /firmware changed/.test(m))).toEqual([
      'Lamp: its firmware changed from 2.1.16 to 2.1.17 since the last start. Updates have changed local control before; if the plug now misbehaves, say which firmware in a bug report.',
    ]);
    // And once per run, what the plug is and how it hears the Wi-Fi.
    expect(lines(again.plug).filter((m) => /^Lamp: MSS310 hardware/.test(m))).toEqual(['Lamp: MSS310 hardware 2.0.0, firmware 2.1.17, Wi-Fi signal 76 %.']);
  });
});

describe('HomeKit: a power strip', () => {
  const CONFIGURED_NAME = '000000E3-0000-1000-8000-0026BB765291';

  interface StripRig extends Omit<Rig, 'shape'> {
    /** The Outlet services by subtype ('' for an untyped one): their characteristic UUIDs. */
    outlets(): Record<string, string[]>;
    service(channel: number): Service;
  }

  async function stripRig(options: { model?: SimulatorOptions['model']; restoredOutlets?: unknown; cached?: (accessory: PlatformAccessory<OutletContext>, api: API) => void }): Promise<StripRig> {
    const api = await homebridgeApi();
    const sim = await SimulatedPlug.start({ model: options.model ?? 'mss425e', on: false });
    sims.push(sim);
    const plug = new Plug({ host: sim.address, key: sim.key, uuid: sim.uuid, name: 'Strip', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 2000, outletInUseWatts: 2, restoredOutlets: options.restoredOutlets, log: captureLog() });
    plugs.push(plug);
    const accessory = new api.platformAccessory<OutletContext>('Strip', api.hap.uuid.generate(sim.uuid), api.hap.Categories.OUTLET);
    options.cached?.(accessory, api);
    const r = { api, sim, plug, accessory, cacheWrites: 0 } as StripRig;
    r.adapter = new OutletAdapter(api, makeEveTypes(api), accessory, plug, { cacheChanged: () => void r.cacheWrites++ });
    adapters.push(r.adapter);
    r.outlets = () => Object.fromEntries(accessory.services.filter((s) => s.UUID === api.hap.Service.Outlet.UUID).map((s) => [s.subtype ?? '', s.characteristics.map((c) => c.UUID)]));
    r.service = (channel) => {
      const found = accessory.getServiceById(api.hap.Service.Outlet, `outlet-${channel}`);
      if (!found) throw new Error(`no outlet-${channel}`);
      return found;
    };
    return r;
  }

  const name = (r: StripRig, channel: number): unknown => r.service(channel).getCharacteristic(r.api.hap.Characteristic.ConfiguredName).value;
  const on = (r: StripRig, channel: number) => r.service(channel).getCharacteristic(r.api.hap.Characteristic.On);

  it('shows one Outlet per outlet (no master, no meter), the first primary, each switching its own channel', async () => {
    const r = await stripRig({});
    await r.plug.pollNow();
    const outlets = r.outlets();
    expect(Object.keys(outlets).sort()).toEqual(['outlet-1', 'outlet-2', 'outlet-3', 'outlet-4']);
    for (const chars of Object.values(outlets)) expect(chars.sort()).toEqual([NAME, ON, IN_USE, CONFIGURED_NAME].sort());
    expect(r.accessory.services.some((s) => s.UUID === HISTORY_SERVICE_UUID)).toBe(false);
    expect(r.service(1).isPrimaryService).toBe(true);
    expect([1, 2, 3, 4].map((c) => name(r, c))).toEqual(['Outlet 1', 'Outlet 2', 'Outlet 3', 'Outlet 4']);

    await on(r, 3).handleSetRequest(true);
    expect(r.sim.channels.map((c) => r.sim.channelOn(c))).toEqual([true, false, false, true, false]);
    expect(await on(r, 3).handleGetRequest()).toBe(true);
    expect(await on(r, 2).handleGetRequest()).toBe(false);
    // A press on the strip shows on that outlet's service only, in use while it is on (a strip has no meter).
    r.sim.press(1);
    await r.plug.pollNow();
    expect([1, 2, 3, 4].map((c) => on(r, c).value)).toEqual([true, false, true, false]);
    expect(r.service(1).getCharacteristic(r.api.hap.Characteristic.OutletInUse).value).toBe(true);
    expect(r.accessory.context.outlets).toEqual({ 1: true, 2: false, 3: true, 4: false });
  });

  it('turns a cached single-outlet accessory (with the Eve set) into a strip on its first answer, and a cached strip that is none back', async () => {
    const toStrip = await stripRig({
      cached: (accessory, api) => {
        const outlet = accessory.addService(api.hap.Service.Outlet, 'Strip');
        for (const type of Object.values(makeEveTypes(api)).filter((t) => 'UUID' in t && ENERGY.includes((t as { UUID: string }).UUID))) {
          outlet.addCharacteristic(type as never);
        }
        accessory.context.metering = { power: true, total: true };
      },
    });
    expect(Object.keys(toStrip.outlets())).toEqual(['']);
    expect(toStrip.outlets()['']).toEqual(expect.arrayContaining(ENERGY));
    await toStrip.plug.pollNow();
    expect(Object.keys(toStrip.outlets()).sort()).toEqual(['outlet-1', 'outlet-2', 'outlet-3', 'outlet-4']);
    for (const chars of Object.values(toStrip.outlets())) for (const eve of ENERGY) expect(chars).not.toContain(eve);
    expect(toStrip.accessory.services.some((s) => s.UUID === HISTORY_SERVICE_UUID)).toBe(false);
    expect(toStrip.cacheWrites).toBeGreaterThan(0);
    expect((toStrip.plug.log as ReturnType<typeof captureLog>).lines).toContainEqual(['info', 'Strip: shown as 4 outlets (Outlet 1, Outlet 2, Outlet 3, Outlet 4).']);

    // The other way: the cache (services and remembered outlets) says strip, the device is a single plug.
    const toSingle = await stripRig({
      model: 'mss210',
      restoredOutlets: { 1: true, 2: false },
      cached: (accessory, api) => {
        for (const c of [1, 2]) accessory.addService(api.hap.Service.Outlet, `Outlet ${c}`, `outlet-${c}`);
      },
    });
    expect(toSingle.plug.isStrip).toBe(true);
    expect(Object.keys(toSingle.outlets()).sort()).toEqual(['outlet-1', 'outlet-2']);
    await toSingle.plug.pollNow();
    expect(toSingle.plug.isStrip).toBe(false);
    expect(Object.keys(toSingle.outlets())).toEqual(['']);
    expect(toSingle.accessory.context.outletNames).toBeUndefined();
    expect(toSingle.accessory.context.outlets).toBeUndefined();
    const single = toSingle.accessory.getService(toSingle.api.hap.Service.Outlet)!;
    await single.getCharacteristic(toSingle.api.hap.Characteristic.On).handleSetRequest(true);
    expect(toSingle.sim.isOn).toBe(true);
  });

  it('shows a restarted strip\'s outlets from the cache before it answers', async () => {
    const r = await stripRig({ restoredOutlets: { 1: false, 2: true, 3: false, 4: true } });
    expect(Object.keys(r.outlets()).sort()).toEqual(['outlet-1', 'outlet-2', 'outlet-3', 'outlet-4']);
    expect(await Promise.all([1, 2, 3, 4].map((c) => on(r, c).handleGetRequest()))).toEqual([false, true, false, true]);
  });

  it('takes the Meross app\'s outlet names, also when they come later, but keeps a name the user gave in the Home app', async () => {
    const r = await stripRig({});
    await r.plug.pollNow();
    expect(name(r, 1)).toBe('Outlet 1');
    // The user renames outlet 2 in the Home app (HAP writes ConfiguredName).
    await r.service(2).getCharacteristic(r.api.hap.Characteristic.ConfiguredName).handleSetRequest('Aquarium');
    const writes = r.cacheWrites;
    r.plug.labelOutlets(
      new Map([
        [1, { name: 'Desk lamp', usb: false }],
        [2, { name: 'Radio', usb: false }],
        [4, { name: '', usb: true }],
      ]),
    );
    expect([1, 2, 3, 4].map((c) => name(r, c))).toEqual(['Desk lamp', 'Aquarium', 'Outlet 3', 'USB']);
    expect(r.service(1).getCharacteristic(r.api.hap.Characteristic.Name).value).toBe('Desk lamp');
    expect(r.accessory.context.outletNames).toMatchObject({ 1: 'Desk lamp', 3: 'Outlet 3', 4: 'USB' });
    expect(r.cacheWrites).toBeGreaterThan(writes);
  });
});
