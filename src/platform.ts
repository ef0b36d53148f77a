import type { API, DynamicPlatformPlugin, Logging, MatterAccessory, PlatformConfig } from 'homebridge' with { 'resolution-mode': 'import' };
import { networkInterfaces } from 'node:os';
import { parseConfig, type MerossLanConfig } from './config';
import { makeEveTypes } from './homekit/eve';
import { HomeKitPublisher, type Accessory } from './homekit/publisher';
import { MatterPublisher } from './matter/publisher';
import { detectMatter } from './matter/support';
import { PlugRegistry } from './registry/registry';
import { PLATFORM_NAME, PLUGIN_NAME, PLUGIN_VERSION } from './settings';
import { pluginStorageDir } from './storage/json-file';

/**
 * Homebridge entry, wiring only: the config is validated once; the registry decides which plugs run and where
 * (src/registry/); the HomeKit publisher shows them as accessories (src/homekit/publisher.ts) and Matter follows
 * HomeKit's accessory lifecycle (src/matter/). Accessories are keyed by the plug's own uuid, so a renamed plug, or
 * one that moved to another address, keeps its accessory; only removing a plug from the config removes it.
 */
export class MerossLanPlatform implements DynamicPlatformPlugin {
  private readonly config: MerossLanConfig | undefined;
  private readonly homekit: HomeKitPublisher;
  private readonly registry: PlugRegistry;
  /** Set once this bridge is seen to run Matter (Homebridge 2.x with a `matter` block); HomeKit works without it. */
  private matter: MatterPublisher | undefined;

  constructor(
    private readonly log: Logging,
    rawConfig: PlatformConfig,
    private readonly api: API,
  ) {
    /** `<storage>/meross-lan/`: energy ledgers and Eve histories, one file each per plug uuid. */
    const storageDir = pluginStorageDir(api.user.storagePath());
    // Versions in one line: the first thing anyone needs from a bug report's log.
    log.debug(`${PLUGIN_NAME} ${PLUGIN_VERSION} on Homebridge ${api.serverVersion}, HAP-NodeJS API ${api.version}, Node ${process.version}`);
    const { config, problems } = parseConfig(rawConfig ?? {});
    for (const problem of problems) log.warn(`Config: ${problem}`);
    if (config.devices.length === 0 && !config.cloud && !config.discovery.enabled) {
      log.warn('No Meross plugs are configured yet: add them under "devices" (host and key) in the plugin settings.');
    }
    this.config = config;
    this.homekit = new HomeKitPublisher({
      api,
      eve: makeEveTypes(api),
      storageDir,
      log,
      // The same plug, the same name, a second front end: Matter keeps exactly the plugs HomeKit keeps.
      onAttach: (plug, name) => this.matter?.attach(plug, name),
      onPrune: (kept) => this.matter?.prune(kept),
    });
    this.registry = new PlugRegistry({
      config,
      storageDir,
      storagePath: api.user.storagePath(),
      publisher: this.homekit,
      log,
      env: process.env,
      interfaces: networkInterfaces,
    });
    api.on('didFinishLaunching', () => this.launch());
    api.on('shutdown', () => this.shutdown());
  }

  /** Homebridge hands back each cached accessory before didFinishLaunching. */
  configureAccessory(accessory: Accessory): void {
    this.homekit.configureAccessory(accessory);
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

  private launch(): void {
    if (!this.config) return;
    // First sign-in: the plugs wait for the account key and plug list, then this runs again.
    if (this.registry.waitForCloud(() => this.launch())) return;
    this.matterPublisher();
    this.registry.launch();
  }

  private shutdown(): void {
    this.registry.halt();
    this.homekit.flush();
    // Adapters keep accessory.context.values current, and Homebridge writes the cache after this event. Energy
    // ledgers and histories save asynchronously; Homebridge waits for pending I/O (2.x; 1.x up to 5 s) before exiting.
    const closing: Promise<unknown>[] = [...this.registry.closePlugs(), ...this.homekit.stop()];
    const push = this.registry.closePush();
    if (push) closing.push(push);
    // The claims go last, once this block's files are written: the next owner of a plug starts from its last save.
    // Cut short (Homebridge 1.x exits after 5 s), they stay behind as stale claims, which the next start takes over.
    void Promise.allSettled(closing).then(() => {
      this.registry.release();
      const count = this.registry.plugs.length;
      this.log.debug(`Stopped: ${count} plug${count === 1 ? '' : 's'} saved${push ? ', local push closed' : ''}.`);
    });
  }
}
