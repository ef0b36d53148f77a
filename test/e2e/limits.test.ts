import { afterAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug } from '../../src/simulator';
import { Homebridge } from './homebridge';
import { accessories } from './hap';

describe('a bridge full of plugs (Homebridge 2)', () => {
  const sims: SimulatedPlug[] = [];
  let hb: Homebridge | undefined;
  let hap: HttpClient | undefined;

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('publishes the first 149 plugs and says once how to split the rest over child bridges', async () => {
    sims.push(...(await Promise.all(Array.from({ length: 151 }, () => SimulatedPlug.start({ firmware: 2 })))));
    hb = await Homebridge.start({
      debug: false,
      platform: {
        pollInterval: 30,
        devices: sims.map((s, i) => ({ name: `Plug ${i + 1}`, host: s.address, key: s.key, uuid: s.uuid })),
      },
    });
    const limit = await hb.waitForLog(/at most 149 accessories.*/);
    expect(limit[0]).toMatch(/child bridge/);
    hap = await hb.pair();
    expect(await accessories(hap)).toHaveLength(149);
    expect(hb.logs.filter((l) => /at most 149 accessories/.test(l))).toHaveLength(1);
    expect(hb.running).toBe(true);
  }, 90_000);
});
