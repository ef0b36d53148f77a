import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { RequestReader } from '../../src/simulator/http';
import { httpPost, message, parseRaw, rawExchange, rawRequest } from './helpers';

const plugs: SimulatedPlug[] = [];
async function start(opts: Parameters<typeof SimulatedPlug.start>[0] = {}): Promise<SimulatedPlug> {
  const plug = await SimulatedPlug.start(opts);
  plugs.push(plug);
  return plug;
}
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
});

describe('simulator HTTP framing', () => {
  it('answers with CRLF line ends by default', async () => {
    const plug = await start();
    const { bytes } = await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Runtime', 'GET', {})));
    const text = bytes.toString('latin1');
    const body = '{"header":';
    const head = text.slice(0, text.indexOf(body));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json\r\nContent-Length: \d+\r\nConnection: close\r\n\r\n$/);
    expect(Number(parseRaw(bytes).headers['content-length'])).toBe(Buffer.byteLength(text.slice(head.length), 'latin1'));
  });

  it('ends status and header lines with a bare LF when lfOnly is set', async () => {
    const plug = await start({ lfOnly: true });
    const { bytes } = await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Runtime', 'GET', {})));
    const text = bytes.toString('latin1');
    const head = text.slice(0, text.indexOf('{"header":'));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\nContent-Type: application\/json\nContent-Length: \d+\nConnection: close\n\n$/);
    expect(head).not.toContain('\r');
  });

  it('LF-only replies break the strict node:http parser and pass the lenient one', async () => {
    const plug = await start({ lfOnly: true });
    const strict = await httpPost(plug, message(plug, 'Appliance.System.Runtime', 'GET', {}), false);
    expect(strict.error?.code).toMatch(/^HPE_/);
    const lenient = await httpPost(plug, message(plug, 'Appliance.System.Runtime', 'GET', {}), true);
    expect(lenient.status).toBe(200);
    expect(JSON.parse(lenient.body ?? '').payload).toEqual({ runtime: { signal: 76 } });
  });

  it('accepts requests whose own head uses bare LF', async () => {
    const plug = await start();
    const body = message(plug, 'Appliance.System.Runtime', 'GET', {});
    const { bytes } = await rawExchange(plug, `POST /config HTTP/1.1\nContent-Length: ${body.length}\n\n${body}`);
    expect(parseRaw(bytes).status).toBe(200);
  });

  it('serves only POST /config', async () => {
    const plug = await start();
    const notFound = await rawExchange(plug, rawRequest('{}', { path: '/' }));
    expect(parseRaw(notFound.bytes).status).toBe(404);
    const wrongMethod = await rawExchange(plug, rawRequest('', { method: 'GET' }));
    expect(parseRaw(wrongMethod.bytes).status).toBe(405);
    expect(plug.requests).toHaveLength(0);
  });

  it('drops a body that is not JSON without answering', async () => {
    const plug = await start();
    const { bytes } = await rawExchange(plug, rawRequest('not json'));
    expect(bytes.length).toBe(0);
  });

  it('reads a request delivered in small pieces', () => {
    const reader = new RequestReader();
    const data = Buffer.from(rawRequest('{"a":1}'));
    let result = reader.push(data.subarray(0, 10));
    for (let i = 10; i < data.length && result.state === 'more'; i += 7) result = reader.push(data.subarray(i, i + 7));
    expect(result.state).toBe('done');
    if (result.state === 'done') expect(result.request.body.toString()).toBe('{"a":1}');
  });

  it('refuses chunked bodies with 411', () => {
    const reader = new RequestReader();
    const result = reader.push(Buffer.from('POST /config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'));
    expect(result).toMatchObject({ state: 'bad', status: 411 });
  });
});

describe('simulator addresses', () => {
  it('binds to loopback only', async () => {
    await expect(SimulatedPlug.start({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(SimulatedPlug.start({ host: '198.51.100.20' })).rejects.toThrow(/loopback/);
  });

  it('brackets IPv6 addresses', async () => {
    const plug = await start({ host: '::1' });
    expect(plug.address).toBe(`[::1]:${plug.port}`);
    const v4 = await start();
    expect(v4.address).toBe(`127.0.0.1:${v4.port}`);
  });
});
