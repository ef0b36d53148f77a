/**
 * The HomeKit acceptance test, run once per Homebridge generation by outlet-v2.test.ts / outlet-v1.test.ts:
 * a real Homebridge with the built plugin, simulated plugs, and a real HAP controller.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug, type RequestRecord } from '../../src/simulator';
import { Homebridge, type HomebridgeVersion } from './homebridge';
import { accessories, accessoryBySerial, nextEvent, read, readOne, TYPES, write, type AccessoryView } from './hap';

const COMMUNICATION_FAILURE = -70402;
const POLL_S = 1;

export function outletSuite(version: HomebridgeVersion, expectedNodeMajor: number): void {
  describe(`Homebridge ${version}: MerossLan outlets`, () => {
    let fw2: SimulatedPlug;
    let fw1: SimulatedPlug;
    let lf: SimulatedPlug;
    let wrongKey: SimulatedPlug;
    let hb: Homebridge;
    let hap: HttpClient;
    let views: Map<SimulatedPlug, AccessoryView>;

    beforeAll(async () => {
      [fw2, fw1, lf, wrongKey] = await Promise.all([
        SimulatedPlug.start({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 }),
        SimulatedPlug.start({ firmware: 1, on: false, watts: 12.3, volts: 238.7, amps: 0.06 }),
        SimulatedPlug.start({ firmware: 2, lfOnly: true, on: true, watts: 5.5, volts: 229.9, amps: 0.03 }),
        SimulatedPlug.start({ firmware: 2 }),
      ]);
      hb = await Homebridge.start({
        version,
        ...(version === 'v2' && expectedNodeMajor === 24 ? { node: '24' as const } : {}),
        platform: {
          pollInterval: POLL_S,
          energyPollInterval: 2,
          timeout: 3,
          devices: [
            { name: 'Desk lamp', host: fw2.address, key: fw2.key },
            { name: 'Old heater', host: fw1.address, key: fw1.key },
            { name: 'LF plug', host: lf.address, key: lf.key },
            { name: 'Wrong key', host: wrongKey.address, key: 'not-the-key', uuid: wrongKey.uuid },
          ],
        },
      });
      await Promise.all(['Desk lamp', 'Old heater', 'LF plug'].map((n) => hb.waitForLog(new RegExp(`${n}: added to HomeKit`))));
      hap = await hb.pair();
      views = new Map();
      for (const plug of [fw2, fw1, lf, wrongKey]) views.set(plug, await accessoryBySerial(hap, plug.uuid).catch(() => undefined as never));
    });

    afterAll(async () => {
      await hap?.close();
      await hb?.stop();
      await Promise.all([fw2, fw1, lf, wrongKey].map((p) => p?.stop()));
    });

    it(`runs on Node ${expectedNodeMajor}`, () => {
      const line = hb.logs.find((l) => /homebridge-meross-lan .* on Homebridge .*, Node v\d+/.test(l));
      expect(line, 'the plugin logs the versions it runs on').toBeDefined();
      expect(line).toMatch(new RegExp(`v${expectedNodeMajor}\\.`));
    });

    it('publishes one outlet per plug with the information the plug reports', async () => {
      const all = await accessories(hap);
      expect(all).toHaveLength(4);
      for (const [plug, name, hw, fwv] of [
        [fw2, 'Desk lamp', '2.0.0', '2.1.17'],
        [fw1, 'Old heater', '1.0.0', '1.1.18'],
      ] as const) {
        const view = views.get(plug)!;
        expect(view.info(TYPES.Name)).toBe(name);
        expect(view.info(TYPES.Manufacturer)).toBe('Meross');
        expect(view.info(TYPES.Model)).toBe('MSS310');
        expect(view.info(TYPES.SerialNumber)).toBe(plug.uuid);
        expect(view.info(TYPES.HardwareRevision)).toBe(hw);
        expect(view.info(TYPES.FirmwareRevision)).toBe(fwv);
      }
    });

    it('exposes On, OutletInUse and the Eve energy characteristics on the Outlet service', () => {
      const view = views.get(fw2)!;
      for (const type of [TYPES.On, TYPES.OutletInUse, TYPES.EvePower, TYPES.EveVoltage, TYPES.EveCurrent, TYPES.EveTotal, TYPES.EveResetTotal]) {
        expect(view.characteristic(TYPES.Outlet, type), type).toBeDefined();
      }
      const power = view.characteristic(TYPES.Outlet, TYPES.EvePower)!;
      expect(power.format).toBe('float');
      expect(power.unit).toBe('W');
      expect(power.perms).toEqual(expect.arrayContaining(['pr', 'ev']));
      expect(view.characteristic(TYPES.Outlet, TYPES.EveResetTotal)!.perms).toContain('pw');
    });

    it('reports the watts, volts and amps the plug measures', async () => {
      for (const plug of [fw2, fw1, lf]) {
        const view = views.get(plug)!;
        const ids = [TYPES.On, TYPES.EvePower, TYPES.EveVoltage, TYPES.EveCurrent, TYPES.OutletInUse].map((t) => view.id(TYPES.Outlet, t));
        const values = await read(hap, ids);
        const r = plug.readings;
        expect(Boolean(values[ids[0]].value), `fw ${plug.firmware} at ${plug.address}: ${JSON.stringify(values)}`).toBe(plug.isOn);
        expect(values[ids[1]].value).toBeCloseTo(r.watts, 1);
        expect(values[ids[2]].value).toBeCloseTo(r.volts, 1);
        expect(values[ids[3]].value).toBeCloseTo(r.amps, 2);
        expect(Boolean(values[ids[4]].value)).toBe(plug.isOn && r.watts > 2);
      }
    });

    it('reports the total energy from the plug meter, to the Wh', async () => {
      const view = views.get(fw2)!;
      const id = view.id(TYPES.Outlet, TYPES.EveTotal);
      // What the plug's ConsumptionX adds up to right now: the meter books whole Wh, and today's figure only grows.
      const meterWh = (): number => fw2.consumption.filter((d) => d.date >= '2000').reduce((s, d) => s + d.value, 0);
      // Catch a meter read as it arrives: the reply is built in the same tick, so it holds at least this much.
      const atRead = await new Promise<number>((resolve) => {
        const onRequest = (r: RequestRecord): void => {
          if (r.namespace !== 'Appliance.Control.ConsumptionX') return;
          fw2.off('request', onRequest);
          resolve(meterWh());
        };
        fw2.on('request', onRequest);
      });
      // The meter read ends its poll cycle: the plug's next request comes from a later cycle, once the plugin has
      // taken the reply in. No clock involved.
      await once(fw2, 'request');
      const value = (await readOne(hap, id)).value as number;
      const now = meterWh();
      const wh = value * 1000;
      expect(wh, 'whole Wh, as the meter books them').toBeCloseTo(Math.round(wh), 6);
      // Exactly the meter's figure at a read between the one seen above and now (61.5 W books a Wh a minute, so the
      // two ends are the same figure or one step apart; a slow machine only widens the bracket, never breaks it).
      expect(Math.round(wh)).toBeGreaterThanOrEqual(atRead);
      expect(Math.round(wh)).toBeLessThanOrEqual(now);
    });

    it('sends ToggleX to a firmware 2 plug and Toggle to a firmware 1 plug when HomeKit writes On', async () => {
      for (const [plug, namespace] of [
        [fw2, 'Appliance.Control.ToggleX'],
        [fw1, 'Appliance.Control.Toggle'],
        [lf, 'Appliance.Control.ToggleX'],
      ] as const) {
        const target = !plug.isOn;
        const seen = new Promise<void>((resolve) => {
          const onToggle = (e: { on: boolean; source: string }): void => {
            if (e.source === 'request' && e.on === target) {
              plug.off('toggle', onToggle);
              resolve();
            }
          };
          plug.on('toggle', onToggle);
        });
        const status = await write(hap, views.get(plug)!.id(TYPES.Outlet, TYPES.On), target);
        expect(status).toBe(0);
        await seen;
        expect(plug.isOn).toBe(target);
        const set = plug.requests.filter((r) => r.method === 'SET' && r.namespace === namespace);
        expect(set.length).toBeGreaterThan(0);
      }
    });

    it('turns a press of the plug button into a HomeKit event within one poll interval', async () => {
      const id = views.get(fw2)!.id(TYPES.Outlet, TYPES.On);
      await hap.subscribeCharacteristics([id]);
      const before = fw2.isOn;
      const event = nextEvent(hap, id, (v) => Boolean(v) === !before, (POLL_S + 1) * 1000 + 500);
      const pressedAt = performance.now();
      fw2.press();
      const ev = await event;
      expect(Boolean(ev.value)).toBe(!before);
      // One poll interval, plus HAP's ~250 ms event hold and a request round trip.
      expect(ev.at - pressedAt).toBeLessThan(POLL_S * 1000 + 750);
      await hap.unsubscribeCharacteristics([id]);
    });

    it('shows No Response while a plug is offline and recovers when it returns', async () => {
      const id = views.get(fw1)!.id(TYPES.Outlet, TYPES.On);
      const mark = hb.logs.length;
      await fw1.setFault({ type: 'offline' });
      await hb.waitForLog(/Old heater: .*not responding|Old heater: .*cannot connect/, 10_000, mark);
      expect((await readOne(hap, id)).status).toBe(COMMUNICATION_FAILURE);
      expect(await write(hap, id, true)).toBe(COMMUNICATION_FAILURE);
      const back = hb.logs.length;
      await fw1.setFault(null);
      await hb.waitForLog(/Old heater: back online/, (POLL_S + 2) * 1000, back);
      const after = await readOne(hap, id);
      expect(after.status ?? 0).toBe(0);
      expect(Boolean(after.value)).toBe(fw1.isOn);
    });

    it('tells the user about a wrong key once, shows No Response for that plug, and keeps the others working', async () => {
      await hb.waitForLog(/Wrong key: .*rejected the device key/);
      expect(hb.logs.filter((l) => /Wrong key: .*rejected the device key/.test(l))).toHaveLength(1);
      expect(hb.logs.join('\n')).not.toContain('not-the-key');
      const view = views.get(wrongKey)!;
      expect((await readOne(hap, view.id(TYPES.Outlet, TYPES.On))).status).toBe(COMMUNICATION_FAILURE);
      const ok = await readOne(hap, views.get(fw2)!.id(TYPES.Outlet, TYPES.On));
      expect(ok.status ?? 0).toBe(0);
      expect(hb.running).toBe(true);
    });

    it('logs no crash, unhandled rejection or stack trace', () => {
      const text = hb.logs.join('\n');
      expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
      expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    });
  });
}
