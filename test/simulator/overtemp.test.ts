import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OverTempState } from '../../src/simulator';
import { TestBroker, push } from './broker';
import { get, set, simulatedPlugs } from './helpers';

const CONFIG = 'Appliance.Config.OverTemp';
const CONTROL = 'Appliance.Control.OverTemp';

const start = simulatedPlugs();

describe('over-temperature protection (mss305 / mss110 traces, node-meross-sdk codec)', () => {
  it('Config.OverTemp answers as the traced plugs did, and takes enable 1/2', async () => {
    const mss305 = await start({ model: 'mss305' });
    expect((await get(mss305, CONFIG, { overTemp: {} })).payload).toEqual({ overTemp: { enable: 1, type: 1 } });
    expect((await set(mss305, CONFIG, { overTemp: { enable: 2 } })).payload).toEqual({});
    expect((await get(mss305, CONFIG, { overTemp: {} })).payload).toEqual({ overTemp: { enable: 2, type: 1 } });
    await expect(set(mss305, CONFIG, { overTemp: { enable: 0 } })).rejects.toThrow('dropped');
    const mss110 = await start({ model: 'mss110' });
    expect(mss110.channels).toEqual([0]);
  });

  it('Control.OverTemp: GET with [] or {} is dropped like on the traced plugs; GET naming channel 0 answers', async () => {
    const plug = await start({ model: 'mss305' });
    await expect(get(plug, CONTROL, { overTemp: [] })).rejects.toThrow('dropped');
    await expect(get(plug, CONTROL, { overTemp: {} })).rejects.toThrow('dropped');
    await expect(get(plug, CONTROL, { overTemp: [{ channel: 1 }] })).rejects.toThrow('dropped');
    expect((await get(plug, CONTROL, { overTemp: [{ channel: 0 }] })).payload).toEqual({ overTemp: [{ channel: 0, value: 2, type: 1, timestamp: 0 }] });
  });

  it('setOverTemp reports the state; shutoff-relay cuts the relay', async () => {
    const now = 1_739_780_000_000;
    const plug = await start({ model: 'mss305', on: true, now: () => now });
    const seen: OverTempState[] = [];
    plug.on('overtemp', (s) => seen.push(s));
    plug.setOverTemp(true);
    expect(plug.isOn).toBe(true);
    expect((await get(plug, CONTROL, { overTemp: [{ channel: 0 }] })).payload.overTemp).toEqual([{ channel: 0, value: 1, type: 1, timestamp: now / 1000 }]);
    plug.setOverTemp(true, 'shutoff-relay');
    expect(plug.isOn).toBe(false);
    expect((await get(plug, CONTROL, { overTemp: [{ channel: 0 }] })).payload.overTemp[0]).toMatchObject({ value: 1, type: 2 });
    plug.setOverTemp(false);
    expect(plug.overTemp).toEqual({ active: false, type: 'early-warning', timestamp: now / 1000 });
    expect(seen.map((s) => [s.active, s.type])).toEqual([
      [true, 'early-warning'],
      [true, 'shutoff-relay'],
      [false, 'early-warning'],
    ]);
  });

  it('models without the namespace neither answer it nor accept setOverTemp', async () => {
    const mss310 = await start();
    await expect(get(mss310, CONFIG, { overTemp: {} })).rejects.toThrow('dropped');
    await expect(get(mss310, CONTROL, { overTemp: [{ channel: 0 }] })).rejects.toThrow('dropped');
    expect(() => mss310.setOverTemp(true)).toThrow(/no Appliance.Control.OverTemp/);
    const strip = await start({ model: 'mss425e' });
    expect(() => strip.setOverTemp(true)).toThrow(/mss425e/);
  });
});

describe('over-temperature over MQTT', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await TestBroker.start();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('pushes {"overTemp":{value,type,timestamp}}; a relay cut also pushes the ToggleX change', async () => {
    const plug = await start({ model: 'mss305', on: true, mqtt: { broker: broker.address, userId: 1, reconnectMs: 100 } });
    await broker.listen(plug.uuid);
    if (!plug.mqtt?.connected) await new Promise<void>((resolve) => plug.on('mqtt', (s) => s === 'connected' && resolve()));
    plug.setOverTemp(true, 'shutoff-relay');
    const message = await broker.next(push(CONTROL));
    expect(message.payload).toEqual({ overTemp: { value: 1, type: 2, timestamp: expect.any(Number) } });
    expect((await broker.next(push('Appliance.Control.ToggleX'))).payload).toEqual({ togglex: [{ channel: 0, onoff: 0, lmTime: expect.any(Number) }] });
    plug.setOverTemp(false);
    expect((await broker.next(push(CONTROL, (p) => (p.overTemp as { value: number }).value === 2))).payload.overTemp).toMatchObject({ value: 2 });
  });
});
