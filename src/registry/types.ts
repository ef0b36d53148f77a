import type { DeviceConfig } from '../config';
import type { Plug, PlugValues } from '../plug/plug';

/** Where a plug not in `devices` came from, so a restart can restore it before the cloud or a scan answers. Never a key. */
export interface Placement {
  origin?: 'cloud' | 'discovery';
  /** Which configured key a discovered plug answered to. */
  keySource?: 'platform' | 'cloud';
  /** Where LAN discovery last found the plug, if not at its configured host. */
  lastAddress?: string;
}

/** A plug to run: a `devices` entry, or one the cloud or a LAN scan contributed (manual entries win). */
export type PlugEntry = DeviceConfig & Placement;

/** What the last run knew of a plug (Homebridge's accessory cache): its name, placement and last values. */
export interface Remembered extends Placement {
  uuid: string | undefined;
  name: string;
  /** The configured host it was run at. */
  host?: string;
  values?: Partial<PlugValues>;
  /** A strip's outlets and their last states (Plug `persistedOutlets`). */
  outlets?: Record<string, boolean>;
}

/**
 * Where the registry's plugs are shown (HomeKit): what it remembers of earlier runs, and the accessories it keeps.
 * The registry decides which plugs run and where; the publisher only shows them. Keyed by plug uuid.
 */
export interface PlugPublisher {
  /** What the last run (or this one) knew of the plug. */
  remembered(uuid: string): Remembered | undefined;
  /** Every plug remembered. */
  rememberedPlugs(): Remembered[];
  /** Whether the plug is shown now (it has a live accessory). */
  isPublished(uuid: string): boolean;
  /** Where a shown plug came from (undefined for a `devices` entry, or when it is not shown). */
  publishedOrigin(uuid: string): Placement['origin'];
  /** Shows a plug the publisher has not seen before; false when it cannot (the bridge is full: the plug is stopped). */
  register(plug: Plug, entry: PlugEntry, fallbackName: string): boolean;
  /** Shows a remembered plug again with this run's model and entry; `touched`: its record changed, save it. */
  attach(uuid: string, plug: Plug, entry: PlugEntry, touched?: boolean): void;
  /** A new name for a shown plug; returns the name as shown (HomeKit's rules), or undefined when it was already so. */
  rename(uuid: string, name: string, why: string): string | undefined;
  /** New placement for a remembered plug (a scan moved it, or a `devices` entry claimed it). */
  place(uuid: string, placement: Placement & { host?: string }): void;
  /**
   * Forgets the remembered plugs not in `keep` (and not shown); `quiet(uuid)`: removed without a log line.
   * `stays(r)`: a remembered plug to keep even so. Without `keep`, the shown plugs are kept.
   */
  prune(keep: ReadonlySet<string> | undefined, stays: (r: Remembered) => boolean, quiet: (uuid: string) => boolean): void;
}

export interface RegistryEvents {
  /** A plug model now runs (not yet started). */
  added: [plug: Plug, entry: PlugEntry];
  /** A running plug got a new name (cloud name, or a `devices` entry claiming it). */
  renamed: [plug: Plug, name: string];
  /** A running plug answers at a new address (LAN discovery followed it). */
  moved: [plug: Plug, address: string];
  /** A plug model this registry will not run after all (another block runs it, or a duplicate entry). */
  removed: [plug: Plug];
}
