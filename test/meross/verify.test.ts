import { afterEach, describe, expect, it } from 'vitest';
import { MerossClient, type ClientOptions } from '../../src/meross/client';
import { sign } from '../../src/meross/envelope';
import {
  ConnectionDroppedError,
  DeviceError,
  MalformedReplyError,
  MerossError,
  WrongDeviceError,
  WrongKeyError,
} from '../../src/meross/errors';
import { deviceReply, expectMerossError, expectSafeMessage, FakePlug, type FakeHandler, type FakeRequest } from './helpers';

const KEY = 'Kq7-verify-secret-key-P2m';
const OTHER_KEY = 'another-accounts-key-5T1';
/** derived from krahabb/meross_lan traces (MIT): the 2.1.17 unit's uuid, with a non-hex 'h'. */
const UUID = '20091131118061251h5748e1e9334e2b';

const fakes: FakePlug[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

const seen: Array<{ error: MerossError; host: string }> = [];

async function setup(handler: FakeHandler, options: Partial<ClientOptions> = {}): Promise<{ fake: FakePlug; client: MerossClient; host: string }> {
  const fake = await FakePlug.start(handler);
  fakes.push(fake);
  const client = new MerossClient({ host: fake.address, key: KEY, timeoutMs: 1000, ...options });
  return { fake, client, host: fake.address };
}

async function expectRejection<E extends MerossError>(
  promise: Promise<unknown>,
  Class: new (...args: never[]) => E,
  host: string,
): Promise<E> {
  const error = await expectMerossError(promise, Class, host, [KEY, OTHER_KEY]);
  seen.push({ error, host });
  return error;
}

const RUNTIME = { runtime: { signal: 76 } };
const good = (r: FakeRequest) => ({ reply: deviceReply(r, RUNTIME, { key: KEY, uuid: UUID }) });

describe('reply verification', () => {
  it('accepts a correctly signed reply (sanity check of the fake plug)', async () => {
    const { client, fake } = await setup(good);
    expect(await client.request('Appliance.System.Runtime', 'GET', { runtime: {} })).toEqual(RUNTIME);
    expect(fake.requests[0].header.sign).toBe(sign(fake.requests[0].header.messageId, KEY, fake.requests[0].header.timestamp));
    expect(client.stats.badSignatures).toBe(0);
  });

  it('rejects a reply with a wrong signature, counts it, and retries a GET', async () => {
    const { client, fake, host } = await setup((r) => ({ reply: deviceReply(r, RUNTIME, { key: KEY, sign: '0'.repeat(32) }) }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('invalid reply signature');
    expect(fake.requests).toHaveLength(2);
    expect(client.stats.badSignatures).toBe(2);
  });

  it('rejects a reply signed with another key (a forged reading)', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, { electricity: { power: 1, voltage: 2300, current: 1 } }, { key: OTHER_KEY }) }));
    const error = await expectRejection(client.electricity(), MalformedReplyError, host);
    expect(error.message).toContain('invalid reply signature');
  });

  it('rejects a reply without sign or with a string timestamp', async () => {
    const { client, fake, host } = await setup((r) => {
      const reply = deviceReply(r, RUNTIME, { key: KEY }) as unknown as { header: Record<string, unknown>; payload: unknown };
      if (fake.requests.length === 1) delete reply.header.sign;
      else reply.header.timestamp = String(reply.header.timestamp);
      return { reply };
    });
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('invalid reply signature');
    expect(fake.requests).toHaveLength(2);
  });

  it('a GET whose first reply is badly signed succeeds on the retry', async () => {
    const { client, fake } = await setup((r) =>
      fake.requests.length === 1 ? { reply: deviceReply(r, RUNTIME, { key: OTHER_KEY }) } : good(r),
    );
    expect(await client.request('Appliance.System.Runtime', 'GET', {})).toEqual(RUNTIME);
    expect(client.stats.badSignatures).toBe(1);
  });

  it('rejects a reply to another messageId', async () => {
    const otherId = 'f'.repeat(32);
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, RUNTIME, { key: KEY, messageId: otherId }) }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('reply to another message');
  });

  it('rejects GETACK for a SET, and does not retry the SET', async () => {
    const { client, fake, host } = await setup((r) => ({ reply: deviceReply(r, {}, { key: KEY, method: 'GETACK' }) }));
    const error = await expectRejection(
      client.request('Appliance.Control.ToggleX', 'SET', { togglex: { channel: 0, onoff: 1 } }),
      MalformedReplyError,
      host,
    );
    expect(error.message).toContain('method GETACK instead of SETACK');
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects a reply for another namespace', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, RUNTIME, { key: KEY, namespace: 'Appliance.System.DNDMode' }) }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('namespace mismatch');
  });

  it('ERROR 5001 signed with the plug’s own (other) key → WrongKeyError', async () => {
    const { client, fake, host } = await setup((r) => ({
      reply: deviceReply(r, { error: { code: 5001, detail: 'sign error' } }, { key: OTHER_KEY, method: 'ERROR', uuid: UUID }),
    }));
    const error = await expectRejection(client.systemAll(), WrongKeyError, host);
    expect(error.uuid).toBe(UUID);
    expect(error.message).toMatch(/rejected the device key/);
    expect(fake.requests).toHaveLength(1);
    expect(client.stats.badSignatures).toBe(0);
  });

  it('the arandall fw 1.1.13 sign-error reply (device clock 40, uuid "abc") → WrongKeyError', async () => {
    // Header and payload derived from arandall/meross (MIT) ERROR-sign-error.json; only the messageId is the request's.
    const { client, host } = await setup((r) => ({
      reply: {
        header: {
          from: '/appliance/abc/publish',
          messageId: r.header.messageId,
          method: 'ERROR',
          namespace: 'Appliance.System.All',
          payloadVersion: 1,
          sign: '34205b55d1212e9a6be03ae3a4faa55f',
          timestamp: 40,
          timestampMs: 900,
        },
        payload: { error: { code: 5001, detail: 'sign error' } },
      },
    }));
    const error = await expectRejection(client.systemAll(), WrongKeyError, host);
    expect(error.uuid).toBe('abc');
  });

  it('ERROR 5000, correctly signed → DeviceError with the code and the namespace', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, { error: { code: 5000 } }, { key: KEY, method: 'ERROR' }) }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), DeviceError, host);
    expect(error.deviceCode).toBe(5000);
    expect(error.message).toContain('Appliance.System.Runtime');
    expect(error.message).toContain('5000');
  });

  it('ERROR 5000 with a bad signature is not believed → MalformedReplyError', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, { error: { code: 5000 } }, { key: OTHER_KEY, method: 'ERROR' }) }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('invalid reply signature');
  });

  it('a reply from another uuid than the configured one → WrongDeviceError', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, RUNTIME, { key: KEY, uuid: 'someoneelse0000000000048e1e9aabbcc' }) }), {
      uuid: UUID,
    });
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), WrongDeviceError, host);
    expect(error.actualUuid).toBe('someoneelse0000000000048e1e9aabbcc');
  });

  it('falls back to header.uuid when from is not an appliance topic', async () => {
    const { client, host } = await setup(
      (r) => {
        const reply = deviceReply(r, RUNTIME, { key: KEY });
        return { reply: { ...reply, header: { ...reply.header, from: 'http://127.0.0.1/config', uuid: 'other-device-uuid' } } };
      },
      { uuid: UUID },
    );
    await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), WrongDeviceError, host);
  });

  it('a JSON body without header/payload, an empty body, an HTTP error status → MalformedReplyError', async () => {
    const answers = [{ reply: { hello: 'world' } }, { body: '' }, { body: 'Server Error', status: 500 }];
    const messages = ['no header or payload', 'empty body', 'HTTP status 500'];
    for (let i = 0; i < answers.length; i++) {
      const { client, host } = await setup(() => answers[i], { retries: 0 });
      const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
      expect(error.message).toContain(messages[i]);
    }
  });

  it('a connection closed without an answer → ConnectionDroppedError', async () => {
    const { client, fake, host } = await setup(() => ({ drop: true }));
    await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), ConnectionDroppedError, host);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('reply verification over LF-only HTTP (raw socket)', () => {
  it('accepts a good reply with bare-LF header lines', async () => {
    const { client } = await setup((r) => ({ ...good(r), lfOnly: true }));
    expect(await client.request('Appliance.System.Runtime', 'GET', {})).toEqual(RUNTIME);
  });

  it('still rejects a bad signature', async () => {
    const { client, host } = await setup((r) => ({ reply: deviceReply(r, RUNTIME, { key: OTHER_KEY }), lfOnly: true }));
    const error = await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), MalformedReplyError, host);
    expect(error.message).toContain('invalid reply signature');
  });

  it('recognises ERROR 5001', async () => {
    const { client, host } = await setup((r) => ({
      reply: deviceReply(r, { error: { code: 5001, detail: 'sign error' } }, { key: OTHER_KEY, method: 'ERROR' }),
      lfOnly: true,
    }));
    await expectRejection(client.request('Appliance.System.Runtime', 'GET', {}), WrongKeyError, host);
  });
});

describe('Multiple replies are verified item by item', () => {
  const ABILITIES = {
    namespaces: new Set(['Appliance.Control.Multiple', 'Appliance.Control.ToggleX', 'Appliance.Control.Electricity']),
    toggle: 'Appliance.Control.ToggleX' as const,
    multipleMax: 5,
    electricity: true,
    consumptionX: true,
    encrypted: false,
  };

  type Item = { header: FakeRequest['header']; payload: Record<string, unknown> };

  it('a badly signed inner reply becomes that item’s error; the other item is kept', async () => {
    const { client, host } = await setup((r) => {
      const items = (r.payload.multiple as Item[]).map((item, i) =>
        deviceReply(item, { runtime: { signal: i } }, { key: i === 0 ? KEY : OTHER_KEY, uuid: UUID }),
      );
      return { reply: deviceReply(r, { multiple: items }, { key: KEY, uuid: UUID }) };
    });
    client.abilities = ABILITIES;
    const cmd = { namespace: 'Appliance.System.Runtime', method: 'GET' as const, payload: { runtime: {} } };
    const [first, second] = await client.batch([cmd, cmd]);
    expect(first).toEqual({ runtime: { signal: 0 } });
    expect(second).toBeInstanceOf(MalformedReplyError);
    const error = second as MalformedReplyError;
    expect(error.message).toContain('invalid reply signature');
    seen.push({ error, host });
  });

  it('an inner reply from another device → WrongDeviceError for the whole batch', async () => {
    const { client, host } = await setup(
      (r) => {
        const items = (r.payload.multiple as Item[]).map((item, i) =>
          deviceReply(item, { runtime: { signal: i } }, { key: KEY, uuid: i === 0 ? UUID : 'intruder-uuid' }),
        );
        return { reply: deviceReply(r, { multiple: items }, { key: KEY, uuid: UUID }) };
      },
      { uuid: UUID },
    );
    client.abilities = ABILITIES;
    const cmd = { namespace: 'Appliance.System.Runtime', method: 'GET' as const, payload: { runtime: {} } };
    await expectRejection(client.batch([cmd, cmd]), WrongDeviceError, host);
  });

  it('a Multiple reply without a list falls back to single requests', async () => {
    const { client, fake } = await setup((r) =>
      r.header.namespace === 'Appliance.Control.Multiple' ? { reply: deviceReply(r, { multiple: {} }, { key: KEY }) } : good(r),
    );
    client.abilities = ABILITIES;
    const cmd = { namespace: 'Appliance.System.Runtime', method: 'GET' as const, payload: { runtime: {} } };
    expect(await client.batch([cmd, cmd])).toEqual([RUNTIME, RUNTIME]);
    expect(fake.requests.map((r) => r.header.namespace)).toEqual([
      'Appliance.Control.Multiple',
      'Appliance.System.Runtime',
      'Appliance.System.Runtime',
    ]);
    expect(client.stats.multipleDrops).toBe(1);
  });

  it('a missing inner reply becomes that item’s MalformedReplyError', async () => {
    const { client } = await setup((r) => {
      const items = (r.payload.multiple as Item[]).slice(0, 1).map((item) => deviceReply(item, RUNTIME, { key: KEY }));
      return { reply: deviceReply(r, { multiple: items }, { key: KEY }) };
    });
    client.abilities = ABILITIES;
    const cmd = { namespace: 'Appliance.System.Runtime', method: 'GET' as const, payload: { runtime: {} } };
    const [first, second] = await client.batch([cmd, cmd]);
    expect(first).toEqual(RUNTIME);
    expect(second).toBeInstanceOf(MalformedReplyError);
  });
});

describe('one request at a time, even against a server that would take more', () => {
  it('never has two requests in flight to the same plug', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    // The fake answers after 30 ms like a slow plug; a client without a queue would have all five in flight.
    const { client, fake } = await setup(
      (r) =>
        new Promise((resolve) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          setTimeout(() => {
            inFlight--;
            resolve(good(r));
          }, 30);
        }),
    );
    const results = await Promise.all(Array.from({ length: 5 }, () => client.request('Appliance.System.Runtime', 'GET', {})));
    expect(results).toEqual(Array.from({ length: 5 }, () => RUNTIME));
    expect(fake.requests).toHaveLength(5);
    expect(maxInFlight).toBe(1);
  });
});

describe('error messages', () => {
  it('every error above named its host and never contained a key', () => {
    expect(seen.length).toBeGreaterThanOrEqual(15);
    for (const { error, host } of seen) expectSafeMessage(error, host, [KEY, OTHER_KEY]);
  });
});
