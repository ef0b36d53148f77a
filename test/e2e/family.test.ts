/**
 * The plug family and the plug's own settings, end to end: a real Homebridge 2 with an MSS305 (fw 8.3.15) whose
 * config sets its status LED off and its Outlet In Use threshold, and an MSS210 without a meter; a real HAP client
 * reads what Apple Home would show. A restart with an older firmware in the accessory cache says once that the
 * firmware changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MerossClient } from '../../src/meross/client';
import { SimulatedPlug } from '../../src/simulator';
import { accessoryBySerial, longType, readOne, TYPES, write } from './hap';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { e2eRig } from './rig';

const EVE_ENERGY = [TYPES.EvePower, TYPES.EveVoltage, TYPES.EveCurrent, TYPES.EveTotal, TYPES.EveResetTotal];

describe('the plug family and per-plug settings (Homebridge 2)', () => {
  const rig = e2eRig();

  it('switches a meter-less MSS210, meters an MSS305, applies its LED and In Use settings, and logs a firmware change once', async () => {
    const fridge = await SimulatedPlug.start({ model: 'mss305', on: true, watts: 5.3, volts: 233.1, amps: 0.029 });
    const fan = await SimulatedPlug.start({ model: 'mss210', on: false });
    rig.sims.push(fridge, fan);
    const storageDir = makeTempDir('hb-family');
    const port = await freePort();
    const platform = {
      pollInterval: 1,
      energyPollInterval: 1,
      timeout: 1,
      outletInUseWatts: 2,
      devices: [
        // A fridge idles at 5 W: only above 10 W is it "in use".
        { name: 'Fridge', host: fridge.address, key: fridge.key, led: 'off', outletInUseWatts: 10 },
        { name: 'Fan', host: fan.address, key: fan.key },
      ],
    };
    rig.hb = await Homebridge.start({ storageDir, port, platform });
    const username = rig.hb.username;
    await rig.hb.waitForLog(/Fridge: meter read/);
    await rig.hb.waitForLog(/Fan: added to HomeKit/);
    rig.hap = await rig.hb.pair();
    const pairing = rig.hap.getLongTermData()!;

    // The LED setting reached the plug, and was said once.
    const reader = new MerossClient({ host: fridge.address, key: fridge.key, retries: 0 });
    expect(await reader.ledOn()).toBe(false);
    expect(rig.hb.logs.filter((l) => /Fridge: turned the status LED off, as configured/.test(l))).toHaveLength(1);

    // The MSS305: W/V/A and the meter; at 5.3 W not "in use" with its own 10 W threshold.
    const fridgeView = await accessoryBySerial(rig.hap, fridge.uuid);
    expect((await readOne(rig.hap, fridgeView.id(TYPES.Outlet, TYPES.EvePower))).value).toBe(5.3);
    expect(Boolean((await readOne(rig.hap, fridgeView.id(TYPES.Outlet, TYPES.OutletInUse))).value)).toBe(false);
    expect((await readOne(rig.hap, fridgeView.id(TYPES.Outlet, TYPES.EveTotal))).value as number).toBeGreaterThan(0);

    // The MSS210: a plain Outlet that switches.
    const fanView = await accessoryBySerial(rig.hap, fan.uuid);
    const fanOutlet = fanView.service(TYPES.Outlet)!.characteristics.map((c) => longType(c.type));
    for (const eve of EVE_ENERGY) expect(fanOutlet).not.toContain(eve);
    expect(await write(rig.hap, fanView.id(TYPES.Outlet, TYPES.On), true)).toBe(0);
    expect(fan.isOn).toBe(true);
    expect(rig.hb.logs.filter((l) => /Fan: .*estimated/.test(l))).toEqual([]);

    // A restart after a firmware update: the cache remembers 8.3.14, the plug now runs 8.3.15.
    await rig.hap.close();
    rig.hap = undefined;
    await rig.hb.stop({ keepStorage: true });
    const cacheFile = join(storageDir, 'accessories', 'cachedAccessories');
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as Array<{ context: { plugUuid?: string; firmware?: string } }>;
    const cachedFridge = cache.find((a) => a.context.plugUuid === fridge.uuid)!;
    expect(cachedFridge.context.firmware).toBe('8.3.15');
    cachedFridge.context.firmware = '8.3.14';
    writeFileSync(cacheFile, JSON.stringify(cache));
    rig.hb = await Homebridge.start({ storageDir, port, username, platform });
    rig.hap = rig.hb.connect(pairing);
    await rig.hb.waitForLog(/Fridge: meter read/);
    await rig.hb.waitForLog(/Fan: meter read|Fan: MSS210 hardware/);
    expect(rig.hb.logs.filter((l) => /firmware changed/.test(l))).toEqual([
      expect.stringMatching(/Fridge: its firmware changed from 8\.3\.14 to 8\.3\.15 since the last start/) as unknown as string,
    ]);
    // The LED is still off: nothing was sent again.
    expect(rig.hb.logs.filter((l) => /turned the status LED/.test(l))).toEqual([]);
    expect(rig.hb.logs.join('\n')).not.toMatch(/unhandledRejection|uncaughtException|\n\s+at .+\(.+:\d+:\d+\)/i);
  }, 90_000);
});
