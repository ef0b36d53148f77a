import { afterEach, describe, expect, it } from 'vitest';
import { WrongKeyError } from '../../src/meross/errors';
import { Plug } from '../../src/plug/plug';
import { SimulatedPlug } from '../../src/simulator';
import { Log } from '../discovery/helpers';

const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function plugFor(key: string | undefined): Promise<{ sim: SimulatedPlug; plug: Plug }> {
  const sim = await SimulatedPlug.start({ host: '127.0.0.1', port: 0, key: 'the-right-key' });
  sims.push(sim);
  const plug = new Plug({ host: sim.address, key: key ?? sim.key, name: 'Desk', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 1000, outletInUseWatts: 2, log: new Log() });
  plugs.push(plug);
  return { sim, plug };
}

/** What the adapters (HomeKit, Matter) and the registry use of a plug: its own surface, never its client or options. */
describe('the plug model surface', () => {
  it('says where it is and what it can do once it answered', async () => {
    const { sim, plug } = await plugFor(undefined);
    expect([plug.address, plug.key, plug.abilities]).toEqual([sim.address, sim.key, undefined]);
    await plug.pollNow();
    expect(plug.abilities).toMatchObject({ toggle: 'Appliance.Control.ToggleX', electricity: true, consumptionX: true });
    expect(plug.switchRefusal).toBeUndefined();
  });

  it('refuses a switch, once for every adapter, while its key is wrong', async () => {
    const { plug } = await plugFor('a-wrong-key');
    await plug.pollNow();
    expect(plug.reachability).toBe('offline');
    expect(plug.switchRefusal).toBeInstanceOf(WrongKeyError);
  });

  it('is renamed through its own surface, and log lines follow the new name', async () => {
    const { plug } = await plugFor(undefined);
    plug.rename('Desk lamp');
    expect(plug.name).toBe('Desk lamp');
  });
});
