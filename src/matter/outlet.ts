import { setTimeout as delay } from 'node:timers/promises';
import type { MatterAccessory, MatterAPI } from 'homebridge' with { 'resolution-mode': 'import' };
import type { SystemInfo } from '../meross/decode';
import { outletName } from '../plug/outlets';
import type { Plug, PlugLogger } from '../plug/plug';
import { describe } from '../util/describe';
import { cumulativeEnergy, powerState, type PowerState } from './units';

/** What the Matter accessory cache keeps for one plug. */
export interface MatterOutletContext {
  plugUuid?: string;
}

export type MatterOutletAccessory = MatterAccessory<MatterOutletContext>;

/** Which measurement clusters the endpoint carries. */
export interface OutletShape {
  power: boolean;
  energy: boolean;
}

/** What the Matter endpoint holds, as far as this adapter knows: the baseline for sending only what changed. */
interface Reported {
  /** Per outlet channel (a single plug: channel 0). */
  onOff: Map<number, boolean>;
  reachable: boolean;
  power: PowerState;
  energy: number | null;
}

export interface MatterOutletOptions {
  /** The Matter accessory UUID (derived from the plug's uuid by the publisher). */
  uuid: string;
  name: string;
  /** The plug's own 32-character uuid: the serial number controllers show. */
  plugUuid: string;
  shape: OutletShape;
  /** The plug's outlets (default: Plug `outlets`): `[0]` is one OnOffOutlet; a strip's 1..N become one part (endpoint) each. */
  channels?: readonly number[];
  /** The accessory Homebridge restored from its Matter cache, if any. */
  cached?: MatterOutletAccessory;
  log: PlugLogger;
}

const POWER_KEYS = ['activePower', 'voltage', 'activeCurrent'] as const;
/** Registration of a bridged accessory finishes after registerPlatformAccessories resolves; how long to wait for it. */
const REGISTRATION_WAIT_MS = 30_000;

/** A strip outlet's part id (Homebridge `parts`: one child endpoint each). */
export const outletPartId = (channel: number): string => `outlet-${channel}`;

/**
 * The Matter face of one plug: an OnOffOutlet with Electrical Power and Energy Measurement, or for a strip a composed
 * device with one OnOffOutlet part per outlet (its master is not shown; the meter, if any, sits on the first outlet,
 * as on the HomeKit side). A thin adapter like the HomeKit one: commands go straight to the plug's own write path, and
 * plug events become `updateAccessoryState` calls for exactly the attributes that changed. It keeps no state of its
 * own beyond what it last told Matter.
 */
export class MatterOutletAdapter {
  readonly accessory: MatterOutletAccessory;
  private reported: Reported;
  private ready = false;
  /** Commands in flight: while > 0, Homebridge owns the endpoint's state and nothing is pushed. */
  private commands = 0;
  private syncQueued = false;
  /** Set once this adapter was replaced (the plug's outlets changed): it sends nothing more. */
  private retired = false;
  private readonly strip: boolean;
  private readonly channels: readonly number[];
  /** The part that carries the meter (a strip's first outlet); undefined: the accessory itself. */
  private readonly meterPart: string | undefined;

  constructor(
    private readonly matter: MatterAPI,
    private readonly plug: Plug,
    private readonly options: MatterOutletOptions,
  ) {
    const values = plug.snapshot;
    const { shape, cached } = options;
    const channels = (this.channels = options.channels ?? plug.outlets);
    this.strip = channels[0] !== 0;
    this.meterPart = this.strip ? outletPartId(channels[0]) : undefined;
    const reported: Reported = {
      onOff: new Map(channels.map((c) => [c, plug.outletOn(c)])),
      reachable: true,
      power: powerState(values, plug.reachable),
      energy: cumulativeEnergy(values.lifetimeKWh, cachedEnergy(cached)),
    };
    this.reported = reported;
    const meter: NonNullable<MatterOutletAccessory['clusters']> = {};
    if (shape.power) meter.electricalPowerMeasurement = { ...reported.power };
    if (shape.energy) {
      // The key must be present even while null: Homebridge derives the cluster's features from the attribute names.
      meter.electricalEnergyMeasurement = { cumulativeEnergyImported: reported.energy === null ? null : { energy: reported.energy } };
    }
    const handlers = (channel: number): NonNullable<MatterOutletAccessory['handlers']> => ({
      onOff: {
        on: () => this.command('on', channel),
        off: () => this.command('off', channel),
        toggle: () => this.command('toggle', channel),
      },
    });
    const info = plug.info;
    this.accessory = {
      UUID: options.uuid,
      displayName: options.name,
      // A strip's parent only holds its outlets. Homebridge 2.4 documents deviceTypes.BridgedNode (matter.js
      // BridgedNodeEndpoint) as the container for an accessory with parts, and its AccessoryManager handles it as
      // such: it skips adding Bridged Device Basic Information (the type has it), and gives any parent with parts the
      // FixedLabel "composed" and a wired PowerSource that Apple's controller needs to bind the children. Checked end to
      // end with a matter.js controller (test/e2e/strip-matter.test.ts): types 0x0013 on the parent, 0x010A on each
      // part. Any other parent type would add clusters of its own, e.g. an OnOffOutlet parent an on/off without
      // handlers standing for the master. The publisher does not publish strips where BridgedNode is missing.
      deviceType: this.strip ? matter.deviceTypes.BridgedNode : matter.deviceTypes.OnOffOutlet,
      serialNumber: options.plugUuid,
      manufacturer: 'Meross',
      model: info?.model.toUpperCase() ?? cached?.model ?? 'MSS310',
      context: { plugUuid: options.plugUuid },
    };
    if (this.strip) {
      this.accessory.parts = channels.map((channel, i) => ({
        id: outletPartId(channel),
        displayName: matterName(outletName(channel, plug.outletLabel(channel))),
        deviceType: matter.deviceTypes.OnOffOutlet,
        clusters: { onOff: { onOff: plug.outletOn(channel) }, ...(i === 0 ? meter : {}) },
        handlers: handlers(channel),
      }));
    } else {
      this.accessory.clusters = { onOff: { onOff: values.on }, ...meter };
      this.accessory.handlers = handlers(0);
    }
    const firmware = info?.firmwareVersion ?? cached?.firmwareRevision;
    const hardware = info?.hardwareVersion ?? cached?.hardwareRevision;
    if (firmware) this.accessory.firmwareRevision = firmware;
    if (hardware) this.accessory.hardwareRevision = hardware;

    plug.on('update', this.onChange);
    plug.on('outlet', this.onChange);
    plug.on('reachability', this.onChange);
    plug.on('info', this.onInfo);
  }

  get uuid(): string {
    return this.options.uuid;
  }

  /** Replaced by another adapter (the plug's outlets changed): from now on this one sends nothing. */
  retire(): void {
    this.retired = true;
    this.ready = false;
    this.plug.off('update', this.onChange);
    this.plug.off('outlet', this.onChange);
    this.plug.off('reachability', this.onChange);
    this.plug.off('info', this.onInfo);
  }

  private readonly onChange = (): void => this.scheduleSync();
  private readonly onInfo = (info: SystemInfo): void => this.updateInformation(info);

  /** Where the on/off of `channel` lives: a strip's part, or the accessory itself. */
  private partOf(channel: number): string | undefined {
    return this.strip ? outletPartId(channel) : undefined;
  }

  /**
   * Registers the accessory (for one restored from the cache, Homebridge attaches these handlers to the endpoint it
   * already rebuilt, so endpoint ids and the controllers' fabric stay as they were), then starts pushing changes.
   */
  async register(pluginName: string, platformName: string): Promise<boolean> {
    // Replaced while it waited in the publisher's queue: registering it now would only have to be undone.
    if (this.retired) return false;
    await this.matter.registerPlatformAccessories(pluginName, platformName, [this.accessory]);
    const registered = await this.whenRegistered();
    // Replaced meanwhile (the strip answered while its first guess was being published): not a failure to report.
    if (this.retired) return false;
    if (!registered) {
      this.options.log.warn(`${this.plug.name}: Homebridge did not finish publishing this plug over Matter (its log says why); it stays HomeKit-only until the next start.`);
      return false;
    }
    await this.readBaseline();
    if (this.retired) return false;
    this.ready = true;
    const cachedName = this.options.cached?.displayName;
    if (cachedName !== undefined && cachedName !== this.options.name) this.send('bridgedDeviceBasicInformation', { nodeLabel: this.options.name });
    this.sync();
    return true;
  }

  /**
   * Homebridge resolves registerPlatformAccessories for bridged accessories before their endpoint exists, and a state
   * update sent before then is dropped. Its own state read is the only completion signal it offers, so wait on that.
   */
  private async whenRegistered(): Promise<boolean> {
    if (typeof this.matter.getAccessoryState !== 'function') return true;
    const deadline = Date.now() + REGISTRATION_WAIT_MS;
    // Even when replaced meanwhile, wait for the end: the publisher's unregister must find the endpoint there, or it
    // would be built after the unregister and block the new shape's registration ("already registered").
    for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
      if (await this.matter.getAccessoryState(this.uuid, 'onOff', this.partOf(this.channels[0]))) return true;
      if (Date.now() >= deadline) return false;
      await delay(wait, undefined, { ref: false });
    }
  }

  /**
   * The endpoint may hold other values than the ones just registered: a restored endpoint keeps its cached state
   * (Homebridge issue #4015). Start the "only what changed" bookkeeping from what it really holds.
   */
  private async readBaseline(): Promise<void> {
    if (typeof this.matter.getAccessoryState !== 'function') return;
    const r = this.reported;
    for (const channel of this.channels) {
      const onOff = await this.matter.getAccessoryState(this.uuid, 'onOff', this.partOf(channel));
      if (typeof onOff?.onOff === 'boolean') r.onOff.set(channel, onOff.onOff);
    }
    const basic = await this.matter.getAccessoryState(this.uuid, 'bridgedDeviceBasicInformation');
    if (typeof basic?.reachable === 'boolean') r.reachable = basic.reachable;
    if (this.options.shape.power) {
      const power = await this.matter.getAccessoryState(this.uuid, 'electricalPowerMeasurement', this.meterPart);
      for (const key of POWER_KEYS) {
        const v = power?.[key];
        if (v === null || typeof v === 'number') r.power[key] = v;
      }
    }
    if (this.options.shape.energy) {
      const energy = await this.matter.getAccessoryState(this.uuid, 'electricalEnergyMeasurement', this.meterPart);
      const held = energy?.cumulativeEnergyImported?.energy;
      r.energy = typeof held === 'number' ? held : null;
    }
  }

  /**
   * One sync per tick: the plug reports "online" just before the values of the same poll, and Matter should get the
   * fresh values with it rather than a moment of the old ones.
   */
  private scheduleSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** Pushes every attribute whose wanted value differs from what Matter holds. */
  private sync(): void {
    if (!this.ready || this.commands > 0) return;
    const values = this.plug.snapshot;
    const reachable = this.plug.reachable;
    const r = this.reported;
    // Reachable first, so a controller that sees the measurements go null already knows why.
    if (reachable !== r.reachable) {
      r.reachable = reachable;
      this.send('bridgedDeviceBasicInformation', { reachable });
    }
    for (const channel of this.channels) {
      const on = this.plug.outletOn(channel);
      if (on === r.onOff.get(channel)) continue;
      r.onOff.set(channel, on);
      this.send('onOff', { onOff: on }, this.partOf(channel));
    }
    if (this.options.shape.power) {
      const wanted = powerState(values, reachable);
      const changed: Partial<PowerState> = {};
      for (const key of POWER_KEYS) {
        if (wanted[key] !== r.power[key]) changed[key] = r.power[key] = wanted[key];
      }
      if (Object.keys(changed).length > 0) this.send('electricalPowerMeasurement', changed, this.meterPart);
    }
    if (this.options.shape.energy) {
      const energy = cumulativeEnergy(values.lifetimeKWh, r.energy);
      if (energy !== null && energy !== r.energy) {
        r.energy = energy;
        this.send('electricalEnergyMeasurement', { cumulativeEnergyImported: { energy } }, this.meterPart);
      }
    }
  }

  private send(cluster: string, attributes: Record<string, unknown>, partId?: string): void {
    if (this.retired) return;
    // Homebridge logs its own failures; this line only adds which plug it was about.
    this.matter.updateAccessoryState(this.uuid, cluster, attributes, partId).catch((error: unknown) => {
      this.options.log.debug(`${this.plug.name}: Matter ${cluster} update failed: ${describe(error)}`);
    });
  }

  private async command(kind: 'on' | 'off' | 'toggle', channel: number): Promise<void> {
    const plug = this.plug;
    const refusal = plug.switchRefusal;
    if (refusal) {
      // Wrong key or wrong device: sending would fail (or switch a stranger's plug). Fail at once.
      throw this.failure(`${plug.name}: ${refusal.message}`);
    }
    this.commands++;
    let target = kind === 'on';
    try {
      // Toggle flips what the controller shows, which is also what Homebridge flips once this handler resolves, so
      // the endpoint and the plug agree afterwards even if the endpoint was behind the plug.
      if (kind === 'toggle') target = !(await this.heldOnOff(channel));
      await plug.setOn(target, channel);
      // Homebridge now sets the endpoint itself; the sync below only corrects it if the plug ends up elsewhere.
      this.reported.onOff.set(channel, target);
    } catch (error) {
      throw this.failure(`${plug.name}: could not switch ${target ? 'on' : 'off'}: ${describe(error)}`);
    } finally {
      this.commands--;
      // Anything that changed meanwhile (power after switching off, a press during the write) goes out after
      // Homebridge has applied the command, never from inside the handler.
      setImmediate(() => this.sync());
    }
  }

  /** The on/off state the endpoint holds right now (a read, allowed inside a handler unlike an update). */
  private async heldOnOff(channel: number): Promise<boolean> {
    const held = typeof this.matter.getAccessoryState === 'function' ? await this.matter.getAccessoryState(this.uuid, 'onOff', this.partOf(channel)) : undefined;
    return typeof held?.onOff === 'boolean' ? held.onOff : (this.reported.onOff.get(channel) ?? false);
  }

  /** A FAILURE status for the controller; `status` is missing on Homebridge versions before it was added. */
  private failure(message: string): Error {
    const Failure = this.matter.status?.Failure;
    return Failure ? new Failure(message) : new Error(message);
  }

  private updateInformation(info: SystemInfo): void {
    const a = this.accessory;
    const model = info.model.toUpperCase();
    if (a.model === model && a.firmwareRevision === info.firmwareVersion && a.hardwareRevision === info.hardwareVersion) return;
    a.model = model;
    a.firmwareRevision = info.firmwareVersion;
    a.hardwareRevision = info.hardwareVersion;
    // Only the cache: the endpoint shows the new firmware from the next start on.
    if (this.ready) this.matter.updatePlatformAccessories([a]).catch((error: unknown) => this.options.log.debug(`${this.plug.name}: Matter cache update failed: ${describe(error)}`));
  }
}

function cachedEnergy(cached: MatterOutletAccessory | undefined): number | null {
  const clusters = cached?.parts?.[0]?.clusters ?? cached?.clusters;
  const held = clusters?.electricalEnergyMeasurement?.cumulativeEnergyImported?.energy;
  return typeof held === 'number' ? held : null;
}

/** Matter's NodeLabel holds at most 32 bytes of UTF-8. */
const NODE_LABEL_BYTES = 32;

/**
 * The name for the Matter side. Homebridge passes the display name through as NodeLabel, and a longer one fails the
 * whole registration (a constraint error), so cut it, at a character boundary, to what Matter takes.
 */
export function matterName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch, 'utf8') > NODE_LABEL_BYTES) break;
    out += ch;
  }
  return out.trim() || 'Meross Plug';
}

/**
 * Capabilities decide the shape: the MSS310 reports power (Electricity) and a kWh meter (ConsumptionX). Until the
 * plug has answered, keep the shape the cache had, so a restart never changes the endpoint's structure (which would
 * make Homebridge rebuild it).
 */
export function outletShape(plug: Plug, cached: MatterOutletAccessory | undefined, energyClusters: boolean): OutletShape {
  if (!energyClusters) return { power: false, energy: false };
  const abilities = plug.abilities;
  if (abilities) return { power: abilities.electricity, energy: abilities.consumptionX };
  // A strip keeps its meter on its first outlet's part.
  const held = cached?.parts?.[0]?.clusters ?? cached?.clusters;
  if (held) return { power: 'electricalPowerMeasurement' in held, energy: 'electricalEnergyMeasurement' in held };
  return { power: true, energy: true };
}
