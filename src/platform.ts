import type {
  API,
  DynamicPlatformPlugin,
  Logging,
  PlatformAccessory,
  PlatformConfig,
} from 'homebridge' with { 'resolution-mode': 'import' };
import { parseConfig, type DeviceConfig, type MerossLanConfig } from './config';
import { makeEveTypes, type EveTypes } from './homekit/eve';
import { homekitName } from './homekit/name';
import { OutletAdapter, type OutletContext } from './homekit/outlet';
import type { SystemInfo } from './meross/decode';
import { Plug } from './plug/plug';
import { MAX_BRIDGED_ACCESSORIES, PLATFORM_NAME, PLUGIN_NAME, PLUGIN_VERSION } from './settings';

type Accessory = PlatformAccessory<OutletContext>;

/**
 * Homebridge entry: config → one Plug model per device → one Outlet adapter per plug. Accessories are keyed by
 * the plug's own uuid, so a renamed plug, or one that moved to another address, keeps its accessory (and its
 * rooms, scenes and automations); only removing a plug from the config removes its accessory.
 */
export class MerossLanPlatform implements DynamicPlatformPlugin {
  private readonly config: MerossLanConfig | undefined;
  private readonly eve: EveTypes;
  private readonly cached = new Map<string, Accessory>();
  private readonly plugs: Plug[] = [];
  private readonly adapters = new Map<string, OutletAdapter>();
  /** Devices configured by host only whose uuid we have not learned yet. */
  private pendingIdentity = 0;
  private warnedLimit = false;

  constructor(
    private readonly log: Logging,
    rawConfig: PlatformConfig,
    private readonly api: API,
  ) {
    this.eve = makeEveTypes(api);
    // Versions in one line: the first thing anyone needs from a bug report's log.
    log.debug(`${PLUGIN_NAME} ${PLUGIN_VERSION} on Homebridge ${api.serverVersion}, HAP-NodeJS API ${api.version}, Node ${process.version}`);
    const { config, problems } = parseConfig(rawConfig ?? {});
    for (const problem of problems) log.warn(`Config: ${problem}`);
    if (config.devices.length === 0) {
      log.warn('No Meross plugs are configured yet: add them under "devices" (host and key) in the plugin settings.');
    }
    this.config = config;
    api.on('didFinishLaunching', () => this.launch());
    api.on('shutdown', () => this.shutdown());
  }

  /** Homebridge hands back each cached accessory before didFinishLaunching. */
  configureAccessory(accessory: Accessory): void {
    this.cached.set(accessory.UUID, accessory);
  }

  private accessoryUuid(plugUuid: string): string {
    return this.api.hap.uuid.generate(`${PLUGIN_NAME}:${plugUuid}`);
  }

  private launch(): void {
    const config = this.config;
    if (!config) return;
    const claimed = new Set<string>();
    for (const device of config.devices) {
      const known = device.uuid ?? this.uuidFromCacheByHost(device.host);
      let accessory = known ? this.cached.get(this.accessoryUuid(known)) : undefined;
      const plug = this.createPlug(config, device, known, accessory);
      if (!accessory && known) {
        // The uuid is in the config: publish now, so HomeKit has the outlet before the plug ever answers.
        accessory = this.register(plug, device, `Meross ${known.slice(-4).toUpperCase()}`);
      }
      if (accessory) {
        claimed.add(accessory.UUID);
        if (!this.adapters.has(accessory.UUID)) this.attach(accessory, plug, device);
      } else {
        this.pendingIdentity++;
        plug.once('info', (info) => this.adopt(plug, device, info));
      }
      plug.start();
    }
    this.pruneIfSettled(claimed);
    this.log.info(
      `Watching ${config.devices.length} Meross plug${config.devices.length === 1 ? '' : 's'} ` +
        `(state and power every ${config.pollIntervalMs / 1000} s, energy every ${config.energyPollIntervalMs / 1000} s).`,
    );
  }

  private uuidFromCacheByHost(host: string | undefined): string | undefined {
    if (!host) return undefined;
    for (const accessory of this.cached.values()) {
      if (accessory.context.host === host && accessory.context.plugUuid) return accessory.context.plugUuid;
    }
    return undefined;
  }

  private createPlug(config: MerossLanConfig, device: DeviceConfig, uuid: string | undefined, accessory?: Accessory): Plug {
    const name = device.name ?? accessory?.displayName ?? device.host ?? uuid ?? 'Meross plug';
    if (!device.host) {
      // uuid-only entries get their address from discovery, which is not part of this version.
      this.log.warn(`${name}: no "host" set; LAN discovery is not available yet, so this plug cannot be reached.`);
    }
    const plug = new Plug({
      host: device.host ?? '0.0.0.0',
      key: device.key,
      uuid,
      name,
      pollIntervalMs: config.pollIntervalMs,
      energyPollIntervalMs: config.energyPollIntervalMs,
      timeoutMs: config.timeoutMs,
      outletInUseWatts: config.outletInUseWatts,
      restored: accessory?.context.values,
      log: this.log,
    });
    if (!device.key) this.log.warn(`${name}: no key set (neither for the plug nor the platform); most plugs need one.`);
    this.plugs.push(plug);
    return plug;
  }

  /** First answer from a plug we had no accessory for: find or create its accessory by uuid. */
  private adopt(plug: Plug, device: DeviceConfig, info: SystemInfo): void {
    this.pendingIdentity--;
    const uuid = this.accessoryUuid(info.uuid);
    if (this.adapters.has(uuid)) {
      this.log.warn(`${plug.name}: this plug (${info.uuid}) is listed twice in the config; ignoring the second entry.`);
      plug.stop();
      return;
    }
    const accessory = this.cached.get(uuid);
    if (!accessory) {
      this.register(plug, device, `${info.model.toUpperCase()} ${info.mac.replace(/:/g, '').slice(-4).toUpperCase()}`);
    } else {
      this.attach(accessory, plug, device);
      this.api.updatePlatformAccessories([accessory]);
    }
    this.pruneIfSettled(new Set(this.adapters.keys()));
  }

  /** A new accessory for a plug Homebridge has not seen before. */
  private register(plug: Plug, device: DeviceConfig, fallbackName: string): Accessory | undefined {
    if (this.adapters.size >= MAX_BRIDGED_ACCESSORIES) {
      this.warnLimit();
      plug.stop();
      return undefined;
    }
    const name = homekitName(device.name ?? fallbackName);
    const uuid = plug.uuid;
    if (!uuid) return undefined;
    const accessory = new this.api.platformAccessory<OutletContext>(name, this.accessoryUuid(uuid), this.api.hap.Categories.OUTLET);
    this.attach(accessory, plug, device);
    this.api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, [accessory]);
    this.log.info(`${name}: added to HomeKit${plug.info ? ` (${plug.info.model.toUpperCase()}, firmware ${plug.info.firmwareVersion})` : ''}.`);
    return accessory;
  }

  private attach(accessory: Accessory, plug: Plug, device: DeviceConfig): void {
    if (this.adapters.size >= MAX_BRIDGED_ACCESSORIES && !this.adapters.has(accessory.UUID)) {
      this.warnLimit();
      plug.stop();
      return;
    }
    const wanted = device.name ? homekitName(device.name) : undefined;
    if (wanted && accessory.displayName !== wanted) {
      accessory.displayName = wanted;
      accessory.getService(this.api.hap.Service.AccessoryInformation)?.updateCharacteristic(this.api.hap.Characteristic.Name, wanted);
    }
    accessory.context.host = device.host;
    accessory.context.plugUuid = plug.uuid ?? accessory.context.plugUuid;
    this.adapters.set(accessory.UUID, new OutletAdapter(this.api, this.eve, accessory, plug));
    this.cached.set(accessory.UUID, accessory);
  }

  /**
   * Removes cached accessories whose plug left the config. Only once every configured plug has an accessory:
   * until then, an unclaimed cached accessory may still belong to a host-only entry that has not answered yet.
   */
  private pruneIfSettled(claimed: Set<string>): void {
    if (this.pendingIdentity > 0) return;
    const stale = [...this.cached.values()].filter((a) => !claimed.has(a.UUID) && !this.adapters.has(a.UUID));
    if (stale.length === 0) return;
    for (const accessory of stale) {
      this.cached.delete(accessory.UUID);
      this.log.info(`${accessory.displayName}: removed (no longer in the config).`);
    }
    this.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
  }

  private warnLimit(): void {
    if (this.warnedLimit) return;
    this.warnedLimit = true;
    this.log.error(
      `A HomeKit bridge holds at most ${MAX_BRIDGED_ACCESSORIES} accessories; the plugs beyond that are not published. ` +
        'Split your plugs over several MerossLan platform entries and run each as a child bridge (see the README, "Many plugs").',
    );
  }

  private shutdown(): void {
    // Adapters keep accessory.context.values current, and Homebridge writes the cache after this event.
    for (const plug of this.plugs) plug.stop();
  }
}
