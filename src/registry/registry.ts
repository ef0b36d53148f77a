import { EventEmitter } from 'node:events';
import type { NetworkInterfaceInfo } from 'node:os';
import { Claims, type ClaimOwner } from '../claims';
import { CloudAccount, readCloudCache, resolveCloudUrl, type CloudState } from '../cloud';
import type { DeviceConfig, MerossLanConfig } from '../config';
import { LanDiscovery, Locator, probeLabel, UNPLACED_HOST, UnplacedClient, type Found } from '../discovery';
import { NativeEditionGate } from '../discovery/editions';
import { MerossClient } from '../meross/client';
import type { SystemInfo } from '../meross/decode';
import type { OutletLabel } from '../plug/outlets';
import { Plug, type PlugLogger } from '../plug/plug';
import { PushHub } from '../push/hub';
import { PLATFORM_NAME } from '../settings';
import { describe } from '../util/describe';
import { PlugFollower } from './follow';
import type { PlugEntry, PlugPublisher, RegistryEvents } from './types';

/** How often a running bridge refreshes names and plugs from the cloud, and scans the LAN when discovery is on. */
export const CLOUD_REFRESH_MS = 24 * 3_600_000;
export const DISCOVERY_INTERVAL_MS = 30 * 60_000;

export interface RegistryOptions {
  config: MerossLanConfig;
  /** `<storage>/meross-lan/`: ledgers, claims, cloud and push files. */
  storageDir: string;
  /** The Homebridge storage folder (for the cloud's `meross-lan login -U …` hint). */
  storagePath: string;
  publisher: PlugPublisher;
  log: PlugLogger;
  env: Readonly<Record<string, string | undefined>>;
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * Which plugs run and where each one is, Homebridge-free: the plan from `devices`, the Meross account and LAN scans;
 * identity (a host-only entry is matched by the uuid it answers with); placement and IP following; the cloud refresh
 * and discovery timers; and, across processes, which block (child bridge) runs which plug. It tells its publisher
 * (HomeKit) what to show, and emits added / renamed / moved / removed.
 */
export class PlugRegistry extends EventEmitter<RegistryEvents> {
  readonly plugs: Plug[] = [];
  /** Local MQTT push (config "push"); undefined while it is off. */
  push: PushHub | undefined;
  private readonly config: MerossLanConfig;
  private readonly publisher: PlugPublisher;
  private readonly log: PlugLogger;
  /** Devices configured by host only whose uuid we have not learned yet. */
  private pendingIdentity = 0;
  /** Meross account (keys and names only); undefined without a `cloud` block. */
  private cloud: CloudAccount | undefined;
  private cloudState: CloudState | undefined;
  /** Until the first cloud refresh is done, cloud plugs' accessories must not be pruned. */
  private cloudPending = false;
  private readonly locator: Locator;
  private readonly lan: LanDiscovery;
  private readonly follower: PlugFollower;
  /** uuids already reported by a scan as found-but-not-added, so each is logged once. */
  private readonly reportedFinds = new Set<string>();
  /** HomeKit- and Matter-native editions the cloud or a scan offers are skipped (discovery/editions.ts), each said once. */
  private readonly editions: NativeEditionGate;
  private readonly timers: NodeJS.Timeout[] = [];
  /** uuids whose name the user set in `devices`: cloud names never override them. */
  private readonly userNamed = new Set<string>();
  private launched = false;
  /**
   * Which plugs (by uuid) and which broker port this block runs, claimed across processes: several MerossLan blocks,
   * each maybe a child bridge, share `<storage>/meross-lan/` (README "Many plugs"). Made on first use, so a block
   * with nothing to run writes nothing.
   */
  private claims: Claims | undefined;
  /** Plug uuids another block runs, each reported once. */
  private readonly refused = new Set<string>();

  constructor(private readonly options: RegistryOptions) {
    super();
    const { config, log } = options;
    this.config = config;
    this.publisher = options.publisher;
    this.log = log;
    this.editions = new NativeEditionGate((line) => log.info(line));
    this.lan = new LanDiscovery({
      subnets: config.discovery.subnets,
      port: config.discovery.port,
      env: options.env,
      interfaces: options.interfaces,
      keys: () => this.knownKeys(),
      busy: () => new Set(this.plugs.filter((p) => p.reachability === 'online').map((p) => p.address)),
      log,
    });
    this.locator = new Locator({
      scan: (reason, last) => this.lan.scan(reason, last),
      rescanAfterMs: config.discovery.rescanAfterMs,
      log,
      onResults: (found) => this.onScanResults(found),
    });
    this.follower = new PlugFollower(this.locator, (plug, address) => {
      if (plug.uuid && this.publisher.remembered(plug.uuid)) this.publisher.place(plug.uuid, { lastAddress: address });
      this.emit('moved', plug, address);
    });
  }

  /**
   * Starts the cloud account from its cache. True when there is no cache yet (first sign-in): then the plugs wait
   * for the account key and plug list (a few seconds), and `then` runs once they are in (or the cloud failed).
   */
  waitForCloud(then: () => void): boolean {
    const config = this.config;
    if (!config.cloud || this.cloud) return false;
    const url = resolveCloudUrl(this.options.env, config.cloud.url);
    if ('error' in url) {
      this.log.warn(`Meross cloud: ${url.error}; cloud sign-in is off.`);
      return false;
    }
    this.cloud = new CloudAccount({
      email: config.cloud.email,
      password: config.cloud.password,
      baseUrl: url.url,
      pluginDir: this.options.storageDir,
      storagePath: this.options.storagePath,
      log: this.log,
    });
    this.cloudState = this.cloud.cached();
    this.cloudPending = true;
    const first = this.refreshCloud();
    this.every(CLOUD_REFRESH_MS, () => void this.refreshCloud());
    if (this.cloudState.source !== 'none') return false;
    this.log.info('Meross cloud: signing in for the first time; the plugs start as soon as the account key and plug list are in.');
    void first.then(then);
    return true;
  }

  /** Runs the planned plugs, then keeps the plan current (cloud refreshes, scans). */
  launch(): void {
    const config = this.config;
    this.startPush();
    const claimed = new Set<string>();
    for (const device of this.planDevices()) {
      const known = device.uuid ?? this.uuidAtHost(device.host);
      const remembered = known ? this.publisher.remembered(known) : undefined;
      if (known && !this.claimPlug(known, device.name ?? remembered?.name)) continue;
      const plug = this.createPlug(device, known, remembered !== undefined);
      let shown = remembered !== undefined;
      // The uuid is in the config: publish now, so HomeKit has the outlet before the plug ever answers.
      if (!shown && known) shown = this.publisher.register(plug, device, `Meross ${known.slice(-4).toUpperCase()}`);
      else if (shown && known && !this.publisher.isPublished(known)) this.publisher.attach(known, plug, device);
      if (shown && known) {
        claimed.add(known);
      } else {
        this.pendingIdentity++;
        plug.once('info', (info) => this.adopt(plug, device, info));
      }
      plug.start();
    }
    this.launched = true;
    this.pruneIfSettled(claimed);
    this.startDiscovery();
    this.log.info(
      `Watching ${this.plugs.length} Meross plug${this.plugs.length === 1 ? '' : 's'} ` +
        `(state and power every ${config.pollIntervalMs / 1000} s, energy every ${config.energyPollIntervalMs / 1000} s).`,
    );
  }

  /** Stops the timers and the locator (first on shutdown: nothing new starts). */
  halt(): void {
    this.locator.stop();
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Stops every plug (each saves its energy ledger) and then local push; resolves when all is written. */
  closePlugs(): Promise<unknown>[] {
    return this.plugs.map((p) => p.stop());
  }

  closePush(): Promise<void> | undefined {
    return this.push?.stop();
  }

  /** The claims go last, once this block's files are written: the next owner of a plug starts from its last save. */
  release(): void {
    this.claims?.releaseAll();
  }

  /** Local MQTT push, when configured: every plug created from here on is served by it (README "Local push (MQTT)"). */
  private startPush(): void {
    const config = this.config;
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
    const dir = this.options.storageDir;
    this.push = new PushHub({ config: config.push, dir, log: this.log, accountUserId: () => readCloudCache(dir)?.userId });
    void this.push.start();
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** The uuid of the remembered plug that was configured at this host. */
  private uuidAtHost(host: string | undefined): string | undefined {
    if (!host) return undefined;
    return this.publisher.rememberedPlugs().find((r) => r.host === host && r.uuid)?.uuid;
  }

  private createPlug(device: PlugEntry, uuid: string | undefined, remembered: boolean): Plug {
    const config = this.config;
    const memory = remembered && uuid ? this.publisher.remembered(uuid) : undefined;
    const name = device.name ?? memory?.name ?? device.host ?? (uuid ? `Meross ${uuid.slice(-4).toUpperCase()}` : 'Meross plug');
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
      outletInUseWatts: device.outletInUseWatts ?? config.outletInUseWatts,
      timezone: device.timezone,
      led: device.led,
      restored: memory?.values,
      restoredOutlets: memory?.outlets,
      // Without a uuid the plug is not claimed yet: it must not touch a ledger another block may own (adopt).
      storageDir: uuid ? this.options.storageDir : undefined,
      log: this.log,
    });
    if (!device.key) this.log.warn(`${name}: no key set (neither for the plug nor the platform); most plugs need one.`);
    this.labelOutlets(plug);
    this.plugs.push(plug);
    this.follower.follow(plug);
    this.push?.add(plug);
    this.emit('added', plug, device);
    return plug;
  }

  /** First answer from a plug we had no accessory for: find or create its accessory by uuid. */
  private adopt(plug: Plug, device: DeviceConfig, info: SystemInfo): void {
    this.pendingIdentity--;
    if (plug.abilities && !plug.abilities.toggle) {
      // A hub, a sensor …: nothing this plugin could show as an outlet. Said once (a dropped plug is not polled again).
      this.log.warn(
        `${plug.name}: this Meross ${info.model.toUpperCase()} (${info.uuid}) lists nothing this plugin can switch (neither ` +
          'Appliance.Control.ToggleX nor Toggle), so it is not added. If it is a plug or switch, please report its model and ' +
          'firmware; otherwise remove it from "devices".',
      );
      this.drop(plug);
      this.pruneIfSettled();
      return;
    }
    if (this.claimFromCloudOrScan(info.uuid, plug, device)) return;
    if (this.publisher.isPublished(info.uuid)) {
      this.log.warn(`${plug.name}: this plug (${info.uuid}) is listed twice in the config; ignoring the second entry.`);
      void plug.stop();
      return;
    }
    if (!this.claimPlug(info.uuid, plug.name)) {
      this.drop(plug);
      this.pruneIfSettled();
      return;
    }
    // Claimed: its ledger is this block's now. Set before the plug's poll goes on to load it (synchronously after 'info').
    plug.setStorage(this.options.storageDir);
    this.labelOutlets(plug);
    if (!this.publisher.remembered(info.uuid)) {
      this.publisher.register(plug, device, `${info.model.toUpperCase()} ${info.mac.replace(/:/g, '').slice(-4).toUpperCase()}`);
    } else {
      this.publisher.attach(info.uuid, plug, device, true);
    }
    this.pruneIfSettled();
  }

  /**
   * Forgets remembered plugs that left the config. Only once every configured plug is shown: until then, an
   * unclaimed remembered plug may still belong to a host-only entry that has not answered yet.
   */
  private pruneIfSettled(claimed?: ReadonlySet<string>): void {
    if (this.pendingIdentity > 0 || this.cloudPending) return;
    this.publisher.prune(
      claimed,
      // A cloud plug stays while the cloud cannot say whether it is still on the account.
      (r) => r.origin === 'cloud' && this.cloud !== undefined && this.cloudState?.source !== 'cloud',
      // A plug another block runs was reported as such already.
      (uuid) => this.refused.has(uuid),
    );
  }

  /**
   * The plugs to run: every `devices` entry, then each cloud plug no entry claims, then (discovery on) the plugs
   * earlier scans added. Manual entries win (address, key, name); a cloud name fills in a missing name, the
   * account key a missing key.
   */
  private planDevices(): PlugEntry[] {
    const config = this.config;
    const cloud = this.cloudState;
    const cloudNames = new Map((cloud?.devices ?? []).map((d) => [d.uuid, d.name]));
    const entries: PlugEntry[] = [];
    const taken = new Set<string>();
    const learned = (uuid: string | undefined, host: string | undefined): string | undefined => {
      const memory = uuid ? this.publisher.remembered(uuid) : undefined;
      // A move found by discovery counts only while the configured host is still the one it moved away from.
      return memory?.lastAddress && memory.host === host ? memory.lastAddress : undefined;
    };
    for (const device of config.devices) {
      const uuid = device.uuid ?? this.uuidAtHost(device.host);
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
      const host = this.publisher.remembered(d.uuid)?.host;
      entries.push({ uuid: d.uuid, name: d.name, key: cloud?.key ?? config.key, host, lastAddress: learned(d.uuid, host), origin: 'cloud' });
    }
    if (config.discovery.enabled) {
      for (const r of this.publisher.rememberedPlugs()) {
        if (r.origin !== 'discovery' || !r.uuid || taken.has(r.uuid) || !r.host) continue;
        const key = r.keySource === 'cloud' ? cloud?.key : config.key || undefined;
        if (key === undefined) continue;
        taken.add(r.uuid);
        entries.push({ uuid: r.uuid, key, host: r.host, lastAddress: learned(r.uuid, r.host), origin: 'discovery', keySource: r.keySource });
      }
    }
    return entries;
  }

  private async refreshCloud(): Promise<void> {
    if (!this.cloud) return;
    this.cloudState = await this.cloud.refresh();
    this.cloudPending = false;
    if (this.launched) this.applyCloud();
  }

  /** A fresh device list while running: new plugs are added, renamed ones renamed (unless the user named them). */
  private applyCloud(): void {
    const state = this.cloudState;
    for (const d of state?.devices ?? []) {
      if (!isPlugType(d.type)) continue;
      if (this.publisher.isPublished(d.uuid)) {
        if (!this.userNamed.has(d.uuid)) this.rename(d.uuid, d.name, 'its name in the Meross app');
        const running = this.plugs.find((p) => p.uuid === d.uuid);
        if (running) this.labelOutlets(running);
        continue;
      }
      if (this.plugs.some((p) => p.uuid === d.uuid)) continue;
      if (this.editions.skips({ ...d, model: d.type, hardwareVersion: d.hardware }, 'cloud')) continue;
      if (!this.claimPlug(d.uuid, d.name)) continue;
      const memory = this.publisher.remembered(d.uuid);
      const entry: PlugEntry = { uuid: d.uuid, name: d.name, key: state?.key ?? this.config.key, host: memory?.host, origin: 'cloud' };
      this.run(entry, d.uuid, d.name);
    }
    this.pruneIfSettled();
  }

  /** Runs a plug the cloud or a scan contributed while running: shown again if remembered, else registered. */
  private run(entry: PlugEntry, uuid: string, fallbackName: string): void {
    const remembered = this.publisher.remembered(uuid) !== undefined;
    const plug = this.createPlug(entry, uuid, remembered);
    if (remembered) this.publisher.attach(uuid, plug, entry);
    else this.publisher.register(plug, entry, fallbackName);
    plug.start();
  }

  /** A strip's outlet names from the Meross app, where the cloud gave them (the cache may hold anything: checked). */
  private labelOutlets(plug: Plug): void {
    const uuid = plug.uuid;
    const channels = uuid ? this.cloudState?.devices.find((d) => d.uuid === uuid)?.channels : undefined;
    const labels = new Map<number, OutletLabel>();
    for (const c of Array.isArray(channels) ? channels : []) {
      if (Number.isInteger(c?.channel) && typeof c.name === 'string' && typeof c.usb === 'boolean') labels.set(c.channel, { name: c.name, usb: c.usb });
    }
    plug.labelOutlets(labels);
  }

  private rename(uuid: string, name: string, why: string): void {
    const shown = this.publisher.rename(uuid, name, why);
    if (shown === undefined) return;
    // Log lines follow the new name too.
    const plug = this.plugs.find((p) => p.uuid !== undefined && p.uuid === uuid);
    if (!plug) return;
    plug.rename(shown);
    this.emit('renamed', plug, shown);
  }

  /**
   * A `devices` entry by host answered with the uuid of a plug the cloud or a scan had added already (first run
   * only: later runs match them through the accessory cache). The entry wins: the running plug moves to its host
   * and takes its name; the entry's own plug model is dropped, so one plug is never polled twice.
   */
  private claimFromCloudOrScan(uuid: string, plug: Plug, device: DeviceConfig): boolean {
    if (!this.publisher.publishedOrigin(uuid)) return false;
    const running = this.plugs.find((p) => p !== plug && p.uuid === plug.uuid);
    if (!running) return false;
    this.drop(plug);
    if (device.host && running.address !== device.host) running.moveTo(device.host);
    if (device.name) {
      this.userNamed.add(running.uuid ?? '');
      this.rename(uuid, device.name, 'as named in "devices"');
    }
    this.publisher.place(uuid, { origin: undefined, keySource: undefined, lastAddress: undefined, host: device.host });
    this.pruneIfSettled();
    return true;
  }

  /** Scans at start and every 30 minutes when discovery is on; lost plugs are searched for in any case. */
  private startDiscovery(): void {
    if (!this.config.discovery.enabled) return;
    void this.locator.scanNow('start');
    this.every(DISCOVERY_INTERVAL_MS, () => void this.locator.scanNow('every 30 min'));
  }

  /** Keys a scan tries, in order: the platform key, the account key, then each plug's own. */
  private knownKeys(): string[] {
    const keys = [this.config.key, this.cloudState?.key, ...this.config.devices.map((d) => d.key)];
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
    if (!this.launched) return;
    const keys = this.knownKeys();
    for (const f of found) {
      if (!f.uuid || this.plugs.some((p) => p.uuid === f.uuid) || this.publisher.isPublished(f.uuid)) continue;
      if (f.info && this.editions.skips({ ...f.info, uuid: f.uuid, name: `${f.info.model.toUpperCase()} ${f.uuid.slice(-4).toUpperCase()}` }, 'scan')) continue;
      const at = probeLabel(f.host, f.port);
      const key = f.keyOk && f.keyIndex !== undefined ? keys[f.keyIndex] : undefined;
      const keySource = key === undefined ? undefined : key === config.key ? 'platform' : key === this.cloudState?.key ? 'cloud' : undefined;
      if (config.discovery.enabled && key !== undefined && keySource) {
        const fallbackName = `${(f.model ?? 'Meross').toUpperCase()} ${f.uuid.slice(-4).toUpperCase()}`;
        if (!this.claimPlug(f.uuid, this.publisher.remembered(f.uuid)?.name ?? fallbackName)) continue;
        this.run({ uuid: f.uuid, host: at, key, origin: 'discovery', keySource }, f.uuid, fallbackName);
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
    this.claims ??= new Claims({ dir: this.options.storageDir, block: this.config.name ?? PLATFORM_NAME });
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
    this.follower.unfollow(plug);
    this.emit('removed', plug);
  }
}

/** Smart plugs only (MSS…); the account may hold bulbs, hubs or sensors this plugin cannot show as outlets. */
function isPlugType(type: string): boolean {
  return type === '' || /^mss/i.test(type);
}
