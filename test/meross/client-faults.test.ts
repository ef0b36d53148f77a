import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MerossClient, type ClientOptions } from '../../src/meross/client';
import {
  ConnectionDroppedError,
  MalformedReplyError,
  MerossError,
  ReplyTooLargeError,
  TimeoutError,
  UnreachableError,
  WrongDeviceError,
  WrongKeyError,
} from '../../src/meross/errors';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { expectMerossError, expectSafeMessage } from './helpers';

const TIMEOUT = 300;
/** A key that cannot appear in any message by chance. */
const CLIENT_KEY = 'Zq9-client-secret-key-Xw4';

const sims: SimulatedPlug[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

/**
 * The client's request timeouts (and the simulator's delays) on a fake clock that only the test moves; sockets stay
 * real. A busy machine can make a real timer fire late, never this one.
 */
function fakeTimeouts(): { advance(ms: number): Promise<void>; untilRequest(plug: SimulatedPlug, n: number): Promise<void> } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  return {
    advance: async (ms) => {
      await vi.advanceTimersByTimeAsync(ms);
    },
    // Resolves once the plug has read its n-th request: the attempt's timer is running from then on.
    untilRequest: async (plug, n) => {
      while (plug.requests.length < n) await once(plug, 'request');
    },
  };
}

/** A promise and whether it has settled yet (its rejection is kept for the test to inspect). */
function settles<T>(promise: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  const state = { promise, settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** Every error any case below produced, with what it must name and must not contain. */
const seen: Array<{ error: MerossError; host: string; secrets: string[] }> = [];
const debugLines: Array<{ line: string; secrets: string[] }> = [];

async function setup(
  sim: SimulatorOptions = {},
  client: Partial<ClientOptions> = {},
): Promise<{ plug: SimulatedPlug; client: MerossClient; host: string; secrets: string[] }> {
  const plug = await SimulatedPlug.start({ key: CLIENT_KEY, ...sim });
  sims.push(plug);
  const key = client.key ?? plug.key;
  const secrets = [...new Set([plug.key, key])];
  const c = new MerossClient({
    host: plug.address,
    key,
    timeoutMs: TIMEOUT,
    debug: (line) => debugLines.push({ line, secrets }),
    ...client,
  });
  return { plug, client: c, host: `127.0.0.1:${plug.port}`, secrets };
}

async function expectFault<E extends MerossError>(
  promise: Promise<unknown>,
  Class: new (...args: never[]) => E,
  ctx: { host: string; secrets: string[] },
): Promise<E> {
  const error = await expectMerossError(promise, Class, ctx.host, ctx.secrets);
  seen.push({ error, host: ctx.host, secrets: ctx.secrets });
  return error;
}

describe('MerossClient faults', () => {
  it('offline → UnreachableError (connection refused)', async () => {
    const ctx = await setup();
    await ctx.plug.setFault({ type: 'offline' });
    const error = await expectFault(ctx.client.systemAll(), UnreachableError, ctx);
    expect(error.reason).toBe('connection refused');
    expect(error.code).toBe('UNREACHABLE');
    expect(error.retryable).toBe(true);
  });

  it('offline for a SET → UnreachableError as well', async () => {
    const ctx = await setup();
    await ctx.client.ability();
    await ctx.plug.setFault({ type: 'offline' });
    await expectFault(ctx.client.setOn(true), UnreachableError, ctx);
  });

  it('hang → TimeoutError after (retries + 1) × timeout', async () => {
    const ctx = await setup();
    await ctx.plug.setFault({ type: 'hang' });
    const clock = fakeTimeouts();
    const call = settles(ctx.client.electricity());
    // Default retries = 1: two attempts, each given exactly the timeout (a fake clock only this test moves).
    for (let attempt = 1; attempt <= 2; attempt++) {
      await clock.untilRequest(ctx.plug, attempt);
      await clock.advance(TIMEOUT - 1);
      expect(call.settled, `attempt ${attempt}, 1 ms before its timeout`).toBe(false);
      expect(ctx.plug.requests, 'no retry before the timeout').toHaveLength(attempt);
      await clock.advance(1);
    }
    const error = await expectFault(call.promise, TimeoutError, ctx);
    expect(error.code).toBe('TIMEOUT');
    expect(ctx.plug.requests.filter((r) => r.namespace === 'Appliance.Control.Electricity')).toHaveLength(2);
  });

  it('hang with retries: 0 → TimeoutError after one timeout', async () => {
    const ctx = await setup({}, { retries: 0 });
    await ctx.plug.setFault({ type: 'hang' });
    const clock = fakeTimeouts();
    const call = settles(ctx.client.electricity());
    await clock.untilRequest(ctx.plug, 1);
    await clock.advance(TIMEOUT - 1);
    expect(call.settled, '1 ms before the timeout').toBe(false);
    await clock.advance(1);
    await expectFault(call.promise, TimeoutError, ctx);
    expect(ctx.plug.requests).toHaveLength(1);
  });

  it('a delay beyond the timeout → TimeoutError; a delay within it is fine', async () => {
    // The plug's delay and the client's timeout run on the same fake clock: which comes first is decided by the
    // numbers, not by how busy the machine is.
    const ctx = await setup({ on: true }, { retries: 0 });
    await ctx.plug.setFault({ type: 'delay', ms: TIMEOUT + 100 });
    const quick = await setup({ on: true });
    await quick.plug.setFault({ type: 'delay', ms: TIMEOUT - 1 });
    const clock = fakeTimeouts();
    const late = settles(ctx.client.electricity());
    await clock.untilRequest(ctx.plug, 1);
    await clock.advance(TIMEOUT);
    await expectFault(late.promise, TimeoutError, ctx);
    // A fresh plug: the first one is still busy sitting out its delay, like a real one would be.
    const inTime = settles(quick.client.electricity());
    await clock.untilRequest(quick.plug, 1);
    await clock.advance(TIMEOUT - 1);
    expect(await inTime.promise).toEqual(quick.plug.readings);
  });

  it('garbage (truncated JSON) → MalformedReplyError', async () => {
    const ctx = await setup();
    await ctx.plug.setFault({ type: 'garbage' });
    const error = await expectFault(ctx.client.systemAll(), MalformedReplyError, ctx);
    expect(error.message).toContain('not JSON');
    // A GET is retried once on a malformed reply.
    expect(ctx.plug.requests).toHaveLength(2);
  });

  it('reset in the middle of the body → ConnectionDroppedError', async () => {
    const ctx = await setup();
    await ctx.plug.setFault({ type: 'reset' });
    const error = await expectFault(ctx.client.systemAll(), ConnectionDroppedError, ctx);
    expect(error.code).toBe('CONNECTION_DROPPED');
    expect(ctx.plug.requests).toHaveLength(2);
  });

  it('oversize with a small client maxReplyBytes → ReplyTooLargeError, not retried', async () => {
    const ctx = await setup({}, { maxReplyBytes: 4096 });
    await ctx.plug.setFault({ type: 'oversize', bytes: 20_000 });
    const error = await expectFault(ctx.client.systemAll(), ReplyTooLargeError, ctx);
    expect(error.message).toContain('4096');
    expect(ctx.plug.requests).toHaveLength(1);
  });

  it('oversize of 1 MiB with the default limit → ReplyTooLargeError', async () => {
    const ctx = await setup({}, { timeoutMs: 2000 });
    await ctx.plug.setFault({ type: 'oversize' });
    await expectFault(ctx.client.systemAll(), ReplyTooLargeError, ctx);
  });

  it('a reply just under the client limit is accepted', async () => {
    const ctx = await setup({}, { maxReplyBytes: 4096 });
    await ctx.plug.setFault({ type: 'oversize', bytes: 4000 });
    expect((await ctx.client.systemAll()).uuid).toBe(ctx.plug.uuid);
  });

  it('wrong key → WrongKeyError that says the key was rejected, never quoting it', async () => {
    const ctx = await setup({ key: 'the-plugs-real-key-8d1f' }, { key: CLIENT_KEY });
    const error = await expectFault(ctx.client.systemAll(), WrongKeyError, ctx);
    expect(error.message).toMatch(/rejected the device key/);
    expect(error.message).toContain('5001');
    expect(error.uuid).toBe(ctx.plug.uuid);
    expect(error.retryable).toBe(false);
    // Not retried: the key will not become right on a second try.
    expect(ctx.plug.requests).toHaveLength(1);
    expect(ctx.plug.requests[0].signOk).toBe(false);
  });

  it('wrong key on a SET → WrongKeyError and the relay does not move', async () => {
    const ctx = await setup({ key: 'the-plugs-real-key-8d1f', on: false }, { key: CLIENT_KEY });
    ctx.client.abilities = {
      namespaces: new Set(['Appliance.Control.ToggleX']),
      toggle: 'Appliance.Control.ToggleX',
      multipleMax: 5,
      electricity: true,
      consumptionX: true,
      encrypted: false,
    };
    await expectFault(ctx.client.setOn(true), WrongKeyError, ctx);
    expect(ctx.plug.isOn).toBe(false);
  });

  it('wrong key on a poll batch → WrongKeyError surfaces (no silent fallback)', async () => {
    const real = await setup({ key: 'the-plugs-real-key-8d1f' });
    const abilities = await real.client.ability();
    const client = new MerossClient({ host: real.plug.address, key: CLIENT_KEY, timeoutMs: TIMEOUT });
    client.abilities = abilities;
    await expectFault(client.poll(), WrongKeyError, { host: real.host, secrets: [CLIENT_KEY, real.plug.key] });
  });

  it('wrong uuid once the uuid is known → WrongDeviceError', async () => {
    const ctx = await setup({ on: true });
    await ctx.client.systemAll();
    // uuid derived from krahabb/meross_lan traces (MIT): the 2.1.17 unit, with its non-hex 'h'.
    const impostor = '20091131118061251h5748e1e9334e2b';
    await ctx.plug.setFault({ type: 'wrong-uuid', uuid: impostor });
    const error = await expectFault(ctx.client.electricity(), WrongDeviceError, ctx);
    expect(error.expectedUuid).toBe(ctx.plug.uuid);
    expect(error.actualUuid).toBe(impostor);
    expect(error.message).toContain(impostor);
    await expectFault(ctx.client.systemAll(), WrongDeviceError, ctx);
    await expectFault(ctx.client.poll(), WrongDeviceError, ctx);
    // Not retried.
    expect(ctx.plug.requests.filter((r) => r.namespace === 'Appliance.Control.Electricity')).toHaveLength(1);
  });

  it('wrong uuid with a configured uuid → WrongDeviceError on the very first request', async () => {
    const ctx = await setup();
    const client = new MerossClient({ host: ctx.plug.address, key: ctx.plug.key, uuid: ctx.plug.uuid, timeoutMs: TIMEOUT });
    await ctx.plug.setFault({ type: 'wrong-uuid' });
    await expectFault(client.ability(), WrongDeviceError, ctx);
  });

  it('unsynced clock → tiny lastDeviceTime and zero readings', async () => {
    const ctx = await setup({ on: true, watts: 100 });
    await ctx.plug.setFault({ type: 'unsynced-clock' });
    expect(await ctx.client.electricity()).toEqual({ watts: 0, volts: 0, amps: 0 });
    expect(ctx.client.lastDeviceTime).toBeDefined();
    expect(ctx.client.lastDeviceTime ?? Infinity).toBeLessThan(1e9);
    const info = await ctx.client.systemAll();
    expect(info.deviceTime ?? Infinity).toBeLessThan(1e9);
    expect(info.timezone).toBeUndefined();
  });

  it('every other request dropped: a GET succeeds thanks to its retry', async () => {
    const ctx = await setup({ on: true });
    await ctx.plug.setFault({ type: 'every-other' });
    expect(await ctx.client.electricity()).toEqual(ctx.plug.readings);
    expect(ctx.plug.requests.map((r) => r.namespace)).toEqual(['Appliance.Control.Electricity', 'Appliance.Control.Electricity']);
  });

  it('every other request dropped: a SET is not retried and the error surfaces', async () => {
    const ctx = await setup({ on: false });
    await ctx.client.ability();
    await ctx.plug.setFault({ type: 'every-other' });
    const mark = ctx.plug.requests.length;
    await expectFault(ctx.client.setOn(true), ConnectionDroppedError, ctx);
    const sets = ctx.plug.requests.slice(mark);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ namespace: 'Appliance.Control.ToggleX', method: 'SET' });
  });

  it('recovers once a fault is cleared', async () => {
    const ctx = await setup({ on: true });
    await ctx.plug.setFault({ type: 'offline' });
    await expectFault(ctx.client.electricity(), UnreachableError, ctx);
    await ctx.plug.setFault(null);
    expect(await ctx.client.electricity()).toEqual(ctx.plug.readings);
  });

  it('every error above named its host and never contained a key; the debug sink saw no key either', () => {
    // The loop over every case: each error named its host and none contained a key (checked again in one place).
    expect(seen.length).toBeGreaterThanOrEqual(18);
    for (const { error, host, secrets } of seen) expectSafeMessage(error, host, secrets);
    const classes = new Set(seen.map((s) => s.error.constructor.name));
    for (const name of [
      'UnreachableError',
      'TimeoutError',
      'MalformedReplyError',
      'ConnectionDroppedError',
      'ReplyTooLargeError',
      'WrongKeyError',
      'WrongDeviceError',
    ]) {
      expect(classes).toContain(name);
    }
    // The debug sink never sees a key either.
    expect(debugLines.length).toBeGreaterThan(0);
    for (const { line, secrets } of debugLines) for (const s of secrets) expect(line).not.toContain(s);
  });
});
