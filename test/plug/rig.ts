import { afterEach } from 'vitest';
import { Plug, type PlugOptions } from '../../src/plug/plug';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { captureLog, type CapturedLog } from './capture-log';

export interface PlugRig {
  /** A simulated plug and a plug model talking to it, with `defaults` and then `opts` as the model's options. */
  setup(sim?: SimulatorOptions, opts?: Partial<PlugOptions>): Promise<{ sim: SimulatedPlug; plug: Plug; log: CapturedLog }>;
  /** A plug model made by the test itself, stopped after it like the others. */
  track(plug: Plug): Plug;
}

/** Plug models against simulated plugs for the calling test file; all are stopped after each test. */
export function plugRig(defaults: Omit<PlugOptions, 'host' | 'key' | 'log'>): PlugRig {
  const sims: SimulatedPlug[] = [];
  const plugs: Plug[] = [];
  afterEach(async () => {
    await Promise.all(plugs.splice(0).map((p) => p.stop()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });
  return {
    async setup(sim = {}, opts = {}) {
      const s = await SimulatedPlug.start(sim);
      sims.push(s);
      const log = captureLog();
      const plug = new Plug({ host: s.address, key: s.key, log, ...defaults, ...opts });
      plugs.push(plug);
      return { sim: s, plug, log };
    },
    track(plug) {
      plugs.push(plug);
      return plug;
    },
  };
}
