import { afterEach, describe, expect, it } from 'vitest';
import { Plug } from '../../src/plug/plug';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { captureLog } from '../plug/capture-log';

const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function run(options: SimulatorOptions): Promise<{ sim: SimulatedPlug; plug: Plug }> {
  const sim = await SimulatedPlug.start(options);
  sims.push(sim);
  const plug = new Plug({ host: sim.address, key: sim.key, name: 'Plug', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 2000, outletInUseWatts: 2, log: captureLog() });
  plugs.push(plug);
  await plug.pollNow();
  return { sim, plug };
}

describe('the plug family in the simulator, driven by the real plug model', () => {
  it('MSS210 fw 1.1.12 (trace): Toggle, no meter, switches; nothing to count', async () => {
    const { sim, plug } = await run({ model: 'mss210', on: false });
    expect(sim.firmware).toBe(1);
    expect(plug.info).toMatchObject({ model: 'mss210', firmwareVersion: '1.1.12', hardwareVersion: '1.0.0' });
    expect(plug.abilities).toMatchObject({ toggle: 'Appliance.Control.Toggle', multipleMax: 0, electricity: false, consumptionX: false });
    await plug.setOn(true);
    expect(sim.isOn).toBe(true);
    expect(plug.snapshot).toMatchObject({ on: true, watts: 0, totalKWh: 0 });
    expect(sim.requests.some((r) => /Electricity|Consumption/.test(r.namespace))).toBe(false);
  });

  it('MSS305 fw 8.3.15 (trace): list-form ToggleX, Multiple of 3, power and the daily meter', async () => {
    const { sim, plug } = await run({ model: 'mss305', on: true, watts: 5.3, volts: 233.1, amps: 0.029 });
    expect(sim.firmware).toBe(2);
    expect(plug.info).toMatchObject({ model: 'mss305', firmwareVersion: '8.3.15' });
    expect(plug.abilities).toMatchObject({ toggle: 'Appliance.Control.ToggleX', multipleMax: 3, electricity: true, consumptionX: true });
    expect(plug.snapshot).toMatchObject({ on: true, watts: 5.3, volts: 233.1, amps: 0.029 });
    expect(plug.snapshot.totalKWh).toBeGreaterThan(0);
    await plug.setOn(false);
    expect(sim.isOn).toBe(false);
  });
});
