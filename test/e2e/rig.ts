import { afterAll } from 'vitest';
import type { HttpClient } from 'hap-controller';
import type { SimulatedPlug } from '../../src/simulator';
import type { Homebridge } from './homebridge';

/** What an end-to-end file runs: simulated plugs, one Homebridge and a HAP client, all stopped after the file. */
export interface E2eRig {
  sims: SimulatedPlug[];
  hb: Homebridge | undefined;
  hap: HttpClient | undefined;
}

/** Call inside a `describe`: registers the clean-up (client first, then Homebridge, then the plugs). */
export function e2eRig(): E2eRig {
  const rig: E2eRig = { sims: [], hb: undefined, hap: undefined };
  afterAll(async () => {
    await rig.hap?.close();
    await rig.hb?.stop();
    await Promise.all(rig.sims.map((s) => s.stop()));
  });
  return rig;
}
