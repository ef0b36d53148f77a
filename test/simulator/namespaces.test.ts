import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sign, verifySign } from '../../src/meross/envelope';
import { SimulatedPlug, type RequestRecord, type ToggleEvent } from '../../src/simulator';
import { call, get, message, set, simulatedPlugs } from './helpers';

const start = simulatedPlugs();

function expectSignedBy(plug: SimulatedPlug, header: Record<string, unknown>): void {
  expect(header.sign).toBe(sign(String(header.messageId), plug.key, Number(header.timestamp)));
}

describe('simulator identity and signing', () => {
  it('generates a Meross-like identity', async () => {
    const plug = await start();
    expect(plug.mac).toMatch(/^48:e1:e9(:[0-9a-f]{2}){3}$/);
    expect(plug.uuid).toHaveLength(32);
    expect(plug.uuid.endsWith(plug.mac.replace(/:/g, ''))).toBe(true);
    expect(plug.key).toMatch(/^[0-9a-f]{16}$/);
    expect(plug.firmware).toBe(2);
  });

  it('answers a wrong sign with ERROR 5001 signed with the plug key', async () => {
    const plug = await start();
    const body = message(plug, 'Appliance.System.All', 'GET', {}, 'not-the-key');
    const sent = JSON.parse(body).header;
    const reply = await call(plug, body);
    expect(reply.payload).toEqual({ error: { code: 5001, detail: 'sign error' } });
    expect(reply.header).toMatchObject({
      messageId: sent.messageId,
      namespace: 'Appliance.System.All',
      method: 'ERROR',
      payloadVersion: 1,
      from: `/appliance/${plug.uuid}/publish`,
    });
    expectSignedBy(plug, reply.header);
    expect(verifySign(reply.header as never, 'not-the-key')).toBe(false);
    expect(plug.requests.at(-1)).toMatchObject({ namespace: 'Appliance.System.All', signOk: false });
  });

  it('signs replies with the device clock and echoes the messageId', async () => {
    const now = 1_710_076_747_123;
    const plug = await start({ now: () => now });
    const body = message(plug, 'Appliance.System.DNDMode', 'GET', { DNDMode: {} });
    const reply = await call(plug, body);
    expect(reply.header).toEqual({
      messageId: JSON.parse(body).header.messageId,
      namespace: 'Appliance.System.DNDMode',
      method: 'GETACK',
      payloadVersion: 1,
      from: `/appliance/${plug.uuid}/publish`,
      timestamp: 1_710_076_747,
      timestampMs: 123,
      sign: sign(JSON.parse(body).header.messageId, plug.key, 1_710_076_747),
      uuid: plug.uuid,
    });
    expect(reply.payload).toEqual({ DNDMode: { mode: 0 } });
  });

  it('records every request and emits it before answering', async () => {
    const plug = await start();
    const seen = once(plug, 'request') as Promise<[RequestRecord]>;
    await get(plug, 'Appliance.System.Runtime', { runtime: {} });
    const [record] = await seen;
    expect(record).toMatchObject({ namespace: 'Appliance.System.Runtime', method: 'GET', payload: { runtime: {} }, signOk: true });
    expect(plug.requests).toEqual([record]);
  });
});

describe('simulator System namespaces', () => {
  it('fw 2 System.All has the 2.1.17 shape with digest', async () => {
    const plug = await start({ firmware: 2, on: true });
    const { header, payload } = await get(plug, 'Appliance.System.All', { all: {} });
    expect(header.uuid).toBe(plug.uuid);
    const { system, digest } = payload.all;
    expect(system.hardware).toEqual({ type: 'mss310', subType: 'us', version: '2.0.0', chipType: 'MT7682', uuid: plug.uuid, macAddress: plug.mac });
    expect(system.firmware).toMatchObject({ version: '2.1.17', innerIp: '127.0.0.1', port: 443, userId: expect.any(Number) });
    expect(system.firmware).not.toHaveProperty('secondServer');
    expect(system.time).toMatchObject({ timezone: 'Europe/London', timestamp: header.timestamp });
    expect(system.time.timeRule[0]).toEqual([1648342800, 3600, 1]);
    expect(system.online).toEqual({ status: 1 });
    expect(digest).toEqual({ togglex: [{ channel: 0, onoff: 1, lmTime: expect.any(Number) }], triggerx: [], timerx: [] });
    expect(payload.all).not.toHaveProperty('control');
  });

  it('fw 1 System.All has the legacy control block and no uuid in the header', async () => {
    const plug = await start({ firmware: 1 });
    const { header, payload } = await get(plug, 'Appliance.System.All');
    expect(header).not.toHaveProperty('uuid');
    expect(payload.all.system.hardware).toMatchObject({ version: '1.0.0', chipType: 'MT7688' });
    expect(payload.all.system.firmware).toMatchObject({ version: '1.1.18', port: 2001, secondServer: 'iot.meross.com', secondPort: 2001 });
    expect(payload.all.control).toEqual({ toggle: { onoff: 0, lmTime: expect.any(Number) }, trigger: [], timer: [] });
    expect(payload.all).not.toHaveProperty('digest');
  });

  it('Ability lists follow the firmware', async () => {
    const fw1 = (await get(await start({ firmware: 1 }), 'Appliance.System.Ability')).payload;
    const fw2 = (await get(await start({ firmware: 2 }), 'Appliance.System.Ability')).payload;
    expect(fw1.payloadVersion).toBe(1);
    const legacy = ['Toggle', 'Timer', 'Trigger', 'ConsumptionX', 'Electricity'].map((n) => `Appliance.Control.${n}`);
    expect(Object.keys(fw1.ability)).toEqual(expect.arrayContaining(legacy));
    expect(fw1.ability).not.toHaveProperty('Appliance.Control.Multiple');
    expect(fw1.ability).not.toHaveProperty('Appliance.Control.ToggleX');
    expect(fw2.ability['Appliance.Control.Multiple']).toEqual({ maxCmdNum: 5 });
    expect(Object.keys(fw2.ability)).toEqual(expect.arrayContaining(['Appliance.Control.ToggleX', 'Appliance.Control.ConsumptionConfig', 'Appliance.Digest.TimerX']));
    expect(fw2.ability).not.toHaveProperty('Appliance.Control.Toggle');
  });

  it('answers Runtime, DNDMode GET/SET and ConsumptionConfig', async () => {
    const plug = await start();
    expect((await get(plug, 'Appliance.System.Runtime')).payload).toEqual({ runtime: { signal: 76 } });
    expect((await set(plug, 'Appliance.System.DNDMode', { DNDMode: { mode: 1 } })).payload).toEqual({});
    expect((await get(plug, 'Appliance.System.DNDMode')).payload).toEqual({ DNDMode: { mode: 1 } });
    expect((await get(plug, 'Appliance.Control.ConsumptionConfig', { config: {} })).payload).toEqual({ config: { voltageRatio: 186, electricityRatio: 121 } });
  });

  it('drops unknown namespaces without answering', async () => {
    const plug = await start();
    await expect(get(plug, 'Appliance.Control.Light')).rejects.toThrow('dropped');
    await expect(get(await start({ firmware: 1 }), 'Appliance.Control.ConsumptionConfig')).rejects.toThrow('dropped');
  });
});

describe('simulator relay', () => {
  it('fw 2 ToggleX SET/GET in the 2.1.17 shapes', async () => {
    // An injected clock that stands still: lmTime is known exactly.
    const plugMs = Date.now();
    const plug = await start({ firmware: 2, now: () => plugMs });
    const order: string[] = [];
    plug.on('request', (r) => order.push(`request ${r.method}`));
    plug.on('toggle', () => order.push('toggle'));
    const toggled = once(plug, 'toggle') as Promise<[ToggleEvent]>;
    const ack = await set(plug, 'Appliance.Control.ToggleX', { togglex: { channel: 0, onoff: 1 } });
    expect(ack.header.method).toBe('SETACK');
    expect(ack.payload).toEqual({});
    expect(await toggled).toEqual([{ on: true, source: 'request', channel: 0 }]);
    expect(order).toEqual(['request SET', 'toggle']);
    expect(plug.isOn).toBe(true);
    const state = await get(plug, 'Appliance.Control.ToggleX', { togglex: [] });
    expect(state.payload).toEqual({ channel: 0, togglex: { channel: 0, onoff: 1, lmTime: expect.any(Number) } });
    expect(state.payload.togglex.lmTime).toBe(Math.floor(plugMs / 1000));
    await set(plug, 'Appliance.Control.ToggleX', { togglex: [{ channel: 0, onoff: 0 }] });
    expect(plug.isOn).toBe(false);
  });

  it('fw 1 Toggle SET/GET; each generation drops the other one', async () => {
    const v1 = await start({ firmware: 1 });
    await set(v1, 'Appliance.Control.Toggle', { toggle: { onoff: 1 } });
    expect(v1.isOn).toBe(true);
    expect((await get(v1, 'Appliance.Control.Toggle', { toggle: [] })).payload).toEqual({ toggle: { onoff: 1, lmTime: expect.any(Number) } });
    await expect(set(v1, 'Appliance.Control.ToggleX', { togglex: { channel: 0, onoff: 0 } })).rejects.toThrow('dropped');
    expect(v1.isOn).toBe(true);
    const v2 = await start({ firmware: 2 });
    await expect(set(v2, 'Appliance.Control.Toggle', { toggle: { onoff: 1 } })).rejects.toThrow('dropped');
    expect(v2.isOn).toBe(false);
  });

  it('press() flips the relay and emits a button toggle; setOn emits local only on change', async () => {
    const plug = await start({ on: false });
    const events: ToggleEvent[] = [];
    plug.on('toggle', (e) => events.push(e));
    plug.press();
    expect(plug.isOn).toBe(true);
    plug.setOn(true);
    plug.setOn(false);
    plug.press();
    expect(events).toEqual([
      { on: true, source: 'button', channel: 0 },
      { on: false, source: 'local', channel: 0 },
      { on: true, source: 'button', channel: 0 },
    ]);
    expect((await get(plug, 'Appliance.Control.ToggleX')).payload.togglex.onoff).toBe(1);
  });
});

describe('simulator metering', () => {
  it('Electricity reports the load while on and 0 W/0 A (voltage kept) while off', async () => {
    const plug = await start({ on: true, watts: 60.5, volts: 230.1, amps: 0.27 });
    expect((await get(plug, 'Appliance.Control.Electricity', { electricity: {} })).payload).toEqual({
      electricity: { channel: 0, current: 270, voltage: 2301, power: 60500, config: { voltageRatio: 186, electricityRatio: 121 } },
    });
    plug.setOn(false);
    expect(plug.readings).toEqual({ watts: 0, volts: 230.1, amps: 0 });
    expect((await get(plug, 'Appliance.Control.Electricity')).payload.electricity).toMatchObject({ current: 0, voltage: 2301, power: 0 });
    plug.setOn(true);
    plug.setReadings({ watts: 1500 });
    expect(plug.readings.watts).toBe(1500);
  });

  it('fw 1 Electricity has no config', async () => {
    const plug = await start({ firmware: 1, on: true });
    expect((await get(plug, 'Appliance.Control.Electricity')).payload.electricity).not.toHaveProperty('config');
  });

  it('ConsumptionX returns 30 unsorted days; today grows with the energy used', async () => {
    let now = Date.UTC(2024, 2, 10, 12, 0, 0);
    const plug = await start({ on: true, watts: 100, now: () => now });
    const first = (await get(plug, 'Appliance.Control.ConsumptionX', { consumptionx: [] })).payload.consumptionx as Array<{ date: string; value: number }>;
    expect(first).toHaveLength(30);
    const dates = first.map((e) => e.date);
    expect(new Set(dates).size).toBe(30);
    expect(dates).not.toEqual([...dates].sort());
    const todayIndex = dates.indexOf('2024-03-10');
    expect(todayIndex).toBeGreaterThan(0);
    expect(todayIndex).toBeLessThan(29);
    expect(dates[todayIndex + 1]).toBe('2024-02-10');

    now += 3_600_000;
    const later = (await get(plug, 'Appliance.Control.ConsumptionX')).payload.consumptionx as Array<{ date: string; value: number; time: number }>;
    expect(later[todayIndex].value - first[todayIndex].value).toBe(100);
    expect(later[todayIndex].time).toBe(now / 1000);
    expect(plug.consumption[todayIndex].value).toBe(later[todayIndex].value);
  });
});

describe('simulator Multiple', () => {
  function batch(plug: SimulatedPlug, items: Array<[string, unknown]>): string {
    const multiple = items.map(([namespace, payload]) => JSON.parse(message(plug, namespace, 'GET', payload)));
    return message(plug, 'Appliance.Control.Multiple', 'SET', { multiple });
  }

  it('answers a 2-item batch with signed inner GETACKs', async () => {
    const plug = await start();
    const body = batch(plug, [['Appliance.Control.Electricity', { electricity: {} }], ['Appliance.System.DNDMode', { DNDMode: {} }]]);
    const innerIds = JSON.parse(body).payload.multiple.map((m: { header: { messageId: string } }) => m.header.messageId);
    const reply = await call(plug, body);
    expect(reply.header.method).toBe('SETACK');
    const items = reply.payload.multiple as Array<{ header: Record<string, unknown>; payload: unknown }>;
    expect(items.map((i) => i.header.messageId)).toEqual(innerIds);
    expect(items[0].header).toMatchObject({ namespace: 'Appliance.Control.Electricity', method: 'GETACK', from: `/appliance/${plug.uuid}/publish` });
    expect(items[0].header).not.toHaveProperty('uuid');
    items.forEach((i) => expectSignedBy(plug, i.header));
    expect(items[1].payload).toEqual({ DNDMode: { mode: 0 } });
    expect(plug.requests.at(-1)?.inner?.map((r) => r.namespace)).toEqual(['Appliance.Control.Electricity', 'Appliance.System.DNDMode']);
  });

  it('drops a batch whose reply would be too big, like 2.1.17', async () => {
    const plug = await start();
    const body = batch(plug, [['Appliance.System.All', {}], ['Appliance.Control.Electricity', {}], ['Appliance.System.DNDMode', {}]]);
    await expect(call(plug, body)).rejects.toThrow('dropped');
    expect(plug.requests.at(-1)?.inner).toHaveLength(3);
  });

  it('drops a batch of more than maxCmdNum items, and Multiple on fw 1', async () => {
    const plug = await start();
    const six = batch(plug, Array.from({ length: 6 }, (): [string, unknown] => ['Appliance.System.DNDMode', {}]));
    await expect(call(plug, six)).rejects.toThrow('dropped');
    const v1 = await start({ firmware: 1 });
    await expect(call(v1, batch(v1, [['Appliance.Control.Electricity', {}]]))).rejects.toThrow('dropped');
  });
});
