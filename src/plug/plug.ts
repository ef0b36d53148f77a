import { EventEmitter } from 'node:events';
import { MerossClient, type ClientOptions } from '../meross/client';
import type { SystemInfo } from '../meross/decode';
import { MerossError, WrongDeviceError, WrongKeyError } from '../meross/errors';
import { nextProbeDelay, withJitter } from './backoff';
import { totalWh } from './energy';

export interface PlugLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export interface PlugOptions {
  host: string;
  key: string;
  uuid?: string;
  /** Display name for log lines. */
  name: string;
  pollIntervalMs: number;
  energyPollIntervalMs: number;
  timeoutMs: number;
  outletInUseWatts: number;
  /** How often System.All is refreshed while the plug is online. */
  infoIntervalMs?: number;
  /** Values remembered from the last run (Homebridge's accessory cache), so reads work before the first poll. */
  restored?: Partial<PlugValues> & { resetOffsetWh?: number };
  /** Test seam: builds the protocol client. */
  createClient?: (options: ClientOptions) => MerossClient;
  log: PlugLogger;
}

/** What the adapters show. */
export interface PlugValues {
  on: boolean;
  inUse: boolean;
  watts: number;
  volts: number;
  amps: number;
  /** Energy since the last Eve "Reset Total", kWh. */
  totalKWh: number;
  /** Energy metered over the plug's whole known life, kWh; never decreases and ignores Eve resets (Matter). */
  lifetimeKWh: number;
  /** Eve Reset Total: when the total was last reset, Unix seconds (0 = never). */
  resetTime: number;
}

export type Reachability = 'unknown' | 'online' | 'offline';

export interface PlugEvents {
  /** Only the values that changed. */
  update: [changes: Partial<PlugValues>];
  reachability: [state: Reachability, error?: MerossError];
  info: [info: SystemInfo];
}

const DEFAULT_VALUES: PlugValues = { on: false, inUse: false, watts: 0, volts: 0, amps: 0, totalKWh: 0, lifetimeKWh: 0, resetTime: 0 };

/**
 * The single source of truth for one plug: its values, reachability, poll schedule and write path. The HomeKit
 * and Matter adapters only translate these to characteristics/clusters; nothing here knows about either.
 */
export class Plug extends EventEmitter<PlugEvents> {
  readonly client: MerossClient;
  info: SystemInfo | undefined;
  reachability: Reachability = 'unknown';
  lastError: MerossError | undefined;

  private values: PlugValues;
  private meterWh: number | undefined;
  private resetOffsetWh: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private cycle: Promise<void> | undefined;
  private outageStart = 0;
  private probeDelay = 0;
  private lastEnergyRead = -Infinity;
  private lastInfoRead = -Infinity;
  /** Bumped by every confirmed write, so a poll that started before a write does not undo it. */
  private writeGeneration = 0;
  private writeTarget: boolean | undefined;
  private writing: Promise<void> | undefined;
  private warnedClock = false;

  constructor(readonly options: PlugOptions) {
    super();
    const { restored } = options;
    this.values = { ...DEFAULT_VALUES, ...pickValues(restored) };
    this.resetOffsetWh = restored?.resetOffsetWh ?? 0;
    const clientOptions: ClientOptions = {
      host: options.host,
      key: options.key,
      uuid: options.uuid,
      timeoutMs: options.timeoutMs,
      debug: (m) => options.log.debug(`${options.name}: ${m}`),
    };
    this.client = options.createClient ? options.createClient(clientOptions) : new MerossClient(clientOptions);
  }

  get name(): string {
    return this.options.name;
  }

  get uuid(): string | undefined {
    return this.client.uuid;
  }

  get reachable(): boolean {
    return this.reachability !== 'offline';
  }

  /** A copy of the current values (read path: never touches the network). */
  get snapshot(): Readonly<PlugValues> {
    return { ...this.values };
  }

  /** What to keep in the accessory cache for the next start. */
  get persisted(): PlugValues & { resetOffsetWh: number } {
    return { ...this.values, resetOffsetWh: this.resetOffsetWh };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // A short random start offset spreads many plugs so they do not all hit the network in the same tick.
    this.schedule(Math.round(Math.random() * Math.min(1000, this.options.pollIntervalMs / 10)));
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs one poll cycle now (also used by tests and the CLI); resolves when it is done. */
  pollNow(): Promise<void> {
    this.cycle ??= this.runCycle().finally(() => {
      this.cycle = undefined;
    });
    return this.cycle;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollNow().then(() => this.schedule(this.nextDelay()));
    }, delayMs);
    // Homebridge owns the process lifetime; a pending poll must not keep it alive on shutdown.
    this.timer.unref?.();
  }

  private nextDelay(): number {
    const interval = this.options.pollIntervalMs;
    if (this.reachability !== 'offline') return withJitter(interval);
    this.probeDelay = nextProbeDelay(interval, Date.now() - this.outageStart, this.probeDelay || interval);
    return this.probeDelay;
  }

  private async runCycle(): Promise<void> {
    const generation = this.writeGeneration;
    try {
      if (this.reachability !== 'online' || Date.now() - this.lastInfoRead >= (this.options.infoIntervalMs ?? 300_000)) {
        await this.readInfo();
      }
      const result = await this.client.poll();
      // A write confirmed while this poll was on its way wins over what the poll saw before it.
      const changes: Partial<PlugValues> = generation === this.writeGeneration ? { on: result.on } : {};
      if (result.electricity) {
        const { watts, volts, amps } = result.electricity;
        Object.assign(changes, { watts, volts, amps });
      } else if (!(changes.on ?? this.values.on)) {
        Object.assign(changes, { watts: 0, amps: 0 });
      }
      this.markOnline();
      this.apply(changes);
      this.checkClock();
      if (Date.now() - this.lastEnergyRead >= this.options.energyPollIntervalMs) await this.readEnergy();
    } catch (error) {
      this.markOffline(error);
    }
  }

  private async readInfo(): Promise<void> {
    if (!this.client.abilities) await this.client.ability();
    const info = await this.client.systemAll();
    this.lastInfoRead = Date.now();
    this.info = info;
    this.emit('info', info);
  }

  private async readEnergy(): Promise<void> {
    if (!this.client.abilities?.consumptionX) return;
    this.lastEnergyRead = Date.now();
    try {
      const days = await this.client.consumption();
      this.meterWh = totalWh(days);
      this.apply({ totalKWh: this.totalKWh(), lifetimeKWh: Math.max(this.values.lifetimeKWh, this.meterWh / 1000) });
    } catch (error) {
      if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
      // Some firmwares drop ConsumptionX queries (protocol.md §2.5); that must not mark the plug offline.
      this.options.log.debug(`${this.name}: energy read failed: ${describe(error)}`);
    }
  }

  private totalKWh(): number {
    if (this.meterWh === undefined) return this.values.totalKWh;
    return Math.max(0, this.meterWh - this.resetOffsetWh) / 1000;
  }

  /** Eve "Reset Total": the total counts from now on. `at` is Unix seconds. */
  resetTotal(at: number): void {
    this.resetOffsetWh = this.meterWh ?? this.resetOffsetWh;
    this.apply({ resetTime: at, totalKWh: this.totalKWh() });
  }

  private checkClock(): void {
    const t = this.client.lastDeviceTime;
    if (t !== undefined && t < 1_000_000_000 && !this.warnedClock) {
      this.warnedClock = true;
      this.options.log.warn(
        `${this.name}: the plug's clock is not set, so it reports 0 W until it gets the time. ` +
          'Make sure it can reach an NTP server (or the internet).',
      );
    }
  }

  /**
   * Sends a relay change now, ahead of queued polls. Writes are serialised; while one is on the wire, later
   * requests collapse to the newest (last writer wins) and all callers get its outcome. The value changes only
   * once the plug confirmed it.
   */
  setOn(on: boolean): Promise<void> {
    this.writeTarget = on;
    this.writing ??= this.drainWrites().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async drainWrites(): Promise<void> {
    while (this.writeTarget !== undefined) {
      const target = this.writeTarget;
      this.writeTarget = undefined;
      try {
        await this.client.setOn(target);
      } catch (error) {
        this.writeTarget = undefined;
        if (error instanceof MerossError && !error.retryable) this.markOffline(error);
        this.options.log.warn(`${this.name}: could not switch ${target ? 'on' : 'off'}: ${describe(error)}`);
        throw error;
      }
      this.writeGeneration++;
      this.markOnline();
      this.apply(target ? { on: true } : { on: false, watts: 0, amps: 0 });
    }
  }

  private apply(changes: Partial<PlugValues>): void {
    const next = { ...this.values, ...changes };
    next.inUse = next.on && next.watts > this.options.outletInUseWatts;
    const diff: Partial<PlugValues> = {};
    for (const k of Object.keys(next) as Array<keyof PlugValues>) {
      if (next[k] !== this.values[k]) (diff as Record<string, unknown>)[k] = next[k];
    }
    this.values = next;
    if (Object.keys(diff).length > 0) this.emit('update', diff);
  }

  private markOnline(): void {
    if (this.reachability === 'online') return;
    const wasOffline = this.reachability === 'offline';
    this.reachability = 'online';
    this.lastError = undefined;
    this.probeDelay = 0;
    if (wasOffline) this.options.log.info(`${this.name}: back online.`);
    this.emit('reachability', 'online');
  }

  private markOffline(error: unknown): void {
    const merossError = error instanceof MerossError ? error : undefined;
    const sameProblem = this.reachability === 'offline' && this.lastError?.code === merossError?.code;
    this.lastError = merossError;
    if (!merossError) this.options.log.error(`${this.name}: unexpected error: ${describe(error)}`);
    if (this.reachability !== 'offline') {
      this.reachability = 'offline';
      this.outageStart = Date.now();
      this.emit('reachability', 'offline', merossError);
    }
    if (sameProblem || !merossError) return;
    const suffix = merossError instanceof WrongKeyError || merossError instanceof WrongDeviceError ? '' : ' HomeKit shows No Response until it answers again.';
    const line = `${this.name}: ${merossError.message}${suffix}`;
    if (merossError instanceof WrongKeyError || merossError instanceof WrongDeviceError) this.options.log.error(line);
    else this.options.log.warn(line);
  }
}

function pickValues(restored: PlugOptions['restored']): Partial<PlugValues> {
  if (!restored) return {};
  const out: Partial<PlugValues> = {};
  for (const k of Object.keys(DEFAULT_VALUES) as Array<keyof PlugValues>) {
    const v = restored[k];
    if (typeof v === typeof DEFAULT_VALUES[k]) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
