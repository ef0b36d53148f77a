import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { MatterAPI } from 'homebridge' with { 'resolution-mode': 'import' };
import { MatterOutletAdapter, matterName, outletShape, type MatterOutletAccessory } from '../../src/matter/outlet';
import { MatterPublisher } from '../../src/matter/publisher';
import { Plug, type PlugLogger } from '../../src/plug/plug';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { captureLog, type CapturedLog } from '../plug/capture-log';

type State = Record<string, Record<string, unknown>>;

interface Update {
  uuid: string;
  cluster: string;
  attributes: Record<string, unknown>;
  /** A composed accessory's part (a strip's outlet), or undefined for the accessory itself. */
  partId?: string;
  /** Whether a command handler was running when the update was sent. */
  inHandler: boolean;
}

class FailureStatus extends Error {}

/**
 * Homebridge's Matter API as the plugin sees it, with the behaviours that matter here copied from Homebridge 2.4:
 * bridged registration finishes after the promise resolves; a restored endpoint keeps its cached state; a command
 * runs the plugin's handler first and only then sets the state itself (toggle flips what the endpoint held).
 */
/** Where the fake keeps an endpoint: the accessory's UUID, or `UUID/partId` for one of its parts. */
const at = (uuid: string, partId?: string): string => (partId === undefined ? uuid : `${uuid}/${partId}`);

class FakeMatter extends EventEmitter<{ update: [Update] }> {
  /** Endpoints by `at(uuid, partId)`; a part's `handlers` are its own. */
  readonly endpoints = new Map<string, { accessory: MatterOutletAccessory; state: State; handlers?: MatterOutletAccessory['handlers'] }>();
  /** Finish each registration on the next turn of the event loop by itself (publisher tests), not on finishRegistrations(). */
  autoFinish = false;
  readonly updates: Update[] = [];
  readonly registered: MatterOutletAccessory[] = [];
  readonly unregistered: string[] = [];
  /** Cached endpoint state Homebridge rebuilt before the plugin registered (restart). */
  readonly restored = new Map<string, State>();
  private inHandler = false;
  private pendingRegistration: Array<() => void> = [];

  readonly api: MatterAPI = this.makeApi();

  private makeApi(): MatterAPI {
    const fake = {
      deviceTypes: { OnOffOutlet: { name: 'OnOffPlugInUnit' }, BridgedNode: { name: 'BridgedNode' } },
      uuid: { generate: (s: string) => `uuid:${s}` },
      status: { Failure: FailureStatus },
      registerPlatformAccessories: async (_plugin: string, _platform: string, list: MatterOutletAccessory[]) => {
        for (const accessory of list) {
          this.registered.push(accessory);
          const restored = this.restored.get(accessory.UUID);
          const state: State = restored ?? (JSON.parse(JSON.stringify(accessory.clusters ?? {})) as State);
          state.bridgedDeviceBasicInformation = { ...state.bridgedDeviceBasicInformation, reachable: true };
          const build = (): void => {
            this.endpoints.set(accessory.UUID, { accessory, state, handlers: accessory.handlers });
            for (const part of accessory.parts ?? []) {
              const partState = this.restored.get(at(accessory.UUID, part.id)) ?? (JSON.parse(JSON.stringify(part.clusters ?? {})) as State);
              this.endpoints.set(at(accessory.UUID, part.id), { accessory, state: partState, handlers: part.handlers });
            }
          };
          if (restored) build();
          // A new endpoint appears only once Homebridge has built it, after this call returned.
          else if (this.autoFinish) setImmediate(build);
          else this.pendingRegistration.push(build);
        }
      },
      getAccessoryState: async (uuid: string, cluster: string, partId?: string) => this.endpoints.get(at(uuid, partId))?.state[cluster],
      updateAccessoryState: async (uuid: string, cluster: string, attributes: Record<string, unknown>, partId?: string) => {
        const update: Update = { uuid, cluster, attributes, inHandler: this.inHandler, ...(partId === undefined ? {} : { partId }) };
        this.updates.push(update);
        this.emit('update', update);
        const endpoint = this.endpoints.get(at(uuid, partId));
        if (!endpoint) return; // Homebridge drops it (and logs at debug)
        endpoint.state[cluster] = { ...endpoint.state[cluster], ...attributes };
      },
      updatePlatformAccessories: async () => undefined,
      unregisterPlatformAccessories: async (_plugin: string, _platform: string, list: MatterOutletAccessory[]) => {
        this.unregistered.push(...list.map((a) => a.UUID));
        for (const a of list) for (const key of [...this.endpoints.keys()]) if (key === a.UUID || key.startsWith(`${a.UUID}/`)) this.endpoints.delete(key);
      },
    };
    // Only the members the plugin uses exist here; the cast stands in for the rest of Homebridge's MatterAPI.
    return fake as unknown as MatterAPI;
  }

  /** Homebridge finishes building the endpoints registered so far. */
  finishRegistrations(): void {
    for (const done of this.pendingRegistration.splice(0)) done();
  }

  state(uuid: string, partId?: string): State {
    const endpoint = this.endpoints.get(at(uuid, partId));
    if (!endpoint) throw new Error(`no endpoint ${uuid}`);
    return endpoint.state;
  }

  /** A controller's OnOff command, run the way Homebridge's OnOff behaviour runs it. */
  async command(uuid: string, command: 'on' | 'off' | 'toggle', partId?: string): Promise<void> {
    const endpoint = this.endpoints.get(at(uuid, partId));
    const handler = endpoint?.handlers?.onOff?.[command];
    if (!endpoint || !handler) throw new Error(`no ${command} handler`);
    this.inHandler = true;
    try {
      await handler(undefined, undefined as never);
    } finally {
      this.inHandler = false;
    }
    const held = Boolean(endpoint.state.onOff?.onOff);
    endpoint.state.onOff = { onOff: command === 'toggle' ? !held : command === 'on' };
  }

  clear(): void {
    this.updates.length = 0;
  }
}

const log: PlugLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
afterEach(async () => {
  for (const p of plugs.splice(0)) p.stop();
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function plugFor(options: SimulatorOptions): Promise<{ sim: SimulatedPlug; plug: Plug }> {
  const sim = await SimulatedPlug.start(options);
  sims.push(sim);
  const plug = new Plug({ host: sim.address, key: sim.key, name: 'Desk lamp', pollIntervalMs: 1000, energyPollIntervalMs: 1000, timeoutMs: 300, outletInUseWatts: 2, log });
  plugs.push(plug);
  await plug.pollNow();
  return { sim, plug };
}

/** Resolves with the adapter's next update for `cluster` (some are sent after the event that caused them). */
const nextUpdate = (fake: FakeMatter, cluster: string): Promise<Update> =>
  new Promise((resolve) => {
    const listener = (update: Update): void => {
      if (update.cluster !== cluster) return;
      fake.off('update', listener);
      resolve(update);
    };
    fake.on('update', listener);
  });

async function publish(fake: FakeMatter, plug: Plug, cached?: MatterOutletAccessory): Promise<MatterOutletAdapter> {
  const adapter = new MatterOutletAdapter(fake.api, plug, { uuid: 'uuid:plug', name: 'Desk lamp', plugUuid: plug.uuid!, shape: outletShape(plug, cached, true), cached, log });
  const registered = adapter.register('homebridge-meross-lan', 'MerossLan');
  fake.finishRegistrations();
  await registered;
  return adapter;
}

describe('Matter outlet adapter', () => {
  it('registers an OnOffOutlet with the plug as serial number and its values in cluster units', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    const fake = new FakeMatter();
    await publish(fake, plug);
    const [accessory] = fake.registered;
    expect(accessory).toMatchObject({ UUID: 'uuid:plug', displayName: 'Desk lamp', serialNumber: sim.uuid, manufacturer: 'Meross', model: 'MSS310', firmwareRevision: '2.1.17' });
    expect(accessory.deviceType).toBe(fake.api.deviceTypes.OnOffOutlet);
    expect(Object.keys(accessory.handlers?.onOff ?? {}).sort()).toEqual(['off', 'on', 'toggle']);
    expect(accessory.clusters).toMatchObject({
      onOff: { onOff: true },
      electricalPowerMeasurement: { activePower: 61_500, voltage: 231_200, activeCurrent: 270 },
      electricalEnergyMeasurement: { cumulativeEnergyImported: { energy: plug.snapshot.lifetimeKWh * 1_000_000 } },
    });
    // The endpoint already holds all of it: nothing to send.
    expect(fake.updates).toEqual([]);
  });

  it('waits for Homebridge to finish building the endpoint before sending anything', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: true });
    const fake = new FakeMatter();
    const adapter = new MatterOutletAdapter(fake.api, plug, { uuid: 'uuid:plug', name: 'Desk lamp', plugUuid: sim.uuid, shape: { power: true, energy: true }, log });
    const registered = adapter.register('p', 'P');
    sim.setReadings({ watts: 12 });
    await plug.pollNow();
    expect(fake.updates).toEqual([]);
    fake.finishRegistrations();
    await registered;
    expect(fake.updates.map((u) => [u.cluster, u.attributes])).toEqual([['electricalPowerMeasurement', { activePower: 12_000 }]]);
  });

  it('sends only the attributes that changed', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    const fake = new FakeMatter();
    await publish(fake, plug);
    sim.setReadings({ watts: 40 });
    await plug.pollNow();
    expect(fake.updates.map((u) => [u.cluster, u.attributes])).toEqual([['electricalPowerMeasurement', { activePower: 40_000 }]]);
    fake.clear();
    await plug.pollNow();
    expect(fake.updates).toEqual([]);
  });

  it('switches through the plug on on/off/toggle, never updating Matter from inside the handler', async () => {
    const { sim, plug } = await plugFor({ firmware: 1, on: true, watts: 20, volts: 230, amps: 0.09 });
    const fake = new FakeMatter();
    await publish(fake, plug);
    const powerUpdate = nextUpdate(fake, 'electricalPowerMeasurement');
    await fake.command('uuid:plug', 'off');
    expect(sim.isOn).toBe(false);
    // After the handler: the power the plug no longer draws. The on/off state Homebridge set itself.
    const update = await powerUpdate;
    expect(update.attributes).toEqual({ activePower: 0, activeCurrent: 0 });
    await fake.command('uuid:plug', 'toggle');
    expect(sim.isOn).toBe(true);
    expect(fake.state('uuid:plug').onOff).toEqual({ onOff: true });
    await fake.command('uuid:plug', 'on');
    expect(sim.isOn).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.updates.filter((u) => u.inHandler)).toEqual([]);
    expect(fake.updates.filter((u) => u.cluster === 'onOff')).toEqual([]);
  });

  it('toggles what the controller shows, so the endpoint and the plug agree afterwards even if Matter was behind', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: true });
    const fake = new FakeMatter();
    await publish(fake, plug);
    // Matter still shows off although the plug is on (its button was pressed, the poll has not seen it yet).
    fake.state('uuid:plug').onOff = { onOff: false };
    await fake.command('uuid:plug', 'toggle');
    expect(sim.isOn).toBe(true);
    expect(fake.state('uuid:plug').onOff).toEqual({ onOff: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.updates.filter((u) => u.cluster === 'onOff')).toEqual([]);
  });

  it('fails a command the plug did not take with a FAILURE status, leaving the state alone', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: false });
    const fake = new FakeMatter();
    await publish(fake, plug);
    await sim.setFault({ type: 'offline' });
    await expect(fake.command('uuid:plug', 'on')).rejects.toBeInstanceOf(FailureStatus);
    expect(sim.isOn).toBe(false);
    expect(fake.state('uuid:plug').onOff).toEqual({ onOff: false });
  });

  it('reports an unreachable plug through Reachable and empty measurements, and its return', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    const fake = new FakeMatter();
    await publish(fake, plug);
    const energyBefore = fake.state('uuid:plug').electricalEnergyMeasurement;
    await sim.setFault({ type: 'offline' });
    await plug.pollNow();
    expect(fake.updates.map((u) => [u.cluster, u.attributes])).toEqual([
      ['bridgedDeviceBasicInformation', { reachable: false }],
      ['electricalPowerMeasurement', { activePower: null, voltage: null, activeCurrent: null }],
    ]);
    expect(fake.state('uuid:plug').electricalEnergyMeasurement).toEqual(energyBefore);
    fake.clear();
    await sim.setFault(null);
    await plug.pollNow();
    expect(fake.updates.map((u) => [u.cluster, u.attributes])).toEqual([
      ['bridgedDeviceBasicInformation', { reachable: true }],
      ['electricalPowerMeasurement', { activePower: 61_500, voltage: 231_200, activeCurrent: 270 }],
    ]);
  });

  it('fails at once for a plug that rejected its key, without sending to it', async () => {
    const { sim, plug } = await plugFor({ firmware: 2, on: false });
    const fake = new FakeMatter();
    await publish(fake, plug);
    const wrongKey = new Plug({ ...plug.options, key: 'not-the-key', uuid: sim.uuid });
    plugs.push(wrongKey);
    await wrongKey.pollNow();
    expect(wrongKey.reachable).toBe(false);
    const adapter = new MatterOutletAdapter(fake.api, wrongKey, { uuid: 'uuid:wrong', name: 'Wrong key', plugUuid: sim.uuid, shape: { power: true, energy: true }, log });
    const registered = adapter.register('p', 'P');
    fake.finishRegistrations();
    await registered;
    const requests = sim.requests.length;
    await expect(fake.command('uuid:wrong', 'on')).rejects.toThrow(/key/i);
    expect(sim.requests.slice(requests).filter((r) => r.method === 'SET')).toEqual([]);
  });

  it('reattaches to a restored endpoint and corrects what its cache held, never lowering energy', async () => {
    const { plug } = await plugFor({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    const fake = new FakeMatter();
    // The cache from the last run: off, another reading, and more energy than this run's meter shows.
    const cachedEnergy = Math.round(plug.snapshot.lifetimeKWh * 1_000_000) + 5_000_000;
    const cached: MatterOutletAccessory = {
      UUID: 'uuid:plug',
      displayName: 'Old name',
      deviceType: fake.api.deviceTypes.OnOffOutlet,
      serialNumber: plug.uuid!,
      manufacturer: 'Meross',
      model: 'MSS310',
      context: { plugUuid: plug.uuid },
      clusters: {
        onOff: { onOff: false },
        electricalPowerMeasurement: { activePower: 1000, voltage: 230_000, activeCurrent: 5 },
        electricalEnergyMeasurement: { cumulativeEnergyImported: { energy: cachedEnergy } },
      },
    };
    fake.restored.set('uuid:plug', JSON.parse(JSON.stringify(cached.clusters)) as State);
    await publish(fake, plug, cached);
    const sent = new Map(fake.updates.map((u) => [u.cluster, u.attributes]));
    expect(sent.get('onOff')).toEqual({ onOff: true });
    expect(sent.get('electricalPowerMeasurement')).toEqual({ activePower: 61_500, voltage: 231_200, activeCurrent: 270 });
    expect(sent.get('bridgedDeviceBasicInformation')).toEqual({ nodeLabel: 'Desk lamp' });
    expect(sent.has('electricalEnergyMeasurement')).toBe(false);
    expect(fake.registered[0].clusters?.electricalEnergyMeasurement).toEqual({ cumulativeEnergyImported: { energy: cachedEnergy } });
  });

  it('keeps the cached shape until the plug has told its abilities', async () => {
    const sim = await SimulatedPlug.start({ firmware: 2 });
    sims.push(sim);
    const plug = new Plug({ host: sim.address, key: sim.key, name: 'x', pollIntervalMs: 1000, energyPollIntervalMs: 1000, timeoutMs: 300, outletInUseWatts: 2, log });
    plugs.push(plug);
    const cached = { clusters: { onOff: { onOff: false }, electricalPowerMeasurement: {} } } as unknown as MatterOutletAccessory;
    expect(outletShape(plug, cached, true)).toEqual({ power: true, energy: false });
    expect(outletShape(plug, undefined, true)).toEqual({ power: true, energy: true });
    expect(outletShape(plug, undefined, false)).toEqual({ power: false, energy: false });
    await plug.pollNow();
    expect(outletShape(plug, cached, true)).toEqual({ power: true, energy: true });
  });
});

describe('Matter names', () => {
  it('fit Matter\'s 32-byte NodeLabel, cut at a character boundary', () => {
    expect(matterName('Desk lamp')).toBe('Desk lamp');
    expect(matterName('Living room standing lamp by the big window')).toBe('Living room standing lamp by the');
    // 'ä' is two bytes: 15 of them are 30 bytes, a 16th would be 32, a 17th too many.
    expect(Buffer.byteLength(matterName('ä'.repeat(20)))).toBe(32);
    expect(matterName('Lampe 💡 im Wohnzimmer am großen Fenster')).toBe('Lampe 💡 im Wohnzimmer am gro');
  });
});

describe('Matter publisher', () => {
  const support = (fake: FakeMatter) => ({ matter: fake.api, energy: true });
  const cachedFor = (plugUuid: string, fake: FakeMatter): MatterOutletAccessory => ({
    UUID: fake.api.uuid.generate(`homebridge-meross-lan:${plugUuid}`),
    displayName: plugUuid,
    deviceType: fake.api.deviceTypes.OnOffOutlet,
    serialNumber: plugUuid,
    manufacturer: 'Meross',
    model: 'MSS310',
    context: { plugUuid },
  });

  it('publishes each plug once, keyed by its uuid, and removes cached accessories no plug claims', async () => {
    const { plug } = await plugFor({ firmware: 2 });
    const fake = new FakeMatter();
    const publisher = new MatterPublisher(support(fake), { pluginName: 'homebridge-meross-lan', platformName: 'MerossLan', publish: true, log });
    for (const id of [plug.uuid!, 'gone', 'kept']) publisher.configureAccessory(cachedFor(id, fake));
    fake.restored.set(publisher.accessoryUuid(plug.uuid!), { onOff: { onOff: false } });
    publisher.attach(plug, 'Desk lamp');
    publisher.attach(plug, 'Desk lamp');
    publisher.prune((plugUuid) => plugUuid === 'kept');
    await publisher.settled();
    expect(fake.registered.map((a) => a.UUID)).toEqual([`uuid:homebridge-meross-lan:${plug.uuid}`]);
    expect(fake.unregistered).toEqual(['uuid:homebridge-meross-lan:gone']);
  });

  it('with Matter turned off for the plugin, publishes nothing and removes what the cache held', async () => {
    const { plug } = await plugFor({ firmware: 2 });
    const fake = new FakeMatter();
    const publisher = new MatterPublisher(support(fake), { pluginName: 'homebridge-meross-lan', platformName: 'MerossLan', publish: false, log });
    publisher.configureAccessory(cachedFor(plug.uuid!, fake));
    publisher.attach(plug, 'Desk lamp');
    publisher.prune(() => true);
    await publisher.settled();
    expect(fake.registered).toEqual([]);
    expect(fake.unregistered).toEqual([`uuid:homebridge-meross-lan:${plug.uuid}`]);
  });
});

/** A publisher on a fake Matter API that finishes registrations by itself, logging to a captured log. */
function stripPublisher(log: CapturedLog = captureLog()): { fake: FakeMatter; captured: CapturedLog; publisher: MatterPublisher } {
  const fake = new FakeMatter();
  fake.autoFinish = true;
  const publisher = new MatterPublisher({ matter: fake.api, energy: true }, { pluginName: 'homebridge-meross-lan', platformName: 'MerossLan', publish: true, log });
  return { fake, captured: log, publisher };
}

describe('Matter: a power strip', () => {
  const STRIP_OUTLETS = [1, 2, 3, 4];

  async function stripPlug(name = 'Strip'): Promise<{ sim: SimulatedPlug; plug: Plug }> {
    const sim = await SimulatedPlug.start({ model: 'mss425e', on: false });
    sims.push(sim);
    const plug = new Plug({ host: sim.address, key: sim.key, uuid: sim.uuid, name, pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 1000, outletInUseWatts: 2, log });
    plugs.push(plug);
    return { sim, plug };
  }

  async function publishStrip(fake: FakeMatter, plug: Plug): Promise<MatterOutletAdapter> {
    const adapter = new MatterOutletAdapter(fake.api, plug, { uuid: 'uuid:strip', name: 'Strip', plugUuid: plug.uuid!, shape: outletShape(plug, undefined, true), log });
    const registered = adapter.register('homebridge-meross-lan', 'MerossLan');
    fake.finishRegistrations();
    await registered;
    return adapter;
  }

  it('is a bridged node composed of one OnOffOutlet part per outlet (no master, no meter), named after the Meross app', async () => {
    const { sim, plug } = await stripPlug();
    await plug.pollNow();
    plug.labelOutlets(
      new Map([
        [1, { name: 'Desk lamp', usb: false }],
        [4, { name: '', usb: true }],
      ]),
    );
    const fake = new FakeMatter();
    await publishStrip(fake, plug);
    const [accessory] = fake.registered;
    expect(accessory.deviceType).toBe(fake.api.deviceTypes.BridgedNode);
    expect(accessory).toMatchObject({ serialNumber: sim.uuid, model: 'MSS425E' });
    // The parent holds no on/off of its own (that would be the master, which switches every outlet).
    expect(accessory.clusters).toBeUndefined();
    expect(accessory.handlers).toBeUndefined();
    expect(accessory.parts?.map((p) => [p.id, p.displayName, p.deviceType])).toEqual([
      ['outlet-1', 'Desk lamp', fake.api.deviceTypes.OnOffOutlet],
      ['outlet-2', 'Outlet 2', fake.api.deviceTypes.OnOffOutlet],
      ['outlet-3', 'Outlet 3', fake.api.deviceTypes.OnOffOutlet],
      ['outlet-4', 'USB', fake.api.deviceTypes.OnOffOutlet],
    ]);
    for (const part of accessory.parts ?? []) {
      expect(Object.keys(part.clusters ?? {})).toEqual(['onOff']);
      expect(Object.keys(part.handlers?.onOff ?? {}).sort()).toEqual(['off', 'on', 'toggle']);
    }
    expect(fake.updates).toEqual([]);
  });

  it('switches exactly the outlet a part was commanded for, and reports a button press on that part only', async () => {
    const { sim, plug } = await stripPlug();
    await plug.pollNow();
    const fake = new FakeMatter();
    await publishStrip(fake, plug);
    const onTheStrip = (): boolean[] => STRIP_OUTLETS.map((c) => sim.channelOn(c));

    await fake.command('uuid:strip', 'on', 'outlet-2');
    expect(onTheStrip()).toEqual([false, true, false, false]);
    await fake.command('uuid:strip', 'toggle', 'outlet-4');
    expect(onTheStrip()).toEqual([false, true, false, true]);
    expect(fake.state('uuid:strip', 'outlet-4').onOff).toEqual({ onOff: true });
    await fake.command('uuid:strip', 'off', 'outlet-2');
    expect(onTheStrip()).toEqual([false, false, false, true]);
    await new Promise((resolve) => setImmediate(resolve));
    // Homebridge set the commanded parts itself; nothing else was sent, least of all from inside a handler.
    expect(fake.updates).toEqual([]);

    sim.press(3);
    await plug.pollNow();
    await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
    expect(fake.updates.map((u) => [u.partId, u.cluster, u.attributes])).toEqual([['outlet-3', 'onOff', { onOff: true }]]);
    expect(fake.state('uuid:strip', 'outlet-3').onOff).toEqual({ onOff: true });
    expect(fake.state('uuid:strip', 'outlet-1').onOff).toEqual({ onOff: false });
  });

  it('a plug never on Matter waits for its first answer, and a strip is then published as one, never as a guess', async () => {
    const { plug } = await stripPlug();
    const { fake, captured, publisher } = stripPublisher();
    publisher.attach(plug, 'Strip');
    await publisher.settled();
    expect(fake.registered).toEqual([]);
    await plug.pollNow();
    await publisher.settled();
    const strip = `uuid:homebridge-meross-lan:${plug.uuid}:strip`;
    expect(fake.unregistered).toEqual([]);
    expect(fake.registered.map((a) => a.UUID)).toEqual([strip]);
    expect(fake.registered[0].parts?.map((p) => p.id)).toEqual(STRIP_OUTLETS.map((c) => `outlet-${c}`));
    expect(captured.lines.filter(([level]) => level === 'warn')).toEqual([]);
  });

  it('a strip Matter knew as one outlet is replaced by the composed one under its own UUID, without a warning', async () => {
    const { plug } = await stripPlug();
    const { fake, captured, publisher } = stripPublisher();
    const single = `uuid:homebridge-meross-lan:${plug.uuid}`;
    // An earlier version published every plug as one outlet: the cached endpoint is shown at once, before the plug answers.
    publisher.configureAccessory({ UUID: single, displayName: 'Strip', deviceType: fake.api.deviceTypes.OnOffOutlet, serialNumber: plug.uuid!, manufacturer: 'Meross', model: 'MSS425E', context: { plugUuid: plug.uuid } });
    publisher.attach(plug, 'Strip');
    await publisher.settled();
    expect(fake.registered.map((a) => a.UUID)).toEqual([single]);
    await plug.pollNow();
    await publisher.settled();
    const strip = `${single}:strip`;
    expect(fake.unregistered).toEqual([single]);
    expect(fake.registered.map((a) => a.UUID)).toEqual([single, strip]);
    expect(fake.registered[1].parts?.map((p) => p.id)).toEqual(STRIP_OUTLETS.map((c) => `outlet-${c}`));
    expect([...fake.endpoints.keys()].sort()).toEqual([strip, ...STRIP_OUTLETS.map((c) => `${strip}/outlet-${c}`)].sort());
    expect(captured.lines.filter(([level]) => level === 'warn')).toEqual([]);
    expect(captured.lines).toContainEqual(['info', 'Strip: has 4 outlets; publishing it again over Matter with that shape.']);
  });

  it('a strip whose Matter cache still holds it as one outlet is published as a strip and the old accessory removed', async () => {
    const sim = await SimulatedPlug.start({ model: 'mss425e', on: false });
    sims.push(sim);
    // The HomeKit cache knew its outlets (so the plug starts as a strip); the Matter cache is older.
    const plug = new Plug({ host: sim.address, key: sim.key, uuid: sim.uuid, name: 'Strip', pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 1000, outletInUseWatts: 2, restoredOutlets: { 1: true, 2: false, 3: false, 4: false }, log });
    plugs.push(plug);
    expect(plug.isStrip).toBe(true);
    const { fake, publisher } = stripPublisher();
    const single = `uuid:homebridge-meross-lan:${sim.uuid}`;
    publisher.configureAccessory({ UUID: single, displayName: 'Strip', deviceType: fake.api.deviceTypes.OnOffOutlet, serialNumber: sim.uuid, manufacturer: 'Meross', model: 'MSS425E', context: { plugUuid: sim.uuid } });
    publisher.attach(plug, 'Strip');
    publisher.prune(() => true);
    await publisher.settled();
    expect(fake.unregistered).toEqual([single]);
    expect(fake.registered.map((a) => a.UUID)).toEqual([`${single}:strip`]);
    // Before the strip answers, each part shows what the cache remembered.
    expect(fake.registered[0].parts?.map((p) => p.clusters?.onOff)).toEqual([{ onOff: true }, { onOff: false }, { onOff: false }, { onOff: false }]);
  });

  it('stays HomeKit-only where Homebridge has no composed devices (no BridgedNode); a plug cached as a strip that is single is published', async () => {
    const { fake, captured, publisher } = stripPublisher();
    delete (fake.api.deviceTypes as { BridgedNode?: unknown }).BridgedNode;
    const { plug: strip } = await stripPlug();
    publisher.attach(strip, 'Strip');
    await strip.pollNow();
    await publisher.settled();
    expect(fake.registered).toEqual([]);
    expect(captured.lines).toContainEqual(['info', 'Strip: this Homebridge cannot publish composed Matter devices, so the strip stays HomeKit-only; Homebridge 2.4 can.']);

    const sim = await SimulatedPlug.start({ model: 'mss210', on: false });
    sims.push(sim);
    // The HomeKit cache says strip; the device is a single plug.
    const plug = new Plug({ host: sim.address, key: sim.key, uuid: sim.uuid, name: 'Fan', pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 1000, outletInUseWatts: 2, restoredOutlets: { 1: true, 2: false }, log });
    plugs.push(plug);
    publisher.attach(plug, 'Fan');
    await publisher.settled();
    expect(fake.registered).toEqual([]);
    await plug.pollNow();
    await publisher.settled();
    expect(fake.registered.map((a) => [a.UUID, a.deviceType])).toEqual([[`uuid:homebridge-meross-lan:${sim.uuid}`, fake.api.deviceTypes.OnOffOutlet]]);
    expect(fake.unregistered).toEqual([]);
  });
});
