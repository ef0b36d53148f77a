import { describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { Homebridge } from './homebridge';
import { e2eRig } from './rig';
import { accessories } from './hap';

describe('a bridge full of plugs (Homebridge 2)', () => {
  const rig = e2eRig();
  const { sims } = rig;

  it('publishes the first 149 plugs and says once how to split the rest over child bridges', async () => {
    sims.push(...(await Promise.all(Array.from({ length: 151 }, () => SimulatedPlug.start({ firmware: 2 })))));
    rig.hb = await Homebridge.start({
      debug: false,
      platform: {
        pollInterval: 30,
        devices: sims.map((s, i) => ({ name: `Plug ${i + 1}`, host: s.address, key: s.key, uuid: s.uuid })),
      },
    });
    const limit = await rig.hb.waitForLog(/at most 149 accessories.*/);
    expect(limit[0]).toMatch(/child bridge/);
    rig.hap = await rig.hb.pair();
    expect(await accessories(rig.hap)).toHaveLength(149);
    expect(rig.hb.logs.filter((l) => /at most 149 accessories/.test(l))).toHaveLength(1);
    expect(rig.hb.running).toBe(true);
  }, 90_000);
});
