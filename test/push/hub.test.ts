import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync, type ErrorWithReasonCode, type MqttClient } from 'mqtt';
import { buildMessage } from '../../src/meross/envelope';
import { Plug } from '../../src/plug/plug';
import { MQTT_REPLY_TIMEOUT_MS, type PushHub } from '../../src/push/hub';
import { deviceClientId, devicePassword, publishTopic, subscribeTopic } from '../../src/meross/mqtt';
import type { RequestRecord, SimulatedPlug } from '../../src/simulator';
import { connectedPlug, identity, logger, startHub, storage, until, USER_ID, waitFor, type Captured } from './helpers';

const TOGGLEX = 'Appliance.Control.ToggleX';

describe('local push hub with the embedded broker', () => {
  const folder = storage();
  let hub: PushHub;
  let broker: string;
  let port: number;
  let log: Captured;
  const sims: SimulatedPlug[] = [];
  const plugs: Plug[] = [];
  const raw: MqttClient[] = [];

  beforeAll(async () => {
    ({ hub, broker, log } = await startHub(folder.dir));
    port = hub.port!;
  });

  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.endAsync(true)));
    await Promise.all(plugs.splice(0).map((p) => p.stop()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    await hub.stop();
    folder.remove();
  });

  async function setup(options: Parameters<typeof connectedPlug>[3] = {}, plugOptions: Parameters<typeof connectedPlug>[4] = {}): Promise<{ sim: SimulatedPlug; plug: Plug }> {
    const { sim, plug } = await connectedPlug(hub, broker, logger(), options, plugOptions);
    sims.push(sim);
    plugs.push(plug);
    const online = waitFor<[string]>(plug, 'reachability', (state) => state === 'online');
    plug.start();
    await online;
    return { sim, plug };
  }

  /** A plug model for an identity no simulator uses: the broker knows it, nothing answers for it. */
  function registered(): ReturnType<typeof identity> {
    const id = identity();
    const plug = new Plug({ host: '127.0.0.1:9', key: id.key, uuid: id.uuid, name: 'Lonely plug', pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 500, outletInUseWatts: 2, log: logger() });
    hub.add(plug);
    return id;
  }

  function login(username: string, password: string, clientId = `fmware:${'0'.repeat(32)}_test`): Promise<MqttClient> {
    return connectAsync({ protocol: 'mqtts', host: '127.0.0.1', port, rejectUnauthorized: false, protocolVersion: 4, username, password, clientId, reconnectPeriod: 0 }).then((c) => {
      raw.push(c);
      return c;
    });
  }

  const mqttRecords = (sim: SimulatedPlug): RequestRecord[] => sim.requests.filter((r) => r.transport === 'mqtt');

  it('lets a plug in with the firmware credentials and answers its Clock, Bind and ConsumptionConfig', async () => {
    const { sim } = await setup({ firmware: 2 });
    const mqtt = sim.mqtt!;
    await until(mqtt, 'session', () => mqtt.session.clock && mqtt.session.bind && mqtt.session.consumptionConfig);
    expect(mqtt.session).toEqual({ clock: true, bind: true, consumptionConfig: true });
    expect(log.text()).toMatch(/listening on 127\.0\.0\.1:\d+ \(TLS\); plugs log in with user id 4242/);
    expect(log.text()).toMatch(/Test plug: connected over local MQTT from 127\.0\.0\.1/);
  });

  it('reads the state over MQTT when the plug connects, then shows a button press at once', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: false });
    await until(sim, 'request', () => mqttRecords(sim).some((r) => r.namespace === 'Appliance.Control.Multiple'));
    // No tight deadline: what shows the push is the order of requests below, not how fast the update came.
    const seen = waitFor<[{ on?: boolean }]>(plug, 'update', (c) => c.on === true);
    const mark = sim.requests.length;
    sim.press();
    await seen;
    expect(plug.snapshot.on).toBe(true);
    // At once: the push carried it. No request read the relay between the press and the update (a poll reads only
    // the meter while the plug is pushed), so no wall clock is needed to tell a push from a poll.
    expect(sim.requests.slice(mark).filter((r) => r.namespace !== 'Appliance.Control.Electricity')).toEqual([]);
  });

  it('takes the ToggleX object form and the legacy Toggle push alike', async () => {
    const obj = await setup({ firmware: 2, on: false });
    obj.sim.mqtt!.togglexForm = 'object';
    const legacy = await setup({ firmware: 1, on: true });
    const a = waitFor<[{ on?: boolean }]>(obj.plug, 'update', (c) => c.on === true);
    const b = waitFor<[{ on?: boolean }]>(legacy.plug, 'update', (c) => c.on === false);
    obj.sim.press();
    legacy.sim.press();
    await Promise.all([a, b]);
  });

  it('reads only the meter each poll while pushed; the relay just as a health check', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: true });
    // Lets the first cycle (which also reads the energy meter) finish.
    await plug.pollNow();
    const mark = sim.requests.length;
    await plug.pollNow();
    await plug.pollNow();
    const polled = sim.requests.slice(mark);
    expect(polled.map((r) => [r.transport, r.namespace])).toEqual([
      ['mqtt', 'Appliance.Control.Electricity'],
      ['mqtt', 'Appliance.Control.Electricity'],
    ]);
  });

  it('sends commands over MQTT while the plug is connected, and over HTTP once it is gone', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: false });
    const sets = (): Array<'mqtt' | undefined> => sim.requests.filter((r) => r.method === 'SET' && r.namespace === TOGGLEX).map((r) => r.transport);
    await plug.setOn(true);
    expect(sets()).toEqual(['mqtt']);
    // Off MQTT, the plug model polls at once, over HTTP: the fallback is in place before the next poll is due.
    const polled = waitFor<[RequestRecord]>(sim, 'request', (r) => r.transport === undefined);
    await sim.mqtt!.stop();
    await polled;
    await plug.setOn(false);
    expect(sets()).toEqual(['mqtt', undefined]);
    expect(sim.isOn).toBe(false);
    expect(log.text()).toMatch(/Test plug: off local MQTT \(it disconnected from the broker\); polling it over HTTP/);
  });

  it('falls back to HTTP when a connected plug does not answer over MQTT, and uses MQTT again from its next session', async () => {
    // No poll of its own in the way: the first request to go unanswered is the command.
    const { sim, plug } = await setup({ firmware: 2, on: false }, { pollIntervalMs: 60_000 });
    await plug.pollNow();
    const mqtt = sim.mqtt!;
    mqtt.mute = true;
    const started = performance.now();
    await plug.setOn(true);
    const took = performance.now() - started;
    // The plug's own timeout (1 s here) or the MQTT one, whichever is shorter.
    expect(took).toBeGreaterThanOrEqual(Math.min(1000, MQTT_REPLY_TIMEOUT_MS) - 50);
    expect(sim.requests.filter((r) => r.method === 'SET' && r.namespace === TOGGLEX).map((r) => r.transport)).toEqual(['mqtt', undefined]);
    expect(log.text()).toMatch(/off local MQTT \(it did not answer over MQTT\)/);
    // Straight to HTTP now, without trying MQTT first (the muted plug would have recorded an MQTT try).
    await plug.setOn(false);
    expect(sim.requests.filter((r) => r.method === 'SET' && r.namespace === TOGGLEX).map((r) => r.transport)).toEqual(['mqtt', undefined, undefined]);
    // Its pushes still arrive, but say nothing about whether it hears us; a new session does.
    const pushed = waitFor<[{ on?: boolean }]>(plug, 'update', (c) => c.on === true);
    sim.press();
    await pushed;
    mqtt.mute = false;
    await mqtt.stop();
    const reread = waitFor<[RequestRecord]>(sim, 'request', (r) => r.transport === 'mqtt');
    await mqtt.start();
    await reread;
    await plug.setOn(false);
    expect(sim.requests.filter((r) => r.method === 'SET' && r.namespace === TOGGLEX).map((r) => r.transport)).toEqual(['mqtt', undefined, undefined, 'mqtt']);
  });

  it('refuses wrong credentials, says so once per plug, and never logs the password', async () => {
    const id = registered();
    const wrong = devicePassword(id.mac, 'not-the-key', USER_ID);
    for (let i = 0; i < 3; i++) {
      const error = (await login(id.mac, wrong).catch((e: unknown) => e)) as ErrorWithReasonCode;
      expect(error.code).toBe(4);
    }
    const lines = log.lines.filter(([level, m]) => level === 'warn' && m.includes(id.mac));
    expect(lines).toHaveLength(1);
    expect(lines[0][1]).toMatch(/refused a login from 127\.0\.0\.1: Lonely plug \(.*\) gave a wrong password/);
    expect(log.text()).not.toContain(wrong);
    expect(log.text()).not.toContain(id.key);
    // The right password still gets in.
    await login(id.mac, devicePassword(id.mac, id.key, USER_ID));
  });

  it('refuses plugs it does not know, and user names that are not a MAC address', async () => {
    const stranger = identity();
    const error = (await login(stranger.mac, devicePassword(stranger.mac, stranger.key, USER_ID), deviceClientId(stranger.uuid)).catch((e: unknown) => e)) as ErrorWithReasonCode;
    expect(error.code).toBe(4);
    expect(log.text()).toContain(`no configured plug has the MAC address ${stranger.mac} (uuid ${stranger.uuid}); add it to "devices"`);
    const anon = (await login('admin', 'admin').catch((e: unknown) => e)) as ErrorWithReasonCode;
    expect(anon.code).toBe(4);
    expect(log.text()).toMatch(/user name is not a MAC address/);
  });

  it('lets a removed plug (run by another block) no longer log in', async () => {
    const id = identity();
    const plug = new Plug({ host: '127.0.0.1:9', key: id.key, uuid: id.uuid, name: 'Elsewhere', pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 500, outletInUseWatts: 2, log: logger() });
    hub.add(plug);
    const password = devicePassword(id.mac, id.key, USER_ID);
    await login(id.mac, password);
    hub.remove(plug);
    const error = (await login(id.mac, password).catch((e: unknown) => e)) as ErrorWithReasonCode;
    expect(error.code).toBe(4);
    expect(log.text()).toContain(`no configured plug has the MAC address ${id.mac}`);
  });

  it("keeps a plug to its own topics: no listening to another plug's requests, no speaking for it", async () => {
    const me = registered();
    const other = registered();
    const client = await login(me.mac, devicePassword(me.mac, me.key, USER_ID));
    const [own] = await client.subscribeAsync(subscribeTopic(me.uuid));
    expect(own.qos).toBe(0);
    // A negative SUBACK (granted QoS 128), which mqtt.js turns into an error; the session itself goes on.
    await expect(client.subscribeAsync(subscribeTopic(other.uuid))).rejects.toThrow(/Subscribe error/);
    await expect(client.subscribeAsync('/appliance/+/subscribe')).rejects.toThrow(/Subscribe error/);
    expect(client.connected).toBe(true);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(publishTopic(other.uuid), '{}');
    await closed;
  });

  it('ignores a push whose signature does not check out', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: false });
    const client = await login(sim.mac, devicePassword(sim.mac, sim.key, USER_ID), deviceClientId(sim.uuid));
    const push = (key: string): string =>
      JSON.stringify(buildMessage(TOGGLEX, 'PUSH', { togglex: [{ channel: 0, onoff: 1, lmTime: 1 }] }, key, { from: publishTopic(sim.uuid) }));
    const updates: unknown[] = [];
    plug.on('update', (c) => updates.push(c));
    await client.publishAsync(publishTopic(sim.uuid), push('forged'));
    const genuine = waitFor<[{ on?: boolean }]>(plug, 'update', (c) => c.on === true);
    await client.publishAsync(publishTopic(sim.uuid), push(sim.key));
    await genuine;
    // Same connection, in order: the forged one was handled (and dropped) before the genuine one.
    expect(updates.filter((u) => (u as { on?: boolean }).on !== undefined)).toHaveLength(1);
  });
});
