import type { API, PlatformAccessory } from 'homebridge' with { 'resolution-mode': 'import' };
import type { Plug, PlugLogger } from '../plug/plug';
import type { Placement, PlugEntry, PlugPublisher, Remembered } from '../registry/types';
import { MAX_BRIDGED_ACCESSORIES, PLATFORM_NAME, PLUGIN_NAME } from '../settings';
import type { EveTypes } from './eve';
import { homekitName } from './name';
import { OutletAdapter, type OutletContext } from './outlet';

export type Accessory = PlatformAccessory<OutletContext & Placement>;

export interface HomeKitPublisherOptions {
  api: API;
  eve: EveTypes;
  /** `<storage>/meross-lan/`: the Eve histories. */
  storageDir: string;
  log: PlugLogger;
  /** A plug got its HomeKit accessory (Matter follows HomeKit's accessory lifecycle). */
  onAttach?: (plug: Plug, displayName: string) => void;
  /** After a prune: which plug uuids HomeKit keeps (Matter keeps exactly those). */
  onPrune?: (kept: (plugUuid: string | undefined) => boolean) => void;
  /** Delay that batches cache writes. Default 50 ms. */
  batchMs?: number;
}

/**
 * The HomeKit side of the plugs: Homebridge's cached accessories (what the last run knew), one Outlet adapter per
 * running plug, and the batched writes of the accessory cache. Accessories are keyed by the plug's own uuid, so a
 * renamed plug, or one that moved, keeps its accessory (and its rooms, scenes and automations).
 */
export class HomeKitPublisher implements PlugPublisher {
  private readonly cached = new Map<string, Accessory>();
  private readonly adapters = new Map<string, OutletAdapter>();
  private readonly cacheWrites = { register: new Set<Accessory>(), update: new Set<Accessory>() };
  private cacheWriteTimer: NodeJS.Timeout | undefined;
  private warnedLimit = false;

  constructor(private readonly options: HomeKitPublisherOptions) {}

  /** Homebridge hands back each cached accessory before didFinishLaunching. */
  configureAccessory(accessory: Accessory): void {
    this.cached.set(accessory.UUID, accessory);
  }

  remembered(uuid: string): Remembered | undefined {
    const accessory = this.cached.get(this.accessoryUuid(uuid));
    return accessory && memoryOf(accessory);
  }

  rememberedPlugs(): Remembered[] {
    return [...this.cached.values()].map(memoryOf);
  }

  isPublished(uuid: string): boolean {
    return this.adapters.has(this.accessoryUuid(uuid));
  }

  publishedOrigin(uuid: string): Placement['origin'] {
    return (this.adapters.get(this.accessoryUuid(uuid))?.accessory as Accessory | undefined)?.context.origin;
  }

  register(plug: Plug, entry: PlugEntry, fallbackName: string): boolean {
    if (this.adapters.size >= MAX_BRIDGED_ACCESSORIES) {
      this.warnLimit();
      plug.stop();
      return false;
    }
    const name = homekitName(entry.name ?? fallbackName);
    const uuid = plug.uuid;
    if (!uuid) return false;
    const { api } = this.options;
    const accessory = new api.platformAccessory<OutletContext>(name, this.accessoryUuid(uuid), api.hap.Categories.OUTLET);
    this.attachAccessory(accessory, plug, entry);
    this.queueCacheWrite(accessory, 'register');
    return true;
  }

  attach(uuid: string, plug: Plug, entry: PlugEntry, touched = false): void {
    const accessory = this.cached.get(this.accessoryUuid(uuid));
    if (!accessory) return;
    this.attachAccessory(accessory, plug, entry);
    if (touched) this.queueCacheWrite(accessory, 'update');
  }

  rename(uuid: string, name: string, why: string): string | undefined {
    const accessory = this.cached.get(this.accessoryUuid(uuid));
    const wanted = homekitName(name);
    if (!accessory || accessory.displayName === wanted) return undefined;
    this.options.log.info(`${accessory.displayName}: renamed to "${wanted}" (${why}).`);
    this.setName(accessory, wanted);
    this.queueCacheWrite(accessory, 'update');
    return wanted;
  }

  place(uuid: string, placement: Placement & { host?: string }): void {
    const accessory = this.cached.get(this.accessoryUuid(uuid));
    if (!accessory) return;
    Object.assign(accessory.context, placement);
    this.queueCacheWrite(accessory, 'update');
  }

  prune(keep: ReadonlySet<string> | undefined, stays: (r: Remembered) => boolean, quiet: (uuid: string) => boolean): void {
    const claimed = new Set([...(keep ?? [])].map((uuid) => this.accessoryUuid(uuid)));
    const stale = [...this.cached.values()].filter((a) => !claimed.has(a.UUID) && !this.adapters.has(a.UUID) && !stays(memoryOf(a)));
    const kept = new Set([...this.cached.values()].filter((a) => !stale.includes(a)).map((a) => a.context.plugUuid));
    this.options.onPrune?.((plugUuid) => kept.has(plugUuid));
    if (stale.length === 0) return;
    for (const accessory of stale) {
      this.cached.delete(accessory.UUID);
      if (!quiet(accessory.context.plugUuid ?? '')) this.options.log.info(`${accessory.displayName}: removed (no longer in the config).`);
    }
    this.options.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
  }

  /** Writes what is batched now (shutdown: Homebridge saves its cache right after). */
  flush(): void {
    if (!this.cacheWriteTimer) return;
    clearTimeout(this.cacheWriteTimer);
    this.flushCacheWrites();
  }

  /** Stops the adapters (each saves its Eve history). */
  stop(): Promise<unknown>[] {
    return [...this.adapters.values()].map((a) => a.stop());
  }

  private accessoryUuid(plugUuid: string): string {
    return this.options.api.hap.uuid.generate(`${PLUGIN_NAME}:${plugUuid}`);
  }

  private attachAccessory(accessory: Accessory, plug: Plug, entry: PlugEntry): void {
    if (this.adapters.size >= MAX_BRIDGED_ACCESSORIES && !this.adapters.has(accessory.UUID)) {
      this.warnLimit();
      plug.stop();
      return;
    }
    const wanted = entry.name ? homekitName(entry.name) : undefined;
    if (wanted && accessory.displayName !== wanted) this.setName(accessory, wanted);
    if (accessory.context.host !== entry.host) accessory.context.lastAddress = undefined;
    accessory.context.host = entry.host;
    accessory.context.origin = entry.origin;
    accessory.context.keySource = entry.keySource;
    accessory.context.plugUuid = plug.uuid ?? accessory.context.plugUuid;
    const { api, eve, storageDir } = this.options;
    const cacheChanged = (): void => this.queueCacheWrite(accessory, 'update');
    this.adapters.set(accessory.UUID, new OutletAdapter(api, eve, accessory, plug, { storageDir, cacheChanged }));
    this.cached.set(accessory.UUID, accessory);
    this.options.onAttach?.(plug, accessory.displayName);
  }

  private setName(accessory: Accessory, name: string): void {
    const { Service, Characteristic } = this.options.api.hap;
    accessory.displayName = name;
    accessory.getService(Service.AccessoryInformation)?.updateCharacteristic(Characteristic.Name, name);
  }

  /**
   * Homebridge rewrites its whole accessory cache synchronously on every register/update call, so one call per
   * plug costs O(n²) at start-up with many plugs (1.4 s of CPU and a 40 MB peak at 140 plugs). Calls made close
   * together are batched into one.
   */
  private queueCacheWrite(accessory: Accessory, kind: 'register' | 'update'): void {
    this.cacheWrites[kind].add(accessory);
    this.cacheWriteTimer ??= setTimeout(() => this.flushCacheWrites(), this.options.batchMs ?? 50);
  }

  private flushCacheWrites(): void {
    this.cacheWriteTimer = undefined;
    const register = [...this.cacheWrites.register];
    const update = [...this.cacheWrites.update].filter((a) => !this.cacheWrites.register.has(a));
    this.cacheWrites.register.clear();
    this.cacheWrites.update.clear();
    if (register.length > 0) {
      this.options.api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, register);
      for (const accessory of register) {
        const info = this.adapters.get(accessory.UUID)?.plugInfo;
        this.options.log.info(`${accessory.displayName}: added to HomeKit${info ? ` (${info.model.toUpperCase()}, firmware ${info.firmwareVersion})` : ''}.`);
      }
    }
    if (update.length > 0) this.options.api.updatePlatformAccessories(update);
  }

  private warnLimit(): void {
    if (this.warnedLimit) return;
    this.warnedLimit = true;
    this.options.log.error(
      `A HomeKit bridge holds at most ${MAX_BRIDGED_ACCESSORIES} accessories; the plugs beyond that are not published. ` +
        'Split your plugs over several MerossLan platform entries and run each as a child bridge (see the README, "Many plugs").',
    );
  }
}

function memoryOf(accessory: Accessory): Remembered {
  const c = accessory.context;
  return {
    uuid: c.plugUuid,
    name: accessory.displayName,
    host: c.host,
    origin: c.origin,
    keySource: c.keySource,
    lastAddress: c.lastAddress,
    values: c.values,
    outlets: c.outlets,
  };
}
