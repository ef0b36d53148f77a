/**
 * Accessory lifecycle across Homebridge restarts: keyed by the plug's uuid, restored from the cache before any
 * plug answers, kept through renames and outages, removed only when the user removes the plug from the config.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug } from '../../src/simulator';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { accessories, accessoryBySerial, readOne, TYPES } from './hap';

describe('accessory lifecycle (Homebridge 2)', () => {
  const sims: SimulatedPlug[] = [];
  let hb: Homebridge | undefined;
  let hap: HttpClient | undefined;

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('restores, renames and removes accessories only as the user asks', async () => {
    const [a, b] = await Promise.all([SimulatedPlug.start({ firmware: 2, on: true }), SimulatedPlug.start({ firmware: 1 })]);
    sims.push(a, b);
    const storageDir = makeTempDir('hb-lifecycle');
    const port = await freePort();
    const username = '0E:11:22:33:44:55';
    const platform = (devices: unknown[]): Record<string, unknown> => ({ pollInterval: 1, timeout: 1, devices });

    // First run: plug A by host only (its uuid is learned), plug B by host and uuid.
    hb = await Homebridge.start({
      storageDir,
      port,
      username,
      platform: platform([
        { name: 'Plug A', host: a.address, key: a.key },
        { name: 'Plug B', host: b.address, key: b.key, uuid: b.uuid },
      ]),
    });
    await hb.waitForLog(/Plug A: added to HomeKit/);
    hap = await hb.pair();
    const pairing = hap.getLongTermData()!;
    const aidA = (await accessoryBySerial(hap, a.uuid)).aid;
    const aidB = (await accessoryBySerial(hap, b.uuid)).aid;
    await hap.close();
    await hb.stop({ keepStorage: true });

    // Second run: A is unreachable and renamed in the config, B left the config.
    await a.setFault({ type: 'offline' });
    hb = await Homebridge.start({ storageDir, port, username, platform: platform([{ name: 'Plug A renamed', host: a.address, key: a.key }]) });
    hap = hb.connect(pairing);
    const restored = await accessories(hap);
    expect(restored.map((x) => x.aid)).toEqual([aidA]);
    expect(restored[0].info(TYPES.SerialNumber)).toBe(a.uuid);
    expect(restored[0].info(TYPES.Name)).toBe('Plug A renamed');
    expect(hb.logs.some((l) => l.includes('Plug B: removed (no longer in the config)'))).toBe(true);
    expect(hb.logs.some((l) => /Plug A renamed: added to HomeKit/.test(l))).toBe(false);
    expect(aidB).not.toBe(aidA);

    // Unreachable: No Response, but the accessory (and the user's rooms and automations) stays.
    await hb.waitForLog(/Plug A renamed: .*cannot connect/, 10_000);
    const onId = restored[0].id(TYPES.Outlet, TYPES.On);
    expect((await readOne(hap, onId)).status).toBe(-70402);
    await a.setFault(null);
    await hb.waitForLog(/Plug A renamed: back online/, 5000);
    expect(Boolean((await readOne(hap, onId)).value)).toBe(true);
    expect((await accessories(hap)).map((x) => x.aid)).toEqual([aidA]);
  });
});
