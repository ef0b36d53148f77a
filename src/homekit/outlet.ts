import type { API, Characteristic, CharacteristicValue, PlatformAccessory, Service, WithUUID } from 'homebridge' with { 'resolution-mode': 'import' };
import type { Abilities, SystemInfo } from '../meross/decode';
import { outletName } from '../plug/outlets';
import type { Plug, PlugValues } from '../plug/plug';
import { EVE_EPOCH_OFFSET, type EveTypes } from './eve';
import { EveHistoryService, HISTORY_SERVICE_UUID } from './history-service';

/**
 * What a plug can fill (issue: capabilities decide, not model names): power, voltage and current need
 * `Appliance.Control.Electricity`; a total (with Reset Total and the Eve history) needs the daily meter
 * (ConsumptionX) or power readings to estimate it from. A plug with neither is a plain switchable outlet.
 */
export interface Metering {
  power: boolean;
  total: boolean;
}

export function meteringOf(abilities: Pick<Abilities, 'electricity' | 'consumptionX'>): Metering {
  return { power: abilities.electricity, total: abilities.electricity || abilities.consumptionX };
}

/** What the accessory cache keeps for one plug. */
export interface OutletContext {
  plugUuid?: string;
  host?: string;
  values?: Partial<PlugValues>;
  /** What the plug could fill when it last answered, so a restart shows the right characteristics before it does. */
  metering?: Metering;
  /** The firmware the plug last reported, to tell the user once when an update changed it. */
  firmware?: string;
  /** A strip's outlets (channel → last state), so a restart shows them before the strip answers. */
  outlets?: Record<string, boolean>;
  /** The names this plugin gave a strip's outlets (channel → name): a new Meross app name replaces only these. */
  outletNames?: Record<string, string>;
}

export interface OutletOptions {
  /** The plugin's storage folder (`<storage>/meross-lan/`) for the Eve history; undefined keeps it in memory. */
  storageDir?: string;
  /** The accessory changed in a way the cache should keep (its characteristics, the firmware it last saw). */
  cacheChanged?: () => void;
}

type ValueKey = keyof Omit<PlugValues, 'resetTime' | 'lifetimeKWh'>;
type MeterKey = Exclude<ValueKey, 'on' | 'inUse'>;

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v));

/** One Outlet service: a single plug's (channel 0, no subtype) or one outlet of a strip (subtype `outlet-N`). */
interface OutletService {
  channel: number;
  service: Service;
  on: Characteristic;
  inUse: Characteristic;
}

const outletSubtype = (channel: number): string => `outlet-${channel}`;

/**
 * The HomeKit face of one plug: an Outlet with On, OutletInUse and the Eve energy characteristics, or, for a strip,
 * one Outlet per outlet (its master channel is not shown: it only switches them all). A thin adapter: reads come
 * from the plug model (never the network), writes go straight to it, and model updates become `updateValue` calls
 * for exactly the values that changed. The meter's characteristics sit on the first outlet.
 */
export class OutletAdapter {
  private outlets: OutletService[] = [];
  /** The meter's characteristics, on the first outlet's service. */
  private chars: Partial<Record<MeterKey, Characteristic>> = {};
  private resetTotal: Characteristic | undefined;
  private history: EveHistoryService | undefined;
  private metering: Metering | undefined;

  constructor(
    private readonly api: API,
    private readonly eve: EveTypes,
    readonly accessory: PlatformAccessory<OutletContext>,
    private readonly plug: Plug,
    private readonly options: OutletOptions = {},
  ) {
    this.buildOutlets();
    // Until the plug has said what it can do, the cache's word (or, the first time, the full MSS310 set) holds.
    this.applyMetering(plug.abilities ? meteringOf(plug.abilities) : (accessory.context.metering ?? { power: true, total: true }));

    this.pushAll(plug.snapshot);
    plug.on('update', (changes) => this.push(changes));
    plug.on('outlet', (channel, on) => this.pushOutlet(channel, on));
    plug.on('outlets', () => {
      // The plug is a strip after all (or no longer one): new services, and the meter moves to the first of them.
      this.buildOutlets();
      const metering = this.metering ?? { power: true, total: true };
      this.metering = undefined;
      this.chars = {};
      this.applyMetering(metering);
      this.pushAll(plug.snapshot);
    });
    plug.on('outletLabels', () => this.nameOutlets());
    plug.on('info', (info) => {
      this.setInformation(info);
      if (plug.abilities) this.applyMetering(meteringOf(plug.abilities));
    });
    if (plug.info) this.setInformation(plug.info);
    else if (plug.uuid) {
      // Known from the config or the cache: show it even before the plug first answers.
      this.information().setCharacteristic(api.hap.Characteristic.Manufacturer, 'Meross').setCharacteristic(api.hap.Characteristic.SerialNumber, plug.uuid);
    }
  }

  get plugInfo(): SystemInfo | undefined {
    return this.plug.info;
  }

  /** Returns the plug's current values, or throws "No Response" while the plug is unreachable. */
  private readyValues(): Readonly<PlugValues> {
    if (!this.plug.reachable) {
      throw new this.api.hap.HapStatusError(this.api.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    }
    return this.plug.snapshot;
  }

  private read(key: ValueKey): CharacteristicValue {
    return this.format(key, this.readyValues()[key]);
  }

  /** A strip's outlet has no meter of its own: it is in use while it is on. */
  private readOutlet(channel: number, key: 'on' | 'inUse'): CharacteristicValue {
    if (!this.plug.isStrip) return this.read(key);
    this.readyValues();
    return this.plug.outletOn(channel);
  }

  private format(key: keyof PlugValues, value: boolean | number): CharacteristicValue {
    switch (key) {
      case 'watts':
        return clamp(value as number, 0, 12_000);
      case 'volts':
        return clamp(value as number, 0, 380);
      case 'amps':
        return clamp(value as number, 0, 48);
      case 'totalKWh':
        return clamp(Math.round((value as number) * 1000) / 1000, 0, 1_000_000);
      default:
        return value;
    }
  }

  private async writeOn(outlet: OutletService, value: CharacteristicValue): Promise<void> {
    if (this.plug.switchRefusal) {
      // Wrong key or wrong device: sending would fail (or control a stranger's plug). Fail at once.
      throw new this.api.hap.HapStatusError(this.api.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    }
    const wanted = value === true || value === 1;
    const { channel } = outlet;
    try {
      await this.plug.setOn(wanted, channel);
    } catch {
      // Put the switch back to what the plug last confirmed, so no controller is left with a phantom state.
      const confirmed = this.plug.outletOn(channel);
      setImmediate(() => outlet.on.updateValue(confirmed));
      throw new this.api.hap.HapStatusError(this.api.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    }
    if (this.plug.outletOn(channel) !== wanted) {
      // Another controller's write overtook this one (last writer wins). Once we return, HAP-NodeJS still tells the
      // other controllers about *this* value, and stays silent about the winner's when the value did not change in
      // between; so announce the relay's real state after it (an event even if the stored value is the same).
      setImmediate(() => outlet.on.sendEventNotification(this.plug.outletOn(channel)));
    }
  }

  /**
   * One Outlet service per outlet the plug has: a single plug keeps its one untyped Outlet (as every earlier version
   * of the plugin made it); a strip gets `outlet-N` services, and the services that no longer fit are removed.
   */
  private buildOutlets(): void {
    const { Service: S, Characteristic: C } = this.api.hap;
    const channels = this.plug.outlets;
    const strip = this.plug.isStrip;
    let changed = false;
    for (const service of this.accessory.services.filter((sv) => sv.UUID === S.Outlet.UUID)) {
      const keep = strip ? channels.some((c) => service.subtype === outletSubtype(c)) : !service.subtype;
      if (keep) continue;
      this.accessory.removeService(service);
      changed = true;
    }
    const names = this.accessory.context.outletNames ?? {};
    this.outlets = channels.map((channel) => {
      let service = strip
        ? this.accessory.getServiceById(S.Outlet, outletSubtype(channel))
        : this.accessory.services.find((sv) => sv.UUID === S.Outlet.UUID && !sv.subtype);
      if (!service) {
        const name = strip ? this.outletName(channel) : this.accessory.displayName;
        service = this.accessory.addService(S.Outlet, name, strip ? outletSubtype(channel) : undefined);
        if (strip) {
          service.addOptionalCharacteristic(C.ConfiguredName);
          service.setCharacteristic(C.ConfiguredName, name);
          names[String(channel)] = name;
        }
        // A new accessory's one Outlet is saved when it is registered; a strip's outlets on a cached one need a write.
        changed ||= strip;
      }
      const outlet: OutletService = { channel, service, on: this.char(service, C.On), inUse: this.char(service, C.OutletInUse) };
      outlet.on.onGet(() => this.readOutlet(channel, 'on'));
      outlet.inUse.onGet(() => this.readOutlet(channel, 'inUse'));
      outlet.on.onSet((value) => this.writeOn(outlet, value));
      return outlet;
    });
    if (strip) {
      this.accessory.context.outletNames = names;
      this.outlets[0]?.service.setPrimaryService(true);
    } else {
      // One outlet after all: a restart must not bring back a strip's outlets.
      delete this.accessory.context.outletNames;
      delete this.accessory.context.outlets;
    }
    if (changed) {
      if (strip) this.plug.log.info(`${this.plug.name}: shown as ${channels.length} outlets (${channels.map((c) => this.outletName(c)).join(', ')}).`);
      this.options.cacheChanged?.();
    }
  }

  private outletName(channel: number): string {
    return outletName(channel, this.plug.outletLabel(channel));
  }

  /**
   * New names from the Meross app: each outlet whose name is still the one this plugin gave it takes the new one. A
   * name the user gave it in the Home app stays.
   */
  private nameOutlets(): void {
    if (!this.plug.isStrip) return;
    const C = this.api.hap.Characteristic;
    const names = (this.accessory.context.outletNames ??= {});
    let changed = false;
    for (const { channel, service } of this.outlets) {
      const wanted = this.outletName(channel);
      const given = names[String(channel)];
      if (wanted === given) continue;
      const shown = service.getCharacteristic(C.ConfiguredName).value;
      if (given !== undefined && shown !== given) continue;
      service.setCharacteristic(C.Name, wanted).setCharacteristic(C.ConfiguredName, wanted);
      names[String(channel)] = wanted;
      changed = true;
    }
    if (changed) this.options.cacheChanged?.();
  }

  /** Stops the Eve history's tick and saves it. */
  async stop(): Promise<void> {
    await this.history?.stop();
  }

  /** The characteristic of `type` on `service`, added if missing. */
  private char(service: Service, type: WithUUID<new () => Characteristic>): Characteristic {
    // addCharacteristic for the Eve types: getCharacteristic would add them too, but with a warning in the log.
    return service.characteristics.find((c) => c.UUID === type.UUID) ?? service.addCharacteristic(type);
  }

  /** The service that carries the meter: the first outlet. */
  private get meterService(): Service {
    return this.outlets[0].service;
  }

  /** Removes the characteristic of `type` from the meter's Outlet (a cached one the plug cannot fill). */
  private drop(type: WithUUID<new () => Characteristic>): boolean {
    const service = this.meterService;
    const found = service.characteristics.find((c) => c.UUID === type.UUID);
    if (found) service.removeCharacteristic(found);
    return found !== undefined;
  }

  /**
   * Gives the Outlet exactly the characteristics the plug can fill, adding missing ones and removing those a cached
   * accessory has but the plug cannot fill (an older version of the plugin gave every plug the Eve set).
   */
  private applyMetering(metering: Metering): void {
    const before = this.metering;
    if (before && before.power === metering.power && before.total === metering.total) return;
    this.metering = metering;
    let changed = false;
    const power: Array<[MeterKey, WithUUID<new () => Characteristic>]> = [
      ['watts', this.eve.Power],
      ['volts', this.eve.Voltage],
      ['amps', this.eve.Current],
    ];
    for (const [key, type] of power) {
      if (metering.power && !this.chars[key]) {
        const c = this.char(this.meterService, type);
        c.onGet(() => this.read(key));
        this.chars[key] = c;
      } else if (!metering.power) {
        delete this.chars[key];
        changed = this.drop(type) || changed;
      }
    }
    if (metering.total && !this.chars.totalKWh) {
      this.chars.totalKWh = this.char(this.meterService, this.eve.TotalEnergy);
      this.chars.totalKWh.onGet(() => this.read('totalKWh'));
      this.resetTotal = this.char(this.meterService, this.eve.ResetTotal);
      this.resetTotal.onGet(() => this.toEveTime(this.readyValues().resetTime));
      this.resetTotal.onSet((value) => this.writeResetTotal(value));
      this.history ??= new EveHistoryService(this.api, this.accessory, this.plug, {
        storageDir: this.options.storageDir,
        plugUuid: this.plug.uuid ?? this.accessory.context.plugUuid ?? this.accessory.UUID,
        log: this.plug.log,
      });
    } else if (!metering.total) {
      delete this.chars.totalKWh;
      this.resetTotal = undefined;
      changed = this.drop(this.eve.TotalEnergy) || changed;
      changed = this.drop(this.eve.ResetTotal) || changed;
      void this.history?.stop();
      this.history = undefined;
      const historyService = this.accessory.services.find((sv) => sv.UUID === HISTORY_SERVICE_UUID);
      if (historyService) {
        this.accessory.removeService(historyService);
        changed = true;
      }
    }
    this.accessory.context.metering = metering;
    // A change after the first call (the plug told its abilities) is always one the cache should keep; the first call
    // only matters when it removed what a cached accessory had.
    if (before) this.pushAll(this.plug.snapshot);
    if (changed || before) this.options.cacheChanged?.();
  }

  /**
   * Eve writes the time of the reset (Eve seconds); the total restarts from this moment and the same number is read
   * back later, across restarts. A value that is no time at all still resets, stamped with our clock.
   */
  private async writeResetTotal(value: CharacteristicValue): Promise<void> {
    const eveSeconds = typeof value === 'number' ? value : Number(value);
    const unix = Number.isFinite(eveSeconds) && eveSeconds > 0 ? eveSeconds + EVE_EPOCH_OFFSET : Math.floor(Date.now() / 1000);
    await this.plug.resetTotal(unix);
  }

  private toEveTime(unix: number): number {
    return unix > EVE_EPOCH_OFFSET ? unix - EVE_EPOCH_OFFSET : 0;
  }

  private pushAll(values: Readonly<PlugValues>): void {
    this.push(values);
    for (const { channel } of this.outlets) this.pushOutlet(channel, this.plug.outletOn(channel));
  }

  private push(changes: Partial<PlugValues>): void {
    for (const [key, value] of Object.entries(changes) as Array<[keyof PlugValues, boolean | number]>) {
      if (key === 'resetTime') this.resetTotal?.updateValue(this.toEveTime(value as number));
      else if (key === 'on' || key === 'inUse') {
        // A strip's master is not shown; its outlets come one by one (pushOutlet).
        if (!this.plug.isStrip) this.outlets[0]?.[key].updateValue(value);
      } else if (key !== 'lifetimeKWh') this.chars[key]?.updateValue(this.format(key, value));
    }
    this.accessory.context.values = this.plug.persisted;
  }

  private pushOutlet(channel: number, on: boolean): void {
    const outlet = this.outlets.find((o) => o.channel === channel);
    if (!outlet || !this.plug.isStrip) return;
    outlet.on.updateValue(on);
    outlet.inUse.updateValue(on);
    this.accessory.context.outlets = this.plug.persistedOutlets;
  }

  private information(): Service {
    const S = this.api.hap.Service;
    return this.accessory.getService(S.AccessoryInformation) ?? this.accessory.addService(S.AccessoryInformation);
  }

  private setInformation(info: SystemInfo): void {
    const C = this.api.hap.Characteristic;
    this.information()
      .setCharacteristic(C.Manufacturer, 'Meross')
      .setCharacteristic(C.Model, info.model.toUpperCase())
      .setCharacteristic(C.SerialNumber, info.uuid)
      .setCharacteristic(C.FirmwareRevision, info.firmwareVersion)
      .setCharacteristic(C.HardwareRevision, info.hardwareVersion);
    this.accessory.context.plugUuid = info.uuid;
    const before = this.accessory.context.firmware;
    if (before === info.firmwareVersion) return;
    this.accessory.context.firmware = info.firmwareVersion;
    this.options.cacheChanged?.();
    if (before !== undefined) {
      this.plug.log.info(
        `${this.plug.name}: its firmware changed from ${before} to ${info.firmwareVersion} since the last start. Updates have ` +
          'changed local control before; if the plug now misbehaves, say which firmware in a bug report.',
      );
    }
  }
}
