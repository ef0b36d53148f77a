import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { sign } from '../../src/meross/envelope';
import { SimulatedPlug, type RequestRecord } from '../../src/simulator';
import { call, get, httpPost, message, parseRaw, rawExchange, rawRequest, simulatedPlugs } from './helpers';

const start = simulatedPlugs();

function nextRequest(plug: SimulatedPlug): Promise<RequestRecord> {
  return (once(plug, 'request') as Promise<[RequestRecord]>).then(([r]) => r);
}

describe('simulator faults', () => {
  it('offline refuses connections and reopens on the same port', async () => {
    const plug = await start();
    const port = plug.port;
    await plug.setFault({ type: 'offline' });
    const refused = await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Runtime', 'GET', {})));
    expect(refused.error?.code).toBe('ECONNREFUSED');
    await plug.setFault(null);
    expect(plug.port).toBe(port);
    expect((await get(plug, 'Appliance.System.Runtime')).payload).toEqual({ runtime: { signal: 76 } });
  });

  it('hang reads the request and never answers; a client giving up frees the queue', async () => {
    const plug = await start();
    await plug.setFault({ type: 'hang' });
    const abortA = new AbortController();
    const firstSeen = nextRequest(plug);
    const a = httpPost(plug, message(plug, 'Appliance.System.Runtime', 'GET', {}), true, abortA.signal);
    expect((await firstSeen).namespace).toBe('Appliance.System.Runtime');
    const secondSeen = nextRequest(plug);
    const b = httpPost(plug, message(plug, 'Appliance.System.DNDMode', 'GET', {}));
    abortA.abort();
    expect((await a).error?.name).toBe('AbortError');
    // B is only read once A's client has gone, and then hangs too until the fault is cleared.
    expect((await secondSeen).namespace).toBe('Appliance.System.DNDMode');
    await plug.setFault(null);
    const bResult = await b;
    expect(bResult.status).toBeUndefined();
    expect(bResult.error?.code).toBe('ECONNRESET');
    expect((await get(plug, 'Appliance.System.Runtime')).payload).toEqual({ runtime: { signal: 76 } });
  });

  it('delay answers normally after the given time', async () => {
    const plug = await start();
    await plug.setFault({ type: 'delay', ms: 80 });
    const t0 = performance.now();
    expect((await get(plug, 'Appliance.System.Runtime')).payload).toEqual({ runtime: { signal: 76 } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });

  it('garbage answers 200 with a body that is not JSON', async () => {
    const plug = await start();
    await plug.setFault({ type: 'garbage' });
    const res = parseRaw((await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.All', 'GET', {})))).bytes);
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect(() => JSON.parse(res.body)).toThrow();
  });

  it('reset sends the head and part of the body, then resets the connection', async () => {
    const plug = await start();
    await plug.setFault({ type: 'reset' });
    const { bytes, error } = await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.All', 'GET', {})));
    const res = parseRaw(bytes);
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(res.body)).toBeLessThan(Number(res.headers['content-length']));
    expect(error?.code).toBe('ECONNRESET');
    const viaHttp = await httpPost(plug, message(plug, 'Appliance.System.All', 'GET', {}));
    expect(viaHttp.error).toBeDefined();
  });

  it('oversize sends a huge but valid JSON reply (1 MiB by default)', async () => {
    const plug = await start();
    await plug.setFault({ type: 'oversize' });
    const res = parseRaw((await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Runtime', 'GET', {})))).bytes);
    expect(Number(res.headers['content-length'])).toBe(1024 * 1024);
    expect(Buffer.byteLength(res.body)).toBe(1024 * 1024);
    expect(JSON.parse(res.body).payload.runtime).toEqual({ signal: 76 });
    await plug.setFault({ type: 'oversize', bytes: 5000 });
    const small = parseRaw((await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Runtime', 'GET', {})))).bytes);
    expect(Buffer.byteLength(small.body)).toBe(5000);
  });

  it('unsynced-clock reports uptime timestamps, zero readings and epoch-dated consumption', async () => {
    const plug = await start({ on: true });
    await plug.setFault({ type: 'unsynced-clock' });
    const all = await get(plug, 'Appliance.System.All');
    expect(all.header.timestamp).toBeLessThan(100);
    expect(all.header.sign).toBe(sign(String(all.header.messageId), plug.key, all.header.timestamp));
    expect(all.payload.all.system.time).toMatchObject({ timezone: '', timeRule: [] });
    expect((await get(plug, 'Appliance.Control.Electricity')).payload.electricity).toMatchObject({ current: 0, voltage: 0, power: 0 });
    expect(plug.readings).toEqual({ watts: 0, volts: 0, amps: 0 });
    const cx = (await get(plug, 'Appliance.Control.ConsumptionX')).payload.consumptionx as Array<{ date: string; value: number }>;
    expect(cx.length).toBeGreaterThan(0);
    expect(cx.every((e) => e.date === '1970-01-01' && e.value === 0)).toBe(true);
    await plug.setFault(null);
    expect((await get(plug, 'Appliance.Control.Electricity')).payload.electricity.power).toBe(60500);
  });

  it('wrong-uuid: another plug answers, correctly signed, naming its own uuid', async () => {
    const plug = await start();
    const other = '1234567890123456h789aabbccddeeff';
    await plug.setFault({ type: 'wrong-uuid', uuid: other });
    const all = await get(plug, 'Appliance.System.All');
    expect(all.header.from).toBe(`/appliance/${other}/publish`);
    expect(all.header.uuid).toBe(other);
    expect(all.header.sign).toBe(sign(String(all.header.messageId), plug.key, all.header.timestamp));
    expect(all.payload.all.system.hardware).toMatchObject({ uuid: other, macAddress: 'aa:bb:cc:dd:ee:ff' });
    await plug.setFault({ type: 'wrong-uuid' });
    const random = await get(plug, 'Appliance.System.Runtime');
    expect(random.header.uuid).not.toBe(plug.uuid);
    expect(random.header.uuid).toHaveLength(32);
  });

  it('every-other drops the first request and answers the second, alternately', async () => {
    const plug = await start();
    await plug.setFault({ type: 'every-other' });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await get(plug, 'Appliance.System.Runtime').then(() => 'ok', () => 'dropped'));
    }
    expect(outcomes).toEqual(['dropped', 'ok', 'dropped', 'ok']);
    expect(plug.requests).toHaveLength(4);
  });
});

describe('simulator concurrency', () => {
  it('serves one request at a time: the second is read only after the first is answered', async () => {
    const plug = await start();
    const delay = 100;
    await plug.setFault({ type: 'delay', ms: delay });
    const t0 = performance.now();
    const seenAt: Record<string, number> = {};
    const order: string[] = [];
    plug.on('request', (r) => (seenAt[r.namespace] = performance.now() - t0));
    const send = (namespace: string): Promise<number> =>
      call(plug, message(plug, namespace, 'GET', {})).then(() => {
        order.push(namespace);
        return performance.now() - t0;
      });
    const [a, b] = await Promise.all([send('Appliance.System.Runtime'), send('Appliance.System.DNDMode')]);
    const [first, second] = seenAt['Appliance.System.Runtime'] < seenAt['Appliance.System.DNDMode']
      ? [{ ns: 'Appliance.System.Runtime', seen: seenAt['Appliance.System.Runtime'] }, { ns: 'Appliance.System.DNDMode', seen: seenAt['Appliance.System.DNDMode'], done: b }]
      : [{ ns: 'Appliance.System.DNDMode', seen: seenAt['Appliance.System.DNDMode'] }, { ns: 'Appliance.System.Runtime', seen: seenAt['Appliance.System.Runtime'], done: a }];
    // Only lower bounds (a timer never fires early): the second was not read until the first had sat out its whole
    // delay, so it is answered a whole delay later still; a busy machine can only make the gaps longer.
    expect(second.seen - first.seen).toBeGreaterThanOrEqual(delay - 5);
    expect(second.done).toBeGreaterThanOrEqual(2 * delay - 5);
    expect(order, 'answered in the order they were read').toEqual([first.ns, second.ns]);
  });
});
