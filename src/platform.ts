import type {
  API,
  DynamicPlatformPlugin,
  Logging,
  MatterAccessory,
  PlatformAccessory,
  PlatformConfig,
} from 'homebridge' with { 'resolution-mode': 'import' };
import { networkInterfaces } from 'node:os';
import { Claims, type ClaimOwner } from './claims';
import { CloudAccount, readCloudCache, resolveCloudUrl, type CloudState } from './cloud';
import { parseConfig, type DeviceConfig, type MerossLanConfig } from './config';
import { NativeEditionGate } from './discovery/editions';
import { LanDiscovery, Locator, probeLabel, UNPLACED_HOST, UnplacedClient, type Found, type Locatable, type LostReason } from './discovery';
import { makeEveTypes, type EveTypes } from './homekit/eve';
import { homekitName } from './homekit/name';
import { OutletAdapter, type OutletContext } from './homekit/outlet';
import { MatterPublisher } from './matter/publisher';
import { detectMatter } from './matter/support';
import { MerossClient } from './meross/client';
import type { SystemInfo } from './meross/decode';
import { WrongDeviceError, WrongKeyError } from './meross/errors';
import { Plug } from './plug/plug';
import { PushHub } from './push/hub';
import { MAX_BRIDGED_ACCESSORIES, PLATFORM_NAME, PLUGIN_NAME, PLUGIN_VERSION } from './settings';
import { pluginStorageDir } from './storage/json-file';
import { describe } from './util/describe';

/** Where a plug not in `devices` came from, so a restart can restore it before the cloud or a scan answers. Never a key. */
interface PlacementContext {
  origin?: 'cloud' | 'discovery';
  /** Which configured key a discovered plug answered to. */
  keySource?: 'platform' | 'cloud';
  /** Where LAN discovery last found the plug, if not at its configured host. */
  lastAddress?: string;
}

type Accessory = PlatformAccessory<OutletContext & PlacementContext>;

/** A plug to run: a `devices` entry, or one the cloud or a LAN scan contributed (manual entries win). */
type PlugEntry = DeviceConfig & PlacementContext;

/** How often a running bridge refreshes names and plugs from the cloud, and scans the LAN when discovery is on. */
const CLOUD_REFRESH_MS = 24 * 3_600_000;
const DISCOVERY_INTERVAL_MS = 30 * 60_000;

/**
 * Homebridge entry: config → one Plug model per device → one Outlet adapter per plug. Accessories are keyed by
 * the plug's own uuid, so a renamed plug, or one that moved to another address, keeps its accessory (and its
 * rooms, scenes and automations); only removing a plug from the config removes its accessory.
 */
export class MerossLanPlatform implements DynamicPlatformPlugin {
  private readonly config: MerossLanConfig | undefined;
  private readonly eve: EveTypes;
  /** `<storage>/meross-lan/`: energy ledgers and Eve histories, one file each per plug uuid. */
  private readonly storageDir: string;
  private readonly cached = new Map<string, Accessory>();
  private readonly plugs: Plug[] = [];
  private readonly adapters = new Map<string, OutletAdapter>();
  /** Set once this bridge is seen to run Matter (Homebridge 2.x with a `matter` block); HomeKit works without it. */
  private matter: MatterPublisher | undefined;
  /** Local MQTT push (config "push"); undefined while it is off. */
  private push: PushHub | undefined;
  /** Devices configured by host only whose uuid we have not learned yet. */
  private pendingIdentity = 0;
  private warnedLimit = false;
  /** Meross account (keys and names only); undefined without a `cloud` block. */
  private cloud: CloudAccount | undefined;
  private cloudState: CloudState | undefined;
  /** Until the first cloud refresh is done, cloud plugs' accessories must not be pruned. */
  private cloudPending = false;
  private readonly locator: Locator;
  private readonly lan: LanDiscovery;
  private readonly locatables = new Map<Plug, Locatable>();
  /** uuids already reported by a scan as found-but-not-added, so each is logged once. */
  private readonly reportedFinds = new Set<string>();
  /** HomeKit- and Matter-native editions the cloud or a scan offers are skipped (discovery/editions.ts), each said once. */
  private readonly editions = new NativeEditionGate((line) => this.log.info(line));
  private readonly timers: NodeJS.Timeout[] = [];
  /** uuids whose name the user set in `devices`: cloud names never override them. */
  private readonly userNamed = new Set<string>();
  private launched = false;
  private readonly cacheWrites = { register: new Set<Accessory>(), update: new Set<Accessory>() };
  private cacheWriteTimer: NodeJS.Timeout | undefined;
  /**
   * Which plugs (by uuid) and which broker port this block runs, claimed across processes: several MerossLan blocks,
   * each maybe a child bridge, share `<storage>/meross-lan/` (README "Many plugs"). Made on first use, so a block
   * with nothing to run writes nothing.
   */
  private claims: Claims | undefined;
  /** Plug uuids another block runs, each reported once. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly log: Logging,
    rawConfig: PlatformConfig,
    private readonly api: API,
  ) {
    this.eve = makeEveTypes(api);
    this.storageDir = pluginStorageDir(api.user.storagePath());
    // Versions in one line: the first thing anyone needs from a bug report's log.
    log.debug(`${PLUGIN_NAME} ${PLUGIN_VERSION} on Homebridge ${api.serverVersion}, HAP-NodeJS API ${api.version}, Node ${process.version}`);
    const { config, problems } = parseConfig(rawConfig ?? {});
    for (const problem of problems) log.warn(`Config: ${problem}`);
    if (config.devices.length === 0 && !config.cloud && !config.discovery.enabled) {
      log.warn('No Meross plugs are configured yet: add them under "devices" (host and key) in the plugin settings.');
    }
    this.config = config;
    this.lan = new LanDiscovery({
      subnets: config.discovery.subnets,
      port: config.discovery.port,
      env: process.env,
      interfaces: networkInterfaces,
      keys: () => this.knownKeys(),
      busy: () => new Set(this.plugs.filter((p) => p.reachability === 'online').map((p) => p.client.label)),
      log,
    });
    this.locator = new Locator({
      scan: (reason, last) => this.lan.scan(reason, last),
      rescanAfterMs: config.discovery.rescanAfterMs,
      log,
      onResults: (found) => this.onScanResults(found),
    });
    api.on('didFinishLaunching', () => this.launch());
    api.on('shutdown', () => this.shutdown());
  }

  /** Homebridge hands back each cached accessory before didFinishLaunching. */
  configureAccessory(accessory: Accessory): void {
    this.cached.set(accessory.UUID, accessory);
  }

  /** The same for cached Matter accessories (Homebridge 2.x); they are reattached, not registered anew, in launch. */
  configureMatterAccessory(accessory: MatterAccessory): void {
    this.matterPublisher()?.configureAccessory(accessory);
  }

  /**
   * Detected on first use rather than in the constructor: Homebridge versions differ in when `api.matter` appears,
   * but it is there by the time cached Matter accessories are handed back or didFinishLaunching fires.
   */
  private matterPublisher(): MatterPublisher | undefined {
    if (this.matter || !this.config) return this.matter;
    const { support, reason } = detectMatter(this.api);
    if (!support) {
      this.log.debug(`Matter: not used (${reason}).`);
      return undefined;
    }
    if (this.config.matter && !support.energy) {
      this.log.info(`Matter: Homebridge ${this.api.serverVersion} publishes on/off only; power and energy over Matter need Homebridge 2.2 or newer.`);
    }
    this.matter = new MatterPublisher(support, { pluginName: PLUGIN_NAME, platformName: PLATFORM_NAME, publish: this.config.matter, log: this.log });
    return this.matter;
  }

  /** Local MQTT push, when configured: every plug created from here on is served by it (README "Local push (MQTT)"). */
  private startPush(config: MerossLanConfig): void {
    if (!config.push.enabled) return;
    if (!config.push.broker) {
      // One embedded broker per port: another block (another child bridge) may already run it.
      const owner = this.claim(`broker-${config.push.port}`);
      if (owner) {
        this.log.warn(
          `Local push: port ${config.push.port} is already served by the MerossLan block "${owner.block}" (process ${owner.pid}); ` +
            'the plugs of this block are polled over HTTP (give each block its own "push.port" to use push in both).',
        );
        return;
      }
    }
    this.push = new PushHub({ config: config.push, dir: this.storageDir, log: this.log, accountUserId: () => readCloudCache(this.storageDir)?.userId });
    void this.push.start();
  }

  private accessoryUuid(plugUuid: string): string {
    return this.api.hap.uuid.generate(`${PLUGIN_NAME}:${plugUuid}`);
  }

  private launch(): void {
    const config = this.config;
    if (!config) return;
    if (this.waitForCloud(config, () => this.launch())) return;
    this.matterPublisher();
    this.startPush(config);
    const claimed = new Set<string>();
    for (const device of this.planDevices(config)) {
      const known = device.uuid ?? this.uuidFromCacheByHost(device.host);
      if (known && !this.claimPlug(known, device.name ?? this.cached.get(this.accessoryUuid(known))?.displayName)) continue;
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
    this.launched = true;
    this.pruneIfSettled(claimed);
    this.startDiscovery(config);
    this.log.info(
      `Watching ${this.plugs.length} Meross plug${this.plugs.length === 1 ? '' : 's'} ` +
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

  private createPlug(config: MerossLanConfig, device: PlugEntry, uuid: string | undefined, accessory?: Accessory): Plug {
    const name = device.name ?? accessory?.displayName ?? device.host ?? (uuid ? `Meross ${uuid.slice(-4).toUpperCase()}` : 'Meross plug');
    const plug = new Plug({
      // No address yet (uuid-only entry, cloud plug never seen on the LAN): LAN discovery places it.
      host: device.lastAddress ?? device.host ?? UNPLACED_HOST,
      createClient: (o) => (o.host === UNPLACED_HOST ? new UnplacedClient(o) : new MerossClient({ ...o, notice: (m) => this.log.info(`${name}: ${m}`) })),
      key: device.key,
      uuid,
      name,
      pollIntervalMs: config.pollIntervalMs,
      energyPollIntervalMs: config.energyPollIntervalMs,
      timeoutMs: config.timeoutMs,
      outletInUseWatts: config.outletInUseWatts,
      timezone: device.timezone,
      restored: accessory?.context.values,
      // Without a uuid the plug is not claimed yet: it must not touch a ledger another block may own (adopt).
      storageDir: uuid ? this.storageDir : undefined,
      log: this.log,
    });
    if (!device.key) this.log.warn(`${name}: no key set (neither for the plug nor the platform); most plugs need one.`);
    this.plugs.push(plug);
    this.follow(plug);
    this.push?.add(plug);
    return plug;
  }

  /** First answer from a plug we had no accessory for: find or create its accessory by uuid. */
  private adopt(plug: Plug, device: DeviceConfig, info: SystemInfo): void {
    this.pendingIdentity--;
    const uuid = this.accessoryUuid(info.uuid);
    if (this.claimFromCloudOrScan(uuid, plug, device)) return;
    if (this.adapters.has(uuid)) {
      this.log.warn(`${plug.name}: this plug (${info.uuid}) is listed twice in the config; ignoring the second entry.`);
      void plug.stop();
      return;
    }
    if (!this.claimPlug(info.uuid, plug.name)) {
      this.drop(plug);
      this.pruneIfSettled(new Set(this.adapters.keys()));
      return;
    }
    // Claimed: its ledger is this block's now. Set before the plug's poll goes on to load it (synchronously after 'info').
    plug.options.storageDir = this.storageDir;
    const accessory = this.cached.get(uuid);
    if (!accessory) {
      this.register(plug, device, `${info.model.toUpperCase()} ${info.mac.replace(/:/g, '').slice(-4).toUpperCase()}`);
    } else {
      this.attach(accessory, plug, device);
      this.queueCacheWrite(accessory, 'update');
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
    this.queueCacheWrite(accessory, 'register');
    return accessory;
  }

  /**
   * Homebridge rewrites its whole accessory cache synchronously on every register/update call, so one call per
   * plug costs O(n²) at start-up with many plugs (1.4 s of CPU and a 40 MB peak at 140 plugs). Calls made close
   * together are batched into one.
   */
  private queueCacheWrite(accessory: Accessory, kind: 'register' | 'update'): void {
    this.cacheWrites[kind].add(accessory);
    this.cacheWriteTimer ??= setTimeout(() => this.flushCacheWrites(), 50);
  }

  private flushCacheWrites(): void {
    this.cacheWriteTimer = undefined;
    const register = [...this.cacheWrites.register];
    const update = [...this.cacheWrites.update].filter((a) => !this.cacheWrites.register.has(a));
    this.cacheWrites.register.clear();
    this.cacheWrites.update.clear();
    if (register.length > 0) {
      this.api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, register);
      for (const accessory of register) {
        const info = this.adapters.get(accessory.UUID)?.plugInfo;
        this.log.info(`${accessory.displayName}: added to HomeKit${info ? ` (${info.model.toUpperCase()}, firmware ${info.firmwareVersion})` : ''}.`);
      }
    }
    if (update.length > 0) this.api.updatePlatformAccessories(update);
  }

  private attach(accessory: Accessory, plug: Plug, device: PlugEntry): void {
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
    if (accessory.context.host !== device.host) accessory.context.lastAddress = undefined;
    accessory.context.host = device.host;
    accessory.context.origin = device.origin;
    accessory.context.keySource = device.keySource;
    accessory.context.plugUuid = plug.uuid ?? accessory.context.plugUuid;
    this.adapters.set(accessory.UUID, new OutletAdapter(this.api, this.eve, accessory, plug, { storageDir: this.storageDir }));
    this.cached.set(accessory.UUID, accessory);
    // The same plug, the same name, a second front end: Matter follows HomeKit's accessory lifecycle.
    this.matter?.attach(plug, accessory.displayName);
  }

  /**
   * Removes cached accessories whose plug left the config. Only once every configured plug has an accessory:
   * until then, an unclaimed cached accessory may still belong to a host-only entry that has not answered yet.
   */
  private pruneIfSettled(claimed: Set<string>): void {
    if (this.pendingIdentity > 0 || this.cloudPending) return;
    // A cloud plug stays while the cloud cannot say whether it is still on the account.
    const keep = (a: Accessory): boolean => a.context.origin === 'cloud' && this.cloud !== undefined && this.cloudState?.source !== 'cloud';
    const stale = [...this.cached.values()].filter((a) => !claimed.has(a.UUID) && !this.adapters.has(a.UUID) && !keep(a));
    // Matter keeps exactly the plugs HomeKit keeps.
    const kept = new Set([...this.cached.values()].filter((a) => !stale.includes(a)).map((a) => a.context.plugUuid));
    this.matter?.prune((plugUuid) => kept.has(plugUuid));
    if (stale.length === 0) return;
    for (const accessory of stale) {
      this.cached.delete(accessory.UUID);
      // A plug another block runs was reported as such already.
      if (!this.refused.has(accessory.context.plugUuid ?? '')) this.log.info(`${accessory.displayName}: removed (no longer in the config).`);
    }
    this.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
  }

  /**
   * The plugs to run: every `devices` entry, then each cloud plug no entry claims, then (discovery on) the plugs
   * earlier scans added. Manual entries win (address, key, name); a cloud name fills in a missing name, the
   * account key a missing key.
   */
  private planDevices(config: MerossLanConfig): PlugEntry[] {
    const cloud = this.cloudState;
    const cloudNames = new Map((cloud?.devices ?? []).map((d) => [d.uuid, d.name]));
    const entries: PlugEntry[] = [];
    const taken = new Set<string>();
    const learned = (uuid: string | undefined, host: string | undefined): string | undefined => {
      const context = uuid ? this.cached.get(this.accessoryUuid(uuid))?.context : undefined;
      // A move found by discovery counts only while the configured host is still the one it moved away from.
      return context?.lastAddress && context.host === host ? context.lastAddress : undefined;
    };
    for (const device of config.devices) {
      const uuid = device.uuid ?? this.uuidFromCacheByHost(device.host);
      if (uuid) taken.add(uuid);
      if (uuid && device.name) this.userNamed.add(uuid);
      entries.push({
        ...device,
        key: device.key || cloud?.key || '',
        name: device.name ?? (uuid ? cloudNames.get(uuid) : undefined),
        lastAddress: learned(uuid, device.host),
      });
    }
    for (const d of cloud?.devices ?? []) {
      if (taken.has(d.uuid) || !isPlugType(d.type) || this.editions.skips({ ...d, model: d.type, hardwareVersion: d.hardware }, 'cloud')) continue;
      taken.add(d.uuid);
      const context = this.cached.get(this.accessoryUuid(d.uuid))?.context;
      entries.push({ uuid: d.uuid, name: d.name, key: cloud?.key ?? config.key, host: context?.host, lastAddress: learned(d.uuid, context?.host), origin: 'cloud' });
    }
    if (config.discovery.enabled) {
      for (const accessory of this.cached.values()) {
        const c = accessory.context;
        if (c.origin !== 'discovery' || !c.plugUuid || taken.has(c.plugUuid) || !c.host) continue;
        const key = c.keySource === 'cloud' ? cloud?.key : config.key || undefined;
        if (key === undefined) continue;
        taken.add(c.plugUuid);
        entries.push({ uuid: c.plugUuid, key, host: c.host, lastAddress: learned(c.plugUuid, c.host), origin: 'discovery', keySource: c.keySource });
      }
    }
    return entries;
  }

  /**
   * Starts the cloud account from its cache. True when there is no cache yet (first sign-in): then the plugs wait
   * for the account key and plug list (a few seconds), and `then` runs once they are in (or the cloud failed).
   */
  private waitForCloud(config: MerossLanConfig, then: () => void): boolean {
    if (!config.cloud || this.cloud) return false;
    const url = resolveCloudUrl(process.env, config.cloud.url);
    if ('error' in url) {
      this.log.warn(`Meross cloud: ${url.error}; cloud sign-in is off.`);
      return false;
    }
    this.cloud = new CloudAccount({
      email: config.cloud.email,
      password: config.cloud.password,
      baseUrl: url.url,
      pluginDir: this.storageDir,
      storagePath: this.api.user.storagePath(),
      log: this.log,
    });
    this.cloudState = this.cloud.cached();
    this.cloudPending = true;
    const first = this.refreshCloud(config);
    const timer = setInterval(() => void this.refreshCloud(config), CLOUD_REFRESH_MS);
    timer.unref();
    this.timers.push(timer);
    if (this.cloudState.source !== 'none') return false;
    this.log.info('Meross cloud: signing in for the first time; the plugs start as soon as the account key and plug list are in.');
    void first.then(then);
    return true;
  }

  private async refreshCloud(config: MerossLanConfig): Promise<void> {
    if (!this.cloud) return;
    this.cloudState = await this.cloud.refresh();
    this.cloudPending = false;
    if (this.launched) this.applyCloud(config);
  }

  /** A fresh device list while running: new plugs are added, renamed ones renamed (unless the user named them). */
  private applyCloud(config: MerossLanConfig): void {
    const state = this.cloudState;
    for (const d of state?.devices ?? []) {
      if (!isPlugType(d.type)) continue;
      const accessoryUuid = this.accessoryUuid(d.uuid);
      const adapter = this.adapters.get(accessoryUuid);
      if (adapter) {
        if (!this.userNamed.has(d.uuid)) this.rename(adapter.accessory, d.name, 'its name in the Meross app');
        continue;
      }
      if (this.plugs.some((p) => p.uuid === d.uuid)) continue;
      if (this.editions.skips({ ...d, model: d.type, hardwareVersion: d.hardware }, 'cloud')) continue;
      if (!this.claimPlug(d.uuid, d.name)) continue;
      const accessory = this.cached.get(accessoryUuid);
      const entry: PlugEntry = { uuid: d.uuid, name: d.name, key: state?.key ?? config.key, host: accessory?.context.host, origin: 'cloud' };
      const plug = this.createPlug(config, entry, d.uuid, accessory);
      if (accessory) this.attach(accessory, plug, entry);
      else this.register(plug, entry, d.name);
      plug.start();
    }
    this.pruneIfSettled(new Set(this.adapters.keys()));
  }

  private rename(accessory: Accessory, name: string, why: string): void {
    const wanted = homekitName(name);
    if (accessory.displayName === wanted) return;
    this.log.info(`${accessory.displayName}: renamed to "${wanted}" (${why}).`);
    // Log lines follow the new name too.
    const plug = this.plugs.find((p) => p.uuid !== undefined && p.uuid === accessory.context.plugUuid);
    if (plug) plug.options.name = wanted;
    accessory.displayName = wanted;
    accessory.getService(this.api.hap.Service.AccessoryInformation)?.updateCharacteristic(this.api.hap.Characteristic.Name, wanted);
    this.queueCacheWrite(accessory, 'update');
  }

  /**
   * A `devices` entry by host answered with the uuid of a plug the cloud or a scan had added already (first run
   * only: later runs match them through the accessory cache). The entry wins: the running plug moves to its host
   * and takes its name; the entry's own plug model is dropped, so one plug is never polled twice.
   */
  private claimFromCloudOrScan(accessoryUuid: string, plug: Plug, device: DeviceConfig): boolean {
    const accessory = this.adapters.get(accessoryUuid)?.accessory as Accessory | undefined;
    if (!accessory?.context.origin) return false;
    const running = this.plugs.find((p) => p !== plug && p.uuid === plug.uuid);
    if (!running) return false;
    this.drop(plug);
    if (device.host && running.client.label !== device.host) running.moveTo(device.host);
    if (device.name) {
      this.userNamed.add(running.uuid ?? '');
      this.rename(accessory, device.name, 'as named in "devices"');
    }
    Object.assign(accessory.context, { origin: undefined, keySource: undefined, lastAddress: undefined, host: device.host });
    this.queueCacheWrite(accessory, 'update');
    this.pruneIfSettled(new Set(this.adapters.keys()));
    return true;
  }

  /** Scans at start and every 30 minutes when discovery is on; lost plugs are searched for in any case. */
  private startDiscovery(config: MerossLanConfig): void {
    if (!config.discovery.enabled) return;
    void this.locator.scanNow('start');
    const timer = setInterval(() => void this.locator.scanNow('every 30 min'), DISCOVERY_INTERVAL_MS);
    timer.unref();
    this.timers.push(timer);
  }

  /** Feeds the plug's reachability to the locator, which moves it when a scan finds its uuid elsewhere. */
  private follow(plug: Plug): void {
    const target: Locatable = {
      get name() {
        return plug.name;
      },
      get uuid() {
        return plug.uuid;
      },
      get address() {
        return plug.client instanceof UnplacedClient ? undefined : plug.client.label;
      },
      moveTo: (address) => {
        plug.moveTo(address);
        const accessory = plug.uuid ? this.cached.get(this.accessoryUuid(plug.uuid)) : undefined;
        if (accessory) {
          accessory.context.lastAddress = address;
          this.queueCacheWrite(accessory, 'update');
        }
      },
    };
    this.locatables.set(plug, target);
    this.locator.track(target);
    plug.on('reachability', (state, error) => {
      if (state === 'online') return this.locator.recovered(target);
      if (state !== 'offline') return;
      let reason: LostReason = 'unreachable';
      if (plug.client instanceof UnplacedClient) reason = 'no-address';
      else if (error instanceof WrongDeviceError) reason = 'wrong-device';
      else if (error instanceof WrongKeyError) {
        // A 5001 naming another uuid is another plug at this address; naming this one, the key is wrong here.
        if (error.uuid === undefined || plug.uuid === undefined || error.uuid === plug.uuid) return;
        reason = 'wrong-device';
      }
      this.locator.lost(target, reason);
    });
  }

  /** Keys a scan tries, in order: the platform key, the account key, then each plug's own. */
  private knownKeys(): string[] {
    const keys = [this.config?.key, this.cloudState?.key, ...(this.config?.devices ?? []).map((d) => d.key)];
    const unique = [...new Set(keys.filter((k): k is string => typeof k === 'string' && k !== ''))];
    // Self-paired plugs often use an empty key (protocol.md §1.3).
    return unique.length > 0 ? unique : [''];
  }

  /**
   * After every scan: with discovery on, plugs answering to the platform or account key that no entry knows are
   * added; the others are listed once each, so the user knows they were seen and what is missing.
   */
  private onScanResults(found: readonly Found[]): void {
    const config = this.config;
    if (!config || !this.launched) return;
    const keys = this.knownKeys();
    for (const f of found) {
      if (!f.uuid || this.plugs.some((p) => p.uuid === f.uuid) || this.adapters.has(this.accessoryUuid(f.uuid))) continue;
      if (f.info && this.editions.skips({ ...f.info, uuid: f.uuid, name: `${f.info.model.toUpperCase()} ${f.uuid.slice(-4).toUpperCase()}` }, 'scan')) continue;
      const at = probeLabel(f.host, f.port);
      const key = f.keyOk && f.keyIndex !== undefined ? keys[f.keyIndex] : undefined;
      const keySource = key === undefined ? undefined : key === config.key ? 'platform' : key === this.cloudState?.key ? 'cloud' : undefined;
      if (config.discovery.enabled && key !== undefined && keySource) {
        if (!this.claimPlug(f.uuid, this.cached.get(this.accessoryUuid(f.uuid))?.displayName ?? `${(f.model ?? 'Meross').toUpperCase()} ${f.uuid.slice(-4).toUpperCase()}`)) continue;
        const entry: PlugEntry = { uuid: f.uuid, host: at, key, origin: 'discovery', keySource };
        const accessory = this.cached.get(this.accessoryUuid(f.uuid));
        const plug = this.createPlug(config, entry, f.uuid, accessory);
        if (accessory) this.attach(accessory, plug, entry);
        else this.register(plug, entry, `${(f.model ?? 'Meross').toUpperCase()} ${f.uuid.slice(-4).toUpperCase()}`);
        plug.start();
        continue;
      }
      if (this.reportedFinds.has(f.uuid)) continue;
      this.reportedFinds.add(f.uuid);
      if (!f.keyOk) {
        this.log.warn(
          `LAN discovery: Meross plug ${f.uuid} found at ${at}, key needed (none of the known keys is accepted). ` +
            'Add it under "devices" with its key, or sign in to its Meross account under "cloud".',
        );
      } else {
        this.log.info(`LAN discovery: ${(f.model ?? 'Meross').toUpperCase()} ${f.uuid} found at ${at}; not added (add it under "devices", or turn on "discovery.enabled").`);
      }
    }
  }

  /**
   * Takes `key` for this block across processes; undefined when it is ours, else who has it. Storage that cannot be
   * written (read-only folder) is no reason to run nothing: then this block runs it, as with a single block.
   */
  private claim(key: string): ClaimOwner | undefined {
    this.claims ??= new Claims({ dir: this.storageDir, block: this.config?.name ?? PLATFORM_NAME });
    try {
      const result = this.claims.claim(key);
      return result.ok ? undefined : result.owner;
    } catch (error) {
      this.log.debug(`Could not record which block runs ${key}: ${describe(error)}`);
      return undefined;
    }
  }

  /** True when this block may run the plug; otherwise says once which block runs it. */
  private claimPlug(uuid: string, name: string | undefined): boolean {
    const owner = this.claim(`plug-${uuid}`);
    if (!owner) {
      this.refused.delete(uuid);
      return true;
    }
    if (!this.refused.has(uuid)) {
      this.refused.add(uuid);
      this.log.warn(
        `${name ?? 'Meross plug'} (${uuid}): already run by the MerossLan block "${owner.block}" (process ${owner.pid}); ` +
          'not run by this block. List each plug in one block only.',
      );
    }
    return false;
  }

  /** Stops a plug model this block will not run after all, and forgets it. */
  private drop(plug: Plug): void {
    void plug.stop();
    this.push?.remove(plug);
    const index = this.plugs.indexOf(plug);
    if (index >= 0) this.plugs.splice(index, 1);
    const target = this.locatables.get(plug);
    if (target) this.locator.untrack(target);
    this.locatables.delete(plug);
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
    this.locator.stop();
    for (const timer of this.timers) clearInterval(timer);
    if (this.cacheWriteTimer) {
      clearTimeout(this.cacheWriteTimer);
      this.flushCacheWrites();
    }
    // Adapters keep accessory.context.values current, and Homebridge writes the cache after this event. Energy
    // ledgers and histories save asynchronously; Homebridge waits for pending I/O (2.x; 1.x up to 5 s) before exiting.
    const closing: Promise<unknown>[] = [...this.plugs.map((p) => p.stop()), ...[...this.adapters.values()].map((a) => a.stop())];
    if (this.push) closing.push(this.push.stop());
    // The claims go last, once this block's files are written: the next owner of a plug starts from its last save.
    // Cut short (Homebridge 1.x exits after 5 s), they stay behind as stale claims, which the next start takes over.
    void Promise.allSettled(closing).then(() => {
      this.claims?.releaseAll();
      this.log.debug(`Stopped: ${this.plugs.length} plug${this.plugs.length === 1 ? '' : 's'} saved${this.push ? ', local push closed' : ''}.`);
    });
  }
}

/** Smart plugs only (MSS…); the account may hold bulbs, hubs or sensors this plugin cannot show as outlets. */
function isPlugType(type: string): boolean {
  return type === '' || /^mss/i.test(type);
}
