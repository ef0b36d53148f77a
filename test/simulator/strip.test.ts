import { describe, expect, it } from 'vitest';
import { buildMessage } from '../../src/meross/envelope';
import { SimulatedPlug, type ToggleEvent } from '../../src/simulator';
import { call, get, set, simulatedPlugs } from './helpers';

const start = simulatedPlugs();

const TOGGLEX = 'Appliance.Control.ToggleX';

function events(plug: SimulatedPlug): ToggleEvent[] {
  const seen: ToggleEvent[] = [];
  plug.on('toggle', (e) => seen.push(e));
  return seen;
}

function states(plug: SimulatedPlug): boolean[] {
  return plug.channels.map((c) => plug.channelOn(c));
}

describe('simulated power strip: profile (MerossIot mss425e fixture, homebridge-meross channel counts)', () => {
  it('MSS425E: System.All of the fixture with every channel in digest.togglex', async () => {
    const now = 1_766_097_075_000;
    const strip = await start({ model: 'mss425e', on: true, now: () => now });
    expect(strip.channels).toEqual([0, 1, 2, 3, 4]);
    expect(strip.firmware).toBe(2);
    const { payload } = await get(strip, 'Appliance.System.All');
    expect(payload.all.system.hardware).toMatchObject({ type: 'mss425e', subType: 'eu', version: '2.0.0', chipType: 'mt7682', uuid: strip.uuid });
    expect(payload.all.system.firmware).toMatchObject({ version: '2.1.5', compileTime: '2018/11/07 10:12:56 GMT +08:00', server: 'mqtt-eu-5.meross.com', port: 443 });
    expect(payload.all.digest.togglex).toEqual([0, 1, 2, 3, 4].map((channel) => ({ channel, onoff: 1, lmTime: expect.any(Number) })));
  });

  it('MSS425E: ToggleX and Multiple listed, no meter, no uuid in reply headers (2.x before 2.1.17)', async () => {
    const strip = await start({ model: 'mss425e' });
    const reply = await get(strip, 'Appliance.System.Ability');
    const ability = reply.payload.ability as Record<string, unknown>;
    expect(ability).toMatchObject({ [TOGGLEX]: {}, 'Appliance.Control.Multiple': { maxCmdNum: 5 }, 'Appliance.Digest.TimerX': {} });
    for (const meter of ['Appliance.Control.Electricity', 'Appliance.Control.ConsumptionX', 'Appliance.Control.ConsumptionConfig']) {
      expect(ability).not.toHaveProperty([meter]);
      await expect(get(strip, meter)).rejects.toThrow('dropped');
    }
    expect(reply.header).not.toHaveProperty('uuid');
  });

  it('MSS425F: master, four outlets and the USB group on channel 5', async () => {
    const strip = await start({ model: 'mss425f' });
    expect(strip.channels).toEqual([0, 1, 2, 3, 4, 5]);
    const { payload } = await get(strip, 'Appliance.System.All');
    expect(payload.all.system.hardware).toMatchObject({ type: 'mss425f', version: '4.0.0' });
    expect(payload.all.digest.togglex).toHaveLength(6);
  });

  it('a single plug still lists channel 0 only', async () => {
    const plug = await start({ model: 'mss305' });
    expect(plug.channels).toEqual([0]);
    expect(plug.channelOn(0)).toBe(false);
    expect(() => plug.channelOn(1)).toThrow(RangeError);
  });
});

describe('simulated power strip: ToggleX SET per channel and the master', () => {
  it('SET channel N switches that outlet only; the master follows (on while any outlet is on)', async () => {
    let ms = 1_766_000_000_000;
    const strip = await start({ model: 'mss425e', on: false, now: () => ms });
    const seen = events(strip);
    const before = (await get(strip, 'Appliance.System.All')).payload.all.digest.togglex as Array<{ lmTime: number }>;
    ms += 60_000;
    expect((await set(strip, TOGGLEX, { togglex: { channel: 2, onoff: 1 } })).payload).toEqual({});
    expect(states(strip)).toEqual([true, false, true, false, false]);
    expect(strip.isOn).toBe(true);
    expect(seen).toEqual([
      { on: true, source: 'request', channel: 0 },
      { on: true, source: 'request', channel: 2 },
    ]);
    // Only the channels that changed get a new lmTime.
    const digest = (await get(strip, 'Appliance.System.All')).payload.all.digest.togglex as Array<{ channel: number; onoff: number; lmTime: number }>;
    const t = Math.floor(ms / 1000);
    expect(digest.map((d) => d.lmTime)).toEqual([t, before[1].lmTime, t, before[3].lmTime, before[4].lmTime]);

    await set(strip, TOGGLEX, { togglex: { channel: 4, onoff: 1 } });
    await set(strip, TOGGLEX, { togglex: { channel: 2, onoff: 0 } });
    expect(states(strip)).toEqual([true, false, false, false, true]);
    seen.length = 0;
    await set(strip, TOGGLEX, { togglex: { channel: 4, onoff: 0 } });
    expect(states(strip)).toEqual([false, false, false, false, false]);
    expect(seen).toEqual([
      { on: false, source: 'request', channel: 0 },
      { on: false, source: 'request', channel: 4 },
    ]);
  });

  it('SET channel 0 switches every outlet; no channel means channel 0; a list applies each item', async () => {
    const strip = await start({ model: 'mss425e', on: false });
    await set(strip, TOGGLEX, { togglex: { channel: 1, onoff: 1 } });
    const seen = events(strip);
    await set(strip, TOGGLEX, { togglex: { channel: 0, onoff: 1 } });
    expect(states(strip)).toEqual([true, true, true, true, true]);
    // Channel 1 was on already: no event for it, the master was on too.
    expect(seen.map((e) => e.channel)).toEqual([2, 3, 4]);
    await set(strip, TOGGLEX, { togglex: { onoff: 0 } });
    expect(states(strip)).toEqual([false, false, false, false, false]);
    await set(strip, TOGGLEX, { togglex: [{ channel: 1, onoff: 1 }, { channel: 3, onoff: 1 }] });
    expect(states(strip)).toEqual([true, true, false, true, false]);
    seen.length = 0;
    await set(strip, TOGGLEX, { togglex: { channel: 3, onoff: 1 } });
    expect(seen).toEqual([]);
  });

  it('an unknown channel or a malformed item is dropped and changes nothing', async () => {
    const strip = await start({ model: 'mss425e', on: true });
    await expect(set(strip, TOGGLEX, { togglex: { channel: 9, onoff: 0 } })).rejects.toThrow('dropped');
    await expect(set(strip, TOGGLEX, { togglex: [{ channel: 1, onoff: 0 }, { channel: 2 }] })).rejects.toThrow('dropped');
    await expect(set(strip, TOGGLEX, { togglex: [] })).rejects.toThrow('dropped');
    expect(states(strip)).toEqual([true, true, true, true, true]);
  });

  it('ToggleX inside a Multiple switches its channel', async () => {
    const strip = await start({ model: 'mss425e', on: false });
    const inner = (payload: unknown) => ({ header: { messageId: 'a'.repeat(32), method: 'SET', namespace: TOGGLEX }, payload });
    const body = JSON.stringify(buildMessage('Appliance.Control.Multiple', 'SET', { multiple: [inner({ togglex: { channel: 1, onoff: 1 } }), inner({ togglex: { channel: 3, onoff: 1 } })] }, strip.key));
    const reply = await call(strip, body);
    expect(reply.payload.multiple.map((m: { header: { method: string } }) => m.header.method)).toEqual(['SETACK', 'SETACK']);
    expect(states(strip)).toEqual([true, true, false, true, false]);
  });

  it('press(channel) and setOn(on, channel) act on one channel; the defaults stay channel 0', async () => {
    const strip = await start({ model: 'mss425e', on: false });
    const seen = events(strip);
    strip.press(3);
    expect(states(strip)).toEqual([true, false, false, true, false]);
    strip.setOn(true, 4);
    strip.press();
    expect(states(strip)).toEqual([false, false, false, false, false]);
    strip.setOn(true);
    expect(states(strip)).toEqual([true, true, true, true, true]);
    expect(seen.slice(0, 3)).toEqual([
      { on: true, source: 'button', channel: 0 },
      { on: true, source: 'button', channel: 3 },
      { on: true, source: 'local', channel: 4 },
    ]);
    expect(seen.filter((e) => e.source === 'button' && !e.on).map((e) => e.channel)).toEqual([0, 3, 4]);
    expect(() => strip.press(7)).toThrow(RangeError);
  });
});

describe('simulated power strip: ToggleX GET', () => {
  it('answers channel 0 alone (object form) when no channel is asked, as an MSS310 2.x does', async () => {
    const strip = await start({ model: 'mss425e', on: false });
    await set(strip, TOGGLEX, { togglex: { channel: 2, onoff: 1 } });
    for (const payload of [{ togglex: [] }, {}, { togglex: {} }]) {
      expect((await get(strip, TOGGLEX, payload)).payload).toEqual({ channel: 0, togglex: { channel: 0, onoff: 1, lmTime: expect.any(Number) } });
    }
  });

  it('answers the channel asked, and every channel for 65535', async () => {
    const strip = await start({ model: 'mss425e', on: false });
    await set(strip, TOGGLEX, { togglex: { channel: 3, onoff: 1 } });
    expect((await get(strip, TOGGLEX, { togglex: { channel: 3 } })).payload).toEqual({ channel: 3, togglex: { channel: 3, onoff: 1, lmTime: expect.any(Number) } });
    expect((await get(strip, TOGGLEX, { togglex: [{ channel: 1 }] })).payload.togglex).toMatchObject({ channel: 1, onoff: 0 });
    const all = (await get(strip, TOGGLEX, { togglex: { channel: 65535 } })).payload;
    expect(all.channel).toBe(65535);
    expect(all.togglex.map((t: { onoff: number }) => t.onoff)).toEqual([1, 0, 0, 1, 0]);
    await expect(get(strip, TOGGLEX, { togglex: { channel: 5 } })).rejects.toThrow('dropped');
  });
});
