/**
 * Accessory lifecycle across Homebridge restarts: keyed by the plug's uuid, restored from the cache before any
 * plug answers, kept through renames and outages, removed only when the user removes the plug from the config.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { e2eRig } from './rig';
import { accessories, accessoryBySerial, readOne, TYPES } from './hap';

describe('accessory lifecycle (Homebridge 2)', () => {
  const rig = e2eRig();
  const { sims } = rig;

  it('restores, renames and removes accessories only as the user asks', async () => {
    const [a, b] = await Promise.all([SimulatedPlug.start({ firmware: 2, on: true }), SimulatedPlug.start({ firmware: 1 })]);
    sims.push(a, b);
    const storageDir = makeTempDir('hb-lifecycle');
    const port = await freePort();
    const username = '0E:11:22:33:44:55';
    const platform = (devices: unknown[]): Record<string, unknown> => ({ pollInterval: 1, timeout: 1, devices });

    // First run: plug A by host only (its uuid is learned), plug B by host and uuid.
    rig.hb = await Homebridge.start({
      storageDir,
      port,
      username,
      platform: platform([
        { name: 'Plug A', host: a.address, key: a.key },
        { name: 'Plug B', host: b.address, key: b.key, uuid: b.uuid },
      ]),
    });
    await rig.hb.waitForLog(/Plug A: added to HomeKit/);
    rig.hap = await rig.hb.pair();
    const pairing = rig.hap.getLongTermData()!;
    const aidA = (await accessoryBySerial(rig.hap, a.uuid)).aid;
    const aidB = (await accessoryBySerial(rig.hap, b.uuid)).aid;
    await rig.hap.close();
    await rig.hb.stop({ keepStorage: true });

    // Second run: A is unreachable and renamed in the config, B left the config.
    await a.setFault({ type: 'offline' });
    rig.hb = await Homebridge.start({ storageDir, port, username, platform: platform([{ name: 'Plug A renamed', host: a.address, key: a.key }]) });
    rig.hap = rig.hb.connect(pairing);
    const restored = await accessories(rig.hap);
    expect(restored.map((x) => x.aid)).toEqual([aidA]);
    expect(restored[0].info(TYPES.SerialNumber)).toBe(a.uuid);
    expect(restored[0].info(TYPES.Name)).toBe('Plug A renamed');
    expect(rig.hb.logs.some((l) => l.includes('Plug B: removed (no longer in the config)'))).toBe(true);
    expect(rig.hb.logs.some((l) => /Plug A renamed: added to HomeKit/.test(l))).toBe(false);
    expect(aidB).not.toBe(aidA);

    // Unreachable: No Response, but the accessory (and the user's rooms and automations) stays.
    await rig.hb.waitForLog(/Plug A renamed: .*cannot connect/, 10_000);
    const onId = restored[0].id(TYPES.Outlet, TYPES.On);
    expect((await readOne(rig.hap, onId)).status).toBe(-70402);
    await a.setFault(null);
    await rig.hb.waitForLog(/Plug A renamed: back online/, 5000);
    expect(Boolean((await readOne(rig.hap, onId)).value)).toBe(true);
    expect((await accessories(rig.hap)).map((x) => x.aid)).toEqual([aidA]);
  });
});
