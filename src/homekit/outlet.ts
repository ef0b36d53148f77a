import type { API, Characteristic, CharacteristicValue, PlatformAccessory, Service, WithUUID } from 'homebridge' with { 'resolution-mode': 'import' };
import type { Abilities, SystemInfo } from '../meross/decode';
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
}

export interface OutletOptions {
  /** The plugin's storage folder (`<storage>/meross-lan/`) for the Eve history; undefined keeps it in memory. */
  storageDir?: string;
  /** The accessory changed in a way the cache should keep (its characteristics, the firmware it last saw). */
  cacheChanged?: () => void;
}

type ValueKey = keyof Omit<PlugValues, 'resetTime' | 'lifetimeKWh'>;

const clamp = (v: number, min: number, max: number): number => Math.min(max, Math.max(min, v));

/**
 * The HomeKit face of one plug: an Outlet with On, OutletInUse and the Eve energy characteristics. A thin
 * adapter: reads come from the plug model (never the network), writes go straight to it, and model updates
 * become `updateValue` calls for exactly the values that changed.
 */
export class OutletAdapter {
  private readonly service: Service;
  private readonly chars: Partial<Record<ValueKey, Characteristic>> & Record<'on' | 'inUse', Characteristic>;
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
    const { Service: S, Characteristic: C } = api.hap;
    this.service = accessory.getService(S.Outlet) ?? accessory.addService(S.Outlet, accessory.displayName);
    this.chars = { on: this.char(C.On), inUse: this.char(C.OutletInUse) };
    this.chars.on.onGet(() => this.read('on'));
    this.chars.inUse.onGet(() => this.read('inUse'));
    this.chars.on.onSet((value) => this.writeOn(value));
    // Until the plug has said what it can do, the cache's word (or, the first time, the full MSS310 set) holds.
    this.applyMetering(plug.abilities ? meteringOf(plug.abilities) : (accessory.context.metering ?? { power: true, total: true }));

    this.pushAll(plug.snapshot);
    plug.on('update', (changes) => this.push(changes));
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

  private async writeOn(value: CharacteristicValue): Promise<void> {
    if (this.plug.switchRefusal) {
      // Wrong key or wrong device: sending would fail (or control a stranger's plug). Fail at once.
      throw new this.api.hap.HapStatusError(this.api.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    }
    const wanted = value === true || value === 1;
    try {
      await this.plug.setOn(wanted);
    } catch {
      // Put the switch back to what the plug last confirmed, so no controller is left with a phantom state.
      const confirmed = this.plug.snapshot.on;
      setImmediate(() => this.chars.on.updateValue(confirmed));
      throw new this.api.hap.HapStatusError(this.api.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    }
    if (this.plug.snapshot.on !== wanted) {
      // Another controller's write overtook this one (last writer wins). Once we return, HAP-NodeJS still tells the
      // other controllers about *this* value, and stays silent about the winner's when the value did not change in
      // between; so announce the relay's real state after it (an event even if the stored value is the same).
      setImmediate(() => this.chars.on.sendEventNotification(this.plug.snapshot.on));
    }
  }

  /** Stops the Eve history's tick and saves it. */
  async stop(): Promise<void> {
    await this.history?.stop();
  }

  /** The characteristic of `type` on the Outlet, added if missing. */
  private char(type: WithUUID<new () => Characteristic>): Characteristic {
    // addCharacteristic for the Eve types: getCharacteristic would add them too, but with a warning in the log.
    return this.service.characteristics.find((c) => c.UUID === type.UUID) ?? this.service.addCharacteristic(type);
  }

  /** Removes the characteristic of `type` from the Outlet (a cached one the plug cannot fill). */
  private drop(type: WithUUID<new () => Characteristic>): boolean {
    const found = this.service.characteristics.find((c) => c.UUID === type.UUID);
    if (found) this.service.removeCharacteristic(found);
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
    const power: Array<[ValueKey, WithUUID<new () => Characteristic>]> = [
      ['watts', this.eve.Power],
      ['volts', this.eve.Voltage],
      ['amps', this.eve.Current],
    ];
    for (const [key, type] of power) {
      if (metering.power && !this.chars[key]) {
        const c = this.char(type);
        c.onGet(() => this.read(key));
        this.chars[key] = c;
      } else if (!metering.power) {
        delete this.chars[key];
        changed = this.drop(type) || changed;
      }
    }
    if (metering.total && !this.chars.totalKWh) {
      this.chars.totalKWh = this.char(this.eve.TotalEnergy);
      this.chars.totalKWh.onGet(() => this.read('totalKWh'));
      this.resetTotal = this.char(this.eve.ResetTotal);
      this.resetTotal.onGet(() => this.toEveTime(this.readyValues().resetTime));
      this.resetTotal.onSet((value) => this.writeResetTotal(value));
      this.history = new EveHistoryService(this.api, this.accessory, this.plug, {
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
  }

  private push(changes: Partial<PlugValues>): void {
    for (const [key, value] of Object.entries(changes) as Array<[keyof PlugValues, boolean | number]>) {
      if (key === 'resetTime') this.resetTotal?.updateValue(this.toEveTime(value as number));
      else if (key !== 'lifetimeKWh') this.chars[key]?.updateValue(this.format(key, value));
    }
    this.accessory.context.values = this.plug.persisted;
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
