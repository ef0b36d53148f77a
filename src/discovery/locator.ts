import type { DiscoveryLogger, LastAddress } from './lan';
import { probeLabel, type Found } from './probe';
import { describe } from '../util/describe';

/** What the locator needs of a plug; the platform adapts its Plug model to this (discovery knows no plug model). */
export interface Locatable {
  readonly name: string;
  /** Known from the config, the cloud, the cache or a first answer; plugs are matched by uuid only. */
  readonly uuid: string | undefined;
  /** `host[:port]` in use, or undefined while none is known. */
  readonly address: string | undefined;
  /** Talk to the plug at a new address from now on (same uuid, same key, same accessory). */
  moveTo(address: string): void;
}

/** Why a plug needs finding; decides how soon to scan. */
export type LostReason = 'no-address' | 'wrong-device' | 'unreachable';

export interface LocatorOptions {
  /** One scan; `lastAddresses` are the lost plugs' last addresses (undefined for never placed). */
  scan: (reason: string, lastAddresses?: readonly LastAddress[]) => Promise<Found[]>;
  /** How long a plug may be unreachable before its address is searched (the issue: 5 minutes). */
  rescanAfterMs: number;
  /** Longest wait between searches for a plug that stays lost. Default 30 min. */
  maxRetryMs?: number;
  log: DiscoveryLogger;
  /** Every scan's results, after lost plugs were moved (the platform adds new plugs, lists keyless ones). */
  onResults?: (found: Found[], reason: string) => void;
}

interface Entry {
  lost?: LostReason;
  timer?: NodeJS.Timeout;
  retryMs: number;
}

/**
 * Follows plugs across IP changes. A plug with no address, or whose address answers with another uuid
 * (WrongDevice), is searched for at once; one that stopped answering, after `rescanAfterMs`. A scan finds plugs
 * by uuid and moves each lost one to its new address; the accessory stays the same. Plugs still lost are searched
 * again later, backing off to `maxRetryMs`. One scan at a time: requests during a scan share its results.
 */
export class Locator {
  private readonly entries = new Map<Locatable, Entry>();
  private running: Promise<Found[]> | undefined;
  private stopped = false;

  constructor(private readonly options: LocatorOptions) {}

  track(plug: Locatable): void {
    if (!this.entries.has(plug)) this.entries.set(plug, { retryMs: 0 });
  }

  untrack(plug: Locatable): void {
    const entry = this.entries.get(plug);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(plug);
  }

  /** The plug needs finding. Repeated calls for one outage keep the earliest schedule. */
  lost(plug: Locatable, reason: LostReason): void {
    this.track(plug);
    const entry = this.entries.get(plug) as Entry;
    const wasLost = entry.lost !== undefined;
    entry.lost = reason;
    if (wasLost && entry.timer && reason === 'unreachable') return;
    this.schedule(plug, entry, reason === 'unreachable' ? this.options.rescanAfterMs : 0);
  }

  /** The plug answers again: nothing to search. */
  recovered(plug: Locatable): void {
    const entry = this.entries.get(plug);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.lost = undefined;
    entry.retryMs = 0;
  }

  /** A scan now (periodic or asked for); lost plugs found in it are moved. */
  scanNow(reason: string): Promise<Found[]> {
    return this.run(reason, false);
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  private schedule(plug: Locatable, entry: Entry, delayMs: number): void {
    if (this.stopped) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.lost !== undefined) void this.run(`looking for ${plug.name}`, true);
    }, delayMs);
    // Homebridge owns the process lifetime; a pending search must not keep it alive on shutdown.
    entry.timer.unref?.();
  }

  private run(reason: string, follow: boolean): Promise<Found[]> {
    if (this.running) return this.running;
    const lost = [...this.entries].filter(([, e]) => e.lost !== undefined).map(([p]) => p);
    const scanning = this.options
      .scan(reason, follow ? lost.map((p) => p.address) : undefined)
      .catch((error: unknown) => {
        this.options.log.warn(`LAN discovery failed: ${describe(error)}`);
        return [] as Found[];
      })
      .then((found) => {
        this.apply(found);
        this.options.onResults?.(found, reason);
        return found;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = scanning;
    return scanning;
  }

  private apply(found: Found[]): void {
    for (const [plug, entry] of this.entries) {
      if (entry.lost === undefined) continue;
      const match = plug.uuid === undefined ? undefined : found.find((f) => f.uuid === plug.uuid);
      const address = match ? probeLabel(match.host, match.port) : undefined;
      if (address !== undefined && address !== plug.address) {
        const before = plug.address;
        plug.moveTo(address);
        this.options.log.info(`${plug.name}: found at ${address}${before ? ` (was ${before})` : ''}; using the new address.`);
      }
      // Until it answers (recovered), keep looking, less and less often.
      entry.retryMs = Math.min(Math.max(entry.retryMs * 2, this.options.rescanAfterMs), this.options.maxRetryMs ?? 30 * 60_000);
      this.schedule(plug, entry, entry.retryMs);
    }
  }
}
