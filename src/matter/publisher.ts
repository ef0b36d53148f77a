import type { MatterAccessory } from 'homebridge' with { 'resolution-mode': 'import' };
import type { Plug, PlugLogger } from '../plug/plug';
import { describe } from '../util/describe';
import { MatterOutletAdapter, matterName, outletShape, type MatterOutletAccessory } from './outlet';
import type { MatterSupport } from './support';

export interface MatterPublisherOptions {
  pluginName: string;
  platformName: string;
  /** false: the user turned Matter off for this plugin; cached Matter accessories are removed. */
  publish: boolean;
  log: PlugLogger;
}

/**
 * Keeps the plugin's Matter accessories: one OnOffOutlet per plug, keyed by the plug's uuid like the HomeKit
 * accessories, reattached to Homebridge's cached copy on restart and removed when the plug leaves the config.
 */
export class MatterPublisher {
  private readonly cached = new Map<string, MatterOutletAccessory>();
  /** By the plug's uuid (the accessory UUID depends on the plug's shape). */
  private readonly adapters = new Map<string, MatterOutletAdapter>();
  /** Plugs attached (published, or waiting for a shape this Homebridge can publish). */
  private readonly attached = new Set<string>();
  /** Registrations run one after another, so Homebridge builds endpoints in config order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly support: MatterSupport,
    private readonly options: MatterPublisherOptions,
  ) {}

  /** Homebridge hands back each cached Matter accessory before didFinishLaunching. */
  configureAccessory(accessory: MatterAccessory): void {
    this.cached.set(accessory.UUID, accessory as MatterOutletAccessory);
  }

  /**
   * A single plug's accessory UUID is the one every earlier version gave it. A strip's differs: when a plug first
   * published as one outlet turns out to be a strip (or the other way round), the old accessory is unregistered and
   * the new one registered at once, and Homebridge would refuse the same UUID until the old endpoint has closed, which
   * its API gives no way to wait for (its unregister call resolves before the endpoint is gone, and the accessory's
   * state reads as absent while it closes). Found by test/e2e/strip-matter.test.ts.
   */
  accessoryUuid(plugUuid: string, strip = false): string {
    return this.support.matter.uuid.generate(`${this.options.pluginName}:${plugUuid}${strip ? ':strip' : ''}`);
  }

  /** Publishes `plug` over Matter (once per plug; later calls for the same plug are ignored). */
  attach(plug: Plug, displayName: string): void {
    const plugUuid = plug.uuid;
    if (!this.options.publish || !plugUuid) return;
    if (this.attached.has(plugUuid)) return;
    this.attached.add(plugUuid);
    const cachedEither = this.cached.has(this.accessoryUuid(plugUuid, false)) || this.cached.has(this.accessoryUuid(plugUuid, true));
    // Never on Matter before and never answered: its shape (one outlet or a strip) is a guess until it answers, and a
    // wrong guess would show controllers a device that comes and goes. Wait for the first answer.
    if (!cachedEither && !plug.info) plug.once('info', () => this.publish(plug, plugUuid, displayName));
    else this.publish(plug, plugUuid, displayName);
    // A plug first seen as one outlet turned out to be a strip (or the other way round): another endpoint structure.
    plug.on('outlets', () => this.reshape(plug, plugUuid, displayName));
  }

  private publish(plug: Plug, plugUuid: string, displayName: string): void {
    if (plug.isStrip && !this.support.matter.deviceTypes.BridgedNode) {
      // A strip is a composed device (src/matter/outlet.ts); without a container type its master would have to pose as
      // an outlet that switches everything. Keep it HomeKit-only rather than show that.
      this.options.log.info(`${displayName}: this Homebridge cannot publish composed Matter devices, so the strip stays HomeKit-only; Homebridge 2.4 can.`);
      return;
    }
    const uuid = this.accessoryUuid(plugUuid, plug.isStrip);
    const name = matterName(displayName);
    const cached = this.cached.get(uuid);
    // The cache may still hold the plug in its other shape (the HomeKit cache knew it was a strip, Matter's did not):
    // that accessory would stay beside the new one as a dead device.
    const otherShape = this.cached.get(this.accessoryUuid(plugUuid, !plug.isStrip));
    const adapter = new MatterOutletAdapter(this.support.matter, plug, {
      uuid,
      name,
      plugUuid,
      shape: outletShape(plug, cached, this.support.energy),
      cached,
      log: this.options.log,
    });
    this.adapters.set(plugUuid, adapter);
    this.cached.delete(uuid);
    if (otherShape) {
      this.cached.delete(otherShape.UUID);
      this.queue = this.queue.then(() => this.unregister(otherShape, displayName));
    }
    this.queue = this.queue
      .then(() => adapter.register(this.options.pluginName, this.options.platformName))
      .then(
        (published) => {
          if (published && !cached) this.options.log.info(`${displayName}: added to Matter${name === displayName ? '' : ` as "${name}" (Matter names hold 32 bytes)`}.`);
        },
        (error: unknown) => this.options.log.warn(`${displayName}: could not be published over Matter: ${describe(error)}`),
      );
  }

  /** Replaces a plug's Matter accessory by one of the new shape (Homebridge cannot change an endpoint's parts in place). */
  private reshape(plug: Plug, plugUuid: string, displayName: string): void {
    const old = this.adapters.get(plugUuid);
    if (old) {
      old.retire();
      this.adapters.delete(plugUuid);
      const outlets = plug.isStrip ? `${plug.outlets.length} outlets` : 'one outlet';
      this.options.log.info(`${displayName}: has ${outlets}; publishing it again over Matter with that shape.`);
      this.queue = this.queue.then(() => this.unregister(old.accessory, displayName));
    }
    // Also for a plug not published yet (a strip this Homebridge could not compose that turned out to be none).
    this.queue = this.queue.then(() => {
      if (!this.adapters.has(plugUuid)) this.publish(plug, plugUuid, displayName);
    });
  }

  private async unregister(accessory: MatterOutletAccessory, displayName: string): Promise<void> {
    try {
      await this.support.matter.unregisterPlatformAccessories(this.options.pluginName, this.options.platformName, [accessory]);
    } catch (error) {
      this.options.log.warn(`${displayName}: could not remove its old Matter accessory: ${describe(error)}`);
    }
  }

  /**
   * Removes cached Matter accessories no running plug claimed, except those of plugs `keep` names (e.g. a plug whose
   * HomeKit accessory is kept while it cannot be placed yet). Call only once every plug's uuid is known.
   */
  prune(keep: (plugUuid: string) => boolean = () => false): void {
    const stale = [...this.cached.values()].filter((a) => !this.options.publish || !a.context?.plugUuid || !keep(a.context.plugUuid));
    if (stale.length === 0) return;
    for (const accessory of stale) this.cached.delete(accessory.UUID);
    for (const accessory of stale) {
      this.options.log.info(`${accessory.displayName}: removed from Matter (${this.options.publish ? 'no longer in the config' : 'Matter is turned off for this plugin'}).`);
    }
    this.support.matter.unregisterPlatformAccessories(this.options.pluginName, this.options.platformName, stale).catch((error: unknown) => {
      this.options.log.warn(`Could not remove stale Matter accessories: ${describe(error)}`);
    });
  }

  /**
   * Resolves once every registration started so far has finished (tests, shutdown), including the one a reshape
   * queues from inside the queue.
   */
  async settled(): Promise<void> {
    for (let queue = this.queue; ; ) {
      await queue;
      if (queue === this.queue) return;
      queue = this.queue;
    }
  }
}
