import { resolve } from 'node:path';
import type { API, PlatformAccessory } from 'homebridge' with { 'resolution-mode': 'import' };
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
