import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { TestBroker, push } from './broker';
import { set } from './helpers';

const TOGGLEX = 'Appliance.Control.ToggleX';

let broker: TestBroker;
const plugs: SimulatedPlug[] = [];
beforeAll(async () => {
  broker = await TestBroker.start();
});
afterAll(async () => {
  await broker.stop();
});
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
});

/** A simulated plug logged in to the test broker, with the broker listening to what it publishes. */
async function online(options: SimulatorOptions): Promise<SimulatedPlug> {
  const plug = await SimulatedPlug.start({ ...options, mqtt: { broker: broker.address, userId: 1, reconnectMs: 100 } });
  plugs.push(plug);
  await broker.listen(plug.uuid);
  if (!plug.mqtt?.connected) await new Promise<void>((resolve) => plug.on('mqtt', (s) => s === 'connected' && resolve()));
  broker.clear();
  return plug;
}

type Item = { channel: number; onoff: number; lmTime: number };
const items = (payload: Record<string, unknown>): Item[] => payload.togglex as Item[];

describe('simulated strip over MQTT: ToggleX pushes list the channels that changed', () => {
  it('an outlet pushes itself, and the master when that moved too', async () => {
    const strip = await online({ model: 'mss425e', on: false });
    await set(strip, TOGGLEX, { togglex: { channel: 2, onoff: 1 } });
    const first = await broker.next(push(TOGGLEX));
    expect(items(first.payload)).toEqual([
      { channel: 0, onoff: 1, lmTime: expect.any(Number) },
      { channel: 2, onoff: 1, lmTime: expect.any(Number) },
    ]);
    broker.clear();
    strip.press(3);
    const second = await broker.next(push(TOGGLEX));
    expect(items(second.payload)).toEqual([{ channel: 3, onoff: 1, lmTime: expect.any(Number) }]);
    expect(first.header).toMatchObject({ from: `/appliance/${strip.uuid}/publish`, method: 'PUSH' });
  });

  it('the master pushes itself and every outlet it moved, in one message', async () => {
    const strip = await online({ model: 'mss425e', on: false });
    strip.setOn(true, 1);
    await broker.next(push(TOGGLEX));
    broker.clear();
    await set(strip, TOGGLEX, { togglex: { channel: 0, onoff: 0 } });
    const master = await broker.next(push(TOGGLEX));
    expect(items(master.payload).map((i) => [i.channel, i.onoff])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    broker.clear();
    strip.setOn(true);
    const all = await broker.next(push(TOGGLEX));
    expect(items(all.payload).map((i) => i.channel)).toEqual([0, 1, 2, 3, 4]);
    expect(broker.messages.filter((m) => m.header.namespace === TOGGLEX)).toHaveLength(1);
  });

  it('a single plug pushes as before: one list item for channel 0', async () => {
    const plug = await online({ model: 'mss305', on: false });
    plug.press();
    const message = await broker.next(push(TOGGLEX));
    expect(message.payload).toEqual({ togglex: [{ channel: 0, onoff: 1, lmTime: expect.any(Number) }] });
  });
});
