import { EventEmitter } from 'node:events';
import { MerossClient, type AlternateTransport, type ClientOptions } from '../meross/client';
import { decodeOverTemp, decodeRelays, type Abilities, type DailyEnergy, type Electricity, type Json, type OverTemp, type SystemInfo } from '../meross/decode';
import { MerossError, WrongDeviceError, WrongKeyError } from '../meross/errors';
import { DNDMODE, OVERTEMP, RUNTIME } from '../meross/namespaces';
import { buildTimeRules, ruleOffsetAt } from '../meross/time';
import type { JsonDocument } from '../storage/json-document';
import { describe } from '../util/describe';
import { nextProbeDelay, withJitter } from './backoff';
import { PlugCalendar } from './calendar';
import { PowerIntegrator } from './energy';
import { EnergyLedger, type DayEvidence, type MergeReport } from './ledger';
import { ESTIMATE_SAVE_DELAY_MS, ledgerDocument, ledgerFile, loadLedger } from './ledger-store';
import { outletChannels, restoredOutlets, type OutletLabel } from './outlets';

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
  /**
   * IANA time zone the user wants the plug to book its days in (config `timezone`). When set and the plug's own zone
   * differs, the plug is told this one (Appliance.System.Time SET); without it the plug's clock and zone are never
   * changed.
   */
  timezone?: string;
  /**
   * The status LED as the user wants it (config `led`): sent with Appliance.System.DNDMode when the plug's differs,
   * checked at most once a day. Undefined: the LED is never touched.
   */
  led?: boolean;
  /** How often System.All is refreshed while the plug is online. */
  infoIntervalMs?: number;
  /** Values remembered from the last run (Homebridge's accessory cache), so reads work before the first poll. */
  restored?: Partial<PlugValues>;
  /** A strip's outlets and their last states from the accessory cache (`persistedOutlets`), so a restart shows them at once. */
  restoredOutlets?: unknown;
  /** Folder for the energy ledger (`<storage>/meross-lan/`); undefined keeps it in memory only (unit tests). */
  storageDir?: string;
  /** Clock, Unix ms (default Date.now): schedules, the ledger's idea of "today" and power integration follow it. */
  now?: () => number;
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
  /** One outlet of a strip switched (channels 1..N; a single plug's relay is `on` in `update`). */
  outlet: [channel: number, on: boolean];
  /** The plug turned out to have other outlets than assumed (a strip, or a cached strip that is none). */
  outlets: [channels: readonly number[]];
  /** The Meross app's names for a strip's outlets changed. */
  outletLabels: [];
}

/** A plug clock further than this off the host's is worth a warning (meross_lan warns above 5 s; NTP jitter is less). */
export const CLOCK_TOLERANCE_MS = 60_000;
/** Power readings are a sample; the meter integrates. This much headroom keeps a real reset from looking carried. */
const POWER_HEADROOM = 1.1;
/** How often a configured time zone is checked against the plug's rules (they run out; meross_lan re-checks too). */
const ZONE_CHECK_MS = 86_400_000;

/** The first meter reads of plugs started together are spread over this long (see start()). */
export const FIRST_ENERGY_SPREAD_MS = 60_000;

/** While a plug pushes over local MQTT, its relay state is still read this often, as a health check. */
export const PUSH_HEALTH_CHECK_MS = 300_000;

const DEFAULT_VALUES: PlugValues = { on: false, inUse: false, watts: 0, volts: 0, amps: 0, totalKWh: 0, lifetimeKWh: 0, resetTime: 0 };

/**
 * The single source of truth for one plug: its values, reachability, poll schedule and write path. The HomeKit
 * and Matter adapters only translate these to characteristics/clusters; nothing here knows about either.
 */
export class Plug extends EventEmitter<PlugEvents> {
  /** The protocol client for the plug's current address; only moveTo() replaces it. */
  get client(): MerossClient {
    return this.currentClient;
  }
  private currentClient: MerossClient;
  info: SystemInfo | undefined;
  reachability: Reachability = 'unknown';
  lastError: MerossError | undefined;

  private values: PlugValues;
  private readonly now: () => number;
  private ledger: EnergyLedger;
  /** Set once the ledger file is being loaded (needs the uuid); every ledger change waits for it. */
  private ledgerLoad: Promise<void> | undefined;
  private ledgerDoc: JsonDocument | undefined;
  private readonly integrator: PowerIntegrator;
  private readonly maxHoldMs: number;
  /** The plug's own calendar: which day it books energy on, and its clock. */
  readonly calendar = new PlugCalendar();
  /**
   * What the power readings say since the last meter read: the highest power seen and whether it was sampled without
   * a gap. It bounds what the first reading of a new plug-local day can hold (ledger.ts, judgeNewDay).
   */
  private witness: { sinceMs: number; maxWatts: number; lastSampleMs: number; gapless: boolean } | undefined;
  /** The highest power seen in this run; undefined before any reading. It bounds a day the readings cannot judge. */
  private wattsSeen: number | undefined;
  private warnedClockOff = false;
  private announcedBooking = '';
  private zoneCheckedAt = -Infinity;
  private ledCheckedAt = -Infinity;
  private introduced = false;
  /** Wh the measured power added since the last meter read: the meter's share that has not been read yet. */
  private unreadWh = 0;
  /** Whether the energy counter is known in this run (after the first meter read, or the first power sample). */
  private counterKnown = false;
  private counterHighWh = 0;
  private warnedEstimate = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Set by stop(): a poll still on the wire then changes nothing and says nothing (Homebridge is shutting down). */
  private stopped = false;
  private cycle: Promise<void> | undefined;
  private outageStart = 0;
  private probeDelay = 0;
  private lastEnergyRead = -Infinity;
  private lastInfoRead = -Infinity;
  /** Bumped by every confirmed write, so a poll that started before a write does not undo it. */
  private writeGeneration = 0;
  private phased = false;
  /** Per channel, the newest state asked for and not yet sent (last writer wins). */
  private readonly writeTargets = new Map<number, boolean>();
  /** The outlet channels: `[0]` for a single plug, a strip's 1..N (outlets.ts). */
  private channelList: number[] = [0];
  /** A strip's outlet states; a single plug's relay is `values.on`. */
  private readonly outletStates = new Map<number, boolean>();
  private labels = new Map<number, OutletLabel>();
  /** The last over-temperature state the plug reported (undefined: none yet); one log line per change. */
  private overTemp: OverTemp | undefined;
  /** Cleared once the plug failed to answer an OverTemp GET: some firmwares drop it; pushes still count. */
  private overTempReadable = true;
  private writing: Promise<void> | undefined;
  private warnedClock = false;
  /** Local MQTT push (src/push), once attached; `available` says whether it is up right now. */
  private push: AlternateTransport | undefined;
  private lastRelayRead = -Infinity;

  constructor(readonly options: PlugOptions) {
    super();
    const { restored } = options;
    this.values = { ...DEFAULT_VALUES, ...pickValues(restored) };
    const outlets = restoredOutlets(options.restoredOutlets);
    if (outlets) {
      this.channelList = outletChannels(outlets.keys());
      if (this.isStrip) for (const c of this.channelList) this.outletStates.set(c, outlets.get(c) ?? false);
    }
    this.now = options.now ?? Date.now;
    this.ledger = new EnergyLedger(this.now);
    // A sample held longer than a few missed polls would be a guess, not a measurement.
    this.maxHoldMs = Math.max(3 * options.pollIntervalMs, 120_000);
    this.integrator = new PowerIntegrator(this.maxHoldMs);
    const clientOptions: ClientOptions = {
      host: options.host,
      key: options.key,
      uuid: options.uuid,
      timeoutMs: options.timeoutMs,
      debug: (m) => options.log.debug(`${options.name}: ${m}`),
    };
    this.currentClient = options.createClient ? options.createClient(clientOptions) : new MerossClient(clientOptions);
  }

  /**
   * The plug now answers at another address (a new DHCP lease, found by LAN discovery): talk to it there, with
   * the same uuid (so a different device at the new address is still refused) and key, and poll it soon. Values,
   * energy and the accessory stay as they are.
   */
  moveTo(host: string): void {
    const old = this.currentClient;
    const next = (this.options.createClient ?? ((o: ClientOptions) => new MerossClient(o)))({
      host,
      key: this.options.key,
      uuid: old.uuid ?? this.options.uuid,
      timeoutMs: this.options.timeoutMs,
      debug: (m) => this.options.log.debug(`${this.options.name}: ${m}`),
    });
    // Same device, same firmware: its abilities are still valid (and save a request).
    next.abilities = old.abilities;
    next.transport = old.transport;
    this.currentClient = next;
    this.options.host = host;
    this.probeDelay = 0;
    // Poll right after any cycle still running on the old address, not after an outage back-off.
    if (this.running) void (this.cycle ?? Promise.resolve()).then(() => this.schedule(0));
  }

  get name(): string {
    return this.options.name;
  }

  get uuid(): string | undefined {
    return this.client.uuid;
  }

  /** The key the plug signs its messages with. */
  get key(): string {
    return this.options.key;
  }

  /** Where the plug answers now (`host[:port]`, as the client labels it). */
  get address(): string {
    return this.client.label;
  }

  /** What the plug says it can do (its Ability list), once it has answered; undefined before. */
  get abilities(): Abilities | undefined {
    return this.client.abilities;
  }

  /** The logger the plug writes to (adapters log their lines about this plug there too). */
  get log(): PlugLogger {
    return this.options.log;
  }

  /**
   * Why a switch would fail right now, without trying: the plug is offline for a reason retrying does not cure
   * (wrong key, another device at its address), so sending would fail or switch a stranger's plug. Undefined when
   * a switch may be tried. The one guard every adapter asks before it calls setOn().
   */
  get switchRefusal(): MerossError | undefined {
    return !this.reachable && this.lastError && !this.lastError.retryable ? this.lastError : undefined;
  }

  /** A new name (the user's, or the Meross app's); log lines follow it. */
  rename(name: string): void {
    this.options.name = name;
  }

  /**
   * Where the energy ledger lives, once this block may own it: a plug not claimed yet (its uuid unknown) must not
   * touch a ledger another block may own. Set before the poll after the first answer loads the ledger.
   */
  setStorage(dir: string): void {
    this.options.storageDir = dir;
  }

  get reachable(): boolean {
    return this.reachability !== 'offline';
  }

  /** A copy of the current values (read path: never touches the network). */
  get snapshot(): Readonly<PlugValues> {
    return { ...this.values };
  }

  /** What to keep in the accessory cache for the next start (the energy ledger has its own file). */
  get persisted(): PlugValues {
    return { ...this.values };
  }

  /** The outlet channels: `[0]` for a single plug; a strip's outlets 1..N, without its master (outlets.ts). */
  get outlets(): readonly number[] {
    return this.channelList;
  }

  /** A strip: outlets switched one by one, beside a master channel 0 that is not shown. */
  get isStrip(): boolean {
    return this.channelList[0] !== 0;
  }

  /** Whether an outlet is on (read path: never touches the network); channel 0 is the plug's relay (or master). */
  outletOn(channel: number): boolean {
    return channel === 0 || !this.isStrip ? this.values.on : (this.outletStates.get(channel) ?? false);
  }

  /** What the Meross app calls a strip's outlet, when the cloud said. */
  outletLabel(channel: number): OutletLabel | undefined {
    return this.labels.get(channel);
  }

  /** The Meross app's names for a strip's outlets (cloud sign-in); adapters name their outlets after them. */
  labelOutlets(labels: ReadonlyMap<number, OutletLabel>): void {
    const same = labels.size === this.labels.size && [...labels].every(([c, l]) => this.labels.get(c)?.name === l.name && this.labels.get(c)?.usb === l.usb);
    if (same) return;
    this.labels = new Map(labels);
    this.emit('outletLabels');
  }

  /** A strip's outlets and states for the accessory cache (`restoredOutlets` next time); undefined for a single plug. */
  get persistedOutlets(): Record<string, boolean> | undefined {
    return this.isStrip ? Object.fromEntries(this.channelList.map((c) => [String(c), this.outletOn(c)])) : undefined;
  }

  /**
   * The energy counter behind the Eve history: the ledger's lifetime Wh plus what the measured power added since
   * the meter was last read, never decreasing within a run. `metered` says the plug's own meter backs it, so a
   * jump after an outage is energy really used. Undefined while the plug is not answering or not yet read.
   */
  energyCounter(): { wh: number; metered: boolean } | undefined {
    if (this.reachability !== 'online' || !this.counterKnown) return undefined;
    this.counterHighWh = Math.max(this.counterHighWh, this.ledger.lifetimeWh + this.unreadWh);
    return { wh: this.counterHighWh, metered: this.client.abilities?.consumptionX === true };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    // 140 plugs started together would all read their meter (a 1–2 kB reply each) and load their ledger file in the
    // same second: the start-up memory peak. The first meter read (and with it the ledger load) lands at a random
    // point of the first minute instead, or of the energy interval if that is shorter; until then the values are
    // the accessory cache's.
    if (this.lastEnergyRead === -Infinity) {
      const spread = Math.min(this.options.energyPollIntervalMs, FIRST_ENERGY_SPREAD_MS);
      this.lastEnergyRead = this.now() - this.options.energyPollIntervalMs + Math.random() * spread;
    }
    // A short random start offset spreads many plugs so they do not all hit the network in the same tick.
    this.schedule(Math.round(Math.random() * Math.min(1000, this.options.pollIntervalMs / 10)));
  }

  /** Stops polling; resolves once the energy ledger is saved. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ledgerDoc?.flush();
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
    if (this.reachability !== 'offline') {
      if (!this.phased) {
        // The first poll runs at once for every plug; the second lands at a random point of the interval, so
        // 140 plugs started together do not stay in lockstep and poll in the same second forever after.
        this.phased = true;
        return Math.round(Math.random() * interval);
      }
      return withJitter(interval);
    }
    this.probeDelay = nextProbeDelay(interval, this.now() - this.outageStart, this.probeDelay || interval);
    return this.probeDelay;
  }

  private async runCycle(): Promise<void> {
    const generation = this.writeGeneration;
    try {
      let infoRead = false;
      if (this.reachability !== 'online' || this.now() - this.lastInfoRead >= (this.options.infoIntervalMs ?? 300_000)) {
        await this.readInfo(generation);
        infoRead = true;
      }
      const energyDue = this.now() - this.lastEnergyRead >= this.options.energyPollIntervalMs;
      // The ledger is needed for a meter read, and at every poll of a plug whose total is estimated from power.
      if (energyDue || this.client.abilities?.consumptionX !== true) await this.ledgerReady();
      // A strip without a meter is read by System.All anyway: the one just read serves this poll.
      const result = infoRead && this.isStrip && this.client.abilities?.electricity === false ? {} : await this.readState();
      if (this.stopped) return;
      // A write confirmed while this poll was on its way wins over what the poll saw before it.
      const changes: Partial<PlugValues> = {};
      if (generation === this.writeGeneration && result.relays) changes.on = this.takeRelays(result.relays);
      if (result.electricity) {
        const { watts, volts, amps } = result.electricity;
        Object.assign(changes, { watts, volts, amps });
      } else if (!(changes.on ?? this.values.on)) {
        Object.assign(changes, { watts: 0, amps: 0 });
      }
      this.markOnline();
      this.apply(changes);
      this.meterPower();
      this.checkClock();
      if (this.now() - this.lastEnergyRead >= this.options.energyPollIntervalMs) await this.readEnergy();
    } catch (error) {
      if (!this.stopped) this.markOffline(error);
    }
  }

  private async readInfo(generation: number): Promise<void> {
    if (!this.client.abilities) await this.client.ability();
    const info = await this.client.systemAll();
    this.lastInfoRead = this.now();
    this.info = info;
    this.learnOutlets(info);
    if (generation === this.writeGeneration) this.apply({ on: this.takeRelays(info.relays) });
    // The abilities are known now: Outlet In Use follows them (see apply()).
    else this.apply({});
    if (info.deviceTime !== undefined) this.calendar.observeClock(info.deviceTime, this.now());
    this.calendar.setZone(info.timezone, info.timeRules, this.now());
    // Identity first: the registry and the adapters act on it (a config entry known only by address takes over its
    // cloud twin and its name), and the optional requests below must not hold that up by a round trip or three.
    this.emit('info', info);
    await this.applyTimeZone(info);
    await this.applyLed();
    await this.introduce(info);
    await this.readOverTemp();
  }

  /** Where the plug lists OverTemp and is not pushing (then it reports changes itself), read it with the System info. */
  private async readOverTemp(): Promise<void> {
    if (!this.overTempReadable || this.stopped || this.push?.available === true || !this.client.abilities?.namespaces.has(OVERTEMP)) return;
    try {
      this.noteOverTemp(await this.client.overTemp());
    } catch (error) {
      if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
      this.overTempReadable = false;
      this.options.log.debug(`${this.name}: the plug does not answer over-temperature queries (${describe(error)}); only what it reports by itself over local push is logged.`);
    }
  }

  /** One line per change of the plug's over-temperature state; the first report of "normal" says nothing. */
  private noteOverTemp(state: OverTemp): void {
    const before = this.overTemp;
    this.overTemp = state;
    if (before ? before.hot === state.hot && before.cutOff === state.cutOff : !state.hot) return;
    if (!state.hot) this.options.log.info(`${this.name}: the plug's temperature is back to normal.`);
    else if (state.cutOff) {
      this.options.log.warn(
        `${this.name}: the plug is too hot and switched itself off (its over-temperature protection). Check what is plugged in ` +
          '(too high a load, a loose plug) and let it cool down before switching it on again.',
      );
    } else {
      this.options.log.warn(`${this.name}: the plug reports it is getting too hot (over-temperature warning). Check what is plugged in; it may switch itself off.`);
    }
  }

  /** Once per run: what the plug is and runs, and how well it hears the Wi-Fi (firmware updates have broken local control before). */
  private async introduce(info: SystemInfo): Promise<void> {
    if (this.introduced || this.stopped) return;
    this.introduced = true;
    let signal = '';
    if (this.client.abilities?.namespaces.has(RUNTIME)) {
      try {
        signal = `, Wi-Fi signal ${await this.client.wifiSignal()} %`;
      } catch (error) {
        if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
        this.options.log.debug(`${this.name}: could not read the Wi-Fi signal: ${describe(error)}`);
      }
    }
    const outlets = this.isStrip ? `, ${this.channelList.length} outlets` : '';
    this.options.log.info(`${this.name}: ${info.model.toUpperCase()} hardware ${info.hardwareVersion}, firmware ${info.firmwareVersion}${outlets}${signal}.`);
  }

  /** The user's `led` for this plug, sent only when the plug's differs (checked at most once a day, like the zone). */
  private async applyLed(): Promise<void> {
    const wanted = this.options.led;
    const now = this.now();
    if (wanted === undefined || this.stopped || now - this.ledCheckedAt < ZONE_CHECK_MS) return;
    if (!this.client.abilities?.namespaces.has(DNDMODE)) return;
    this.ledCheckedAt = now;
    try {
      if ((await this.client.ledOn()) === wanted) return;
      await this.client.setLed(wanted);
    } catch (error) {
      if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
      this.options.log.warn(`${this.name}: could not turn the status LED ${wanted ? 'on' : 'off'}: ${describe(error)}. It stays as it is.`);
      return;
    }
    this.options.log.info(`${this.name}: turned the status LED ${wanted ? 'on' : 'off'}, as configured.`);
  }

  /**
   * The user's `timezone` for this plug, sent only when the plug's own zone or rules differ from it (checked at most
   * once a day, since rules run out). A plug that refuses keeps polling; the log says so once.
   */
  private async applyTimeZone(info: SystemInfo): Promise<void> {
    const zone = this.options.timezone;
    const now = this.now();
    if (!zone || this.stopped || now - this.zoneCheckedAt < ZONE_CHECK_MS || this.calendar.clockIsUnset) return;
    this.zoneCheckedAt = now;
    const nowS = Math.floor((now + (this.calendar.clockOffsetMs ?? 0)) / 1000);
    const wanted = buildTimeRules(zone, nowS);
    const plugRules = info.timeRules ?? [];
    const agrees = info.timezone === zone && wanted.every(([start, offset]) => ruleOffsetAt(plugRules, Math.max(start, nowS)) === offset);
    if (agrees) return;
    try {
      await this.client.setTimeZone(zone, wanted);
    } catch (error) {
      if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
      this.options.log.warn(`${this.name}: could not set the plug's time zone to ${zone}: ${describe(error)}. Its days stay as they are.`);
      return;
    }
    this.options.log.info(
      `${this.name}: set the plug's time zone to ${zone} (it had ${info.timezone ? info.timezone : 'none'}), as configured; ` +
        'from now on it begins its energy day at midnight there.',
    );
    this.calendar.setZone(zone, wanted, now);
    info.timezone = zone;
    info.timeRules = wanted;
  }

  private async readEnergy(): Promise<void> {
    if (!this.client.abilities?.consumptionX) return;
    this.lastEnergyRead = this.now();
    let days: DailyEnergy[];
    try {
      days = await this.client.consumption();
    } catch (error) {
      if (error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
      // Some firmwares drop ConsumptionX queries (protocol.md §2.5); that must not mark the plug offline.
      this.options.log.debug(`${this.name}: energy read failed: ${describe(error)}`);
      return;
    }
    if (this.stopped) return;
    this.calendar.learnFrom(days);
    this.announceBooking();
    const report = this.ledger.merge(days, this.dayEvidence());
    this.unreadWh = 0;
    this.restartWitness();
    this.counterKnown = true;
    this.reportMerge(report);
    this.applyLedger();
    if (report.changed) this.ledgerDoc?.changed();
    this.options.log.debug(
      `${this.name}: meter read (${days.length} days): ${this.ledger.totalWh} Wh since the last reset, ${this.ledger.lifetimeWh} Wh in all.`,
    );
  }

  /** What the power readings allow the first figure of a new plug-local day to hold (see DayEvidence). */
  private dayEvidence(): DayEvidence {
    const now = this.now();
    const evidence: DayEvidence = {};
    const w = this.witness;
    const current = this.reachability === 'online' ? this.values.watts : 0;
    if (w && w.gapless && now - w.lastSampleMs <= this.maxHoldMs) {
      evidence.maxUsedWh = (Math.max(w.maxWatts, current) * POWER_HEADROOM * (now - w.sinceMs)) / 3_600_000;
    }
    if (this.wattsSeen !== undefined) {
      evidence.maxWatts = Math.max(this.wattsSeen, current) * POWER_HEADROOM;
      evidence.sinceMidnightMs = Math.max(0, now - this.calendar.midnightBefore(now));
    }
    return evidence;
  }

  private restartWitness(): void {
    const now = this.now();
    const watts = this.reachability === 'online' ? this.values.watts : 0;
    this.witness = { sinceMs: now, maxWatts: watts, lastSampleMs: now, gapless: this.reachability === 'online' };
  }

  /** Says once (and again when it changes) when the plug's day does not begin at this computer's midnight. */
  private announceBooking(): void {
    const now = this.now();
    const midnight = this.calendar.midnightBefore(now);
    const hostMidnight = new Date(now);
    hostMidnight.setHours(0, 0, 0, 0);
    const shift = Math.round((((midnight - hostMidnight.getTime()) % 86_400_000) + 86_400_000) % 86_400_000 / 60_000);
    const key = `${this.calendar.booking}:${shift}`;
    if (key === this.announcedBooking) return;
    const first = this.announcedBooking === '';
    this.announcedBooking = key;
    if (shift === 0 && first) return;
    const at = `${String(Math.floor(shift / 60)).padStart(2, '0')}:${String(shift % 60).padStart(2, '0')}`;
    const why =
      this.calendar.booking === 'utc'
        ? this.calendar.timeRules.length > 0
          ? 'its firmware books energy in UTC days whatever its time zone'
          : 'it has no time zone set, so it counts in UTC days'
        : `it keeps the time zone ${this.calendar.timezone || 'of its own rules'}`;
    this.options.log.info(
      `${this.name}: the plug's energy day begins at ${at} this computer's time (${why}). Daily figures follow the plug's ` +
        'day; totals are not affected. Set "timezone" for this plug to move its day.',
    );
  }

  private reportMerge(report: MergeReport): void {
    const { log } = this.options;
    if (report.becameCumulative) {
      log.warn(
        `${this.name}: this plug's firmware does not reset its daily energy meter at midnight; it keeps counting on from ` +
          'the day before. The total corrects for it: each day counts only what the plug used that day.',
      );
    }
    for (const c of report.carried) {
      if (c.how === 'assumed') {
        log.info(
          `${this.name}: the plug was not read around its midnight, so it cannot be told whether the first ${c.carriedWh} Wh ` +
            `it shows for ${c.date} were carried over from the day before; they are left out rather than counted twice ` +
            `(${c.date} counts ${c.countedWh} Wh so far).`,
        );
      } else if (this.ledger.midnight === 'cumulative' && !report.becameCumulative) {
        log.debug(`${this.name}: ${c.carriedWh} Wh carried over into ${c.date} left out; the day counts ${c.countedWh} Wh.`);
      } else {
        log.info(
          `${this.name}: the plug's energy meter did not reset at its midnight and carried ${c.carriedWh} Wh into ${c.date}; ` +
            `those are not counted again (${c.date} counts ${c.countedWh} Wh so far).`,
        );
      }
    }
    if (report.trustedReset) {
      log.debug(`${this.name}: ${report.trustedReset.date} began at ${report.trustedReset.wh} Wh; counted in full, as this plug resets at midnight.`);
    }
    if (report.missing) {
      const { from, to, days } = report.missing;
      log.warn(
        `${this.name}: the plug keeps only 30 days of energy and was not read for longer, so ${from} to ${to} ` +
          `(${days} day${days === 1 ? '' : 's'}) is missing from the total; it is left out, not estimated.`,
      );
    }
    if (report.restarted) {
      const { date, keptWh, wh } = report.restarted;
      log.info(
        `${this.name}: the plug's energy counter for ${date} started again at ${wh} Wh (power loss, reset or a new plug); ` +
          `the ${keptWh} Wh already counted that day are kept.`,
      );
    }
    if (report.ignored > 0) log.debug(`${this.name}: ignored ${report.ignored} energy entries (unset clock, zero or future date).`);
  }

  /**
   * Measured power between polls, time-weighted. It estimates the part of today the meter has not reported yet
   * and, on firmware without ConsumptionX, is the whole (estimated) total.
   */
  private meterPower(): void {
    const now = this.now();
    const watts = this.values.watts;
    this.wattsSeen = Math.max(this.wattsSeen ?? 0, watts);
    const w = this.witness;
    if (w) {
      if (now - w.lastSampleMs > this.maxHoldMs) w.gapless = false;
      w.lastSampleMs = now;
      w.maxWatts = Math.max(w.maxWatts, watts);
    }
    const wh = this.integrator.sample(now, watts);
    const abilities = this.client.abilities;
    if (!abilities || abilities.consumptionX) {
      this.unreadWh += wh;
      return;
    }
    // A plug without a meter at all (MSS110, MSS210 …) has no energy to count and no total to estimate.
    if (!abilities.electricity) return;
    if (!this.warnedEstimate) {
      this.warnedEstimate = true;
      this.options.log.info(
        `${this.name}: this firmware keeps no energy history (ConsumptionX), so the total is estimated from the ` +
          'measured power between polls, and misses whatever is used while Homebridge is not running.',
      );
    }
    this.counterKnown = true;
    if (wh <= 0) return;
    this.ledger.addEstimate(this.calendar.dateAt(now), wh);
    this.applyLedger();
    this.ledgerDoc?.changed(ESTIMATE_SAVE_DELAY_MS);
  }

  /** The ledger is the source of the energy values; an empty one leaves the cached values until it knows better. */
  private applyLedger(): void {
    const ledger = this.ledger;
    if (ledger.isEmpty) return;
    this.apply({
      totalKWh: ledger.totalWh / 1000,
      lifetimeKWh: Math.max(this.values.lifetimeKWh, ledger.lifetimeWh / 1000),
      resetTime: ledger.resetTime,
    });
  }

  /** Loads the saved ledger once the plug's uuid is known; resolves at once without a storage folder. */
  private ledgerReady(): Promise<void> {
    const dir = this.options.storageDir;
    const uuid = this.uuid;
    if (this.ledgerLoad) return this.ledgerLoad;
    if (!dir || !uuid) return Promise.resolve();
    const file = ledgerFile(dir, uuid);
    const log = { warn: (m: string) => this.options.log.warn(`${this.name}: ${m}`) };
    this.ledgerLoad = loadLedger(file, this.now, log).then((saved) => {
      if (saved) this.ledger = saved;
      this.ledgerDoc = ledgerDocument(file, () => this.ledger, log);
      this.applyLedger();
    });
    return this.ledgerLoad;
  }

  /**
   * Eve "Reset Total" at `at` (Unix seconds): from now on the total counts only what is used after this moment;
   * today's Wh at this instant is the offset for today. Saved at once.
   */
  async resetTotal(at: number): Promise<void> {
    await this.ledgerReady();
    const now = this.now();
    // The reset belongs to the plug's day at this instant; of the unread energy, only what was used since the plug's
    // midnight is that day's (the rest belongs to the day before, which the reset leaves behind in full).
    const midnight = this.calendar.midnightBefore(now);
    const since = this.witness?.sinceMs ?? now;
    const todayShare = since >= midnight || now <= since ? 1 : (now - midnight) / (now - since);
    this.ledger.resetAt(at, this.ledger.isEmpty && !this.counterKnown ? undefined : this.calendar.dateAt(now), this.unreadWh * todayShare);
    this.apply({ resetTime: at, totalKWh: this.ledger.totalWh / 1000 });
    this.ledgerDoc?.changed(0);
  }

  /**
   * Relay and meter, batched where the plug can. While the plug pushes its relay changes over MQTT, a poll reads
   * only the meter (never pushed, protocol.md §4.4) and the relay only every 5 minutes, as a health check.
   */
  private async readState(): Promise<{ relays?: ReadonlyMap<number, boolean>; electricity?: Electricity }> {
    const pushed = this.push?.available === true && this.client.abilities?.electricity === true;
    if (pushed && this.now() - this.lastRelayRead < PUSH_HEALTH_CHECK_MS) return { electricity: await this.client.electricity() };
    const result = await this.client.poll({ allChannels: this.isStrip });
    this.lastRelayRead = this.now();
    return result;
  }

  /**
   * Local MQTT push for this plug: requests go over `link` while it is up (HTTP stays the fallback, client.ts), relay
   * changes arrive through applyPush(), and the link calls pushChanged() whenever it comes up or goes down.
   */
  attachPush(link: AlternateTransport): void {
    this.push = link;
    this.client.transport = link;
  }

  /** The MQTT link came up or went down: read everything again now, over MQTT or, as the fallback, over HTTP. */
  pushChanged(): void {
    this.lastRelayRead = -Infinity;
    if (this.running) void (this.cycle ?? Promise.resolve()).then(() => this.schedule(0));
  }

  /** A relay change the plug pushed (its button, a timer, another app): shown at once, like a confirmed write. */
  applyPush(namespace: string, payload: Json): void {
    if (namespace === OVERTEMP) {
      try {
        this.noteOverTemp(decodeOverTemp(payload));
      } catch (error) {
        this.options.log.debug(`${this.name}: ignored a ${namespace} push: ${describe(error)}`);
      }
      return;
    }
    let relays: ReadonlyMap<number, boolean>;
    try {
      relays = decodeRelays(payload, namespace);
    } catch (error) {
      this.options.log.debug(`${this.name}: ignored a ${namespace} push: ${describe(error)}`);
      return;
    }
    // A poll already on its way saw the relay before this change; it must not undo it.
    this.writeGeneration++;
    this.markOnline();
    const on = this.takeRelays(relays);
    this.apply(on ? { on: true } : { on: false, watts: 0, amps: 0 });
    this.meterPower();
    // A strip's master switched on, with no word of its outlets (what firmware pushes then is not on record): read them.
    if (this.isStrip && on && this.channelList.every((c) => !relays.has(c)) && this.running) this.schedule(0);
  }

  /**
   * Takes the relay states a reply or push named: a strip's outlets one by one; returns channel 0 (the relay, or
   * the master). A strip's master reads on while any outlet is on; a reply that leaves it out is read that way.
   */
  private takeRelays(relays: ReadonlyMap<number, boolean>): boolean {
    if (!this.isStrip) return relays.get(0) ?? relays.values().next().value ?? this.values.on;
    let listed = false;
    for (const c of this.channelList) {
      const on = relays.get(c);
      if (on === undefined) continue;
      listed = true;
      this.setOutlet(c, on);
    }
    // The master alone (a push that names no outlet): off means every outlet is off; on says nothing about which.
    if (!listed && relays.get(0) === false) for (const c of this.channelList) this.setOutlet(c, false);
    return relays.get(0) ?? this.anyOutletOn();
  }

  private anyOutletOn(): boolean {
    return this.channelList.some((c) => this.outletStates.get(c) === true);
  }

  private setOutlet(channel: number, on: boolean): void {
    if (this.outletStates.get(channel) === on) return;
    this.outletStates.set(channel, on);
    this.emit('outlet', channel, on);
  }

  /** The outlets System.All lists; a change (first answer of a strip, or a cache that was wrong) is announced. */
  private learnOutlets(info: SystemInfo): void {
    const next = outletChannels(info.relays.keys());
    if (next.length === this.channelList.length && next.every((c, i) => c === this.channelList[i])) return;
    this.channelList = next;
    for (const c of [...this.outletStates.keys()]) if (!next.includes(c)) this.outletStates.delete(c);
    if (this.isStrip) for (const c of next) if (!this.outletStates.has(c)) this.outletStates.set(c, false);
    this.emit('outlets', next);
  }

  private checkClock(): void {
    const t = this.client.lastDeviceTime;
    if (t === undefined) return;
    this.calendar.observeClock(t, this.now());
    if (this.calendar.clockIsUnset) {
      if (this.warnedClock) return;
      this.warnedClock = true;
      this.options.log.warn(
        `${this.name}: the plug's clock is not set, so it reports 0 W and dates no energy until it gets the time. ` +
          'Make sure it can reach an NTP server (or the internet).',
      );
      return;
    }
    const off = this.calendar.clockOffsetMs ?? 0;
    // Whole seconds on the wire and the request's own latency: a few seconds off is not worth a word.
    if (Math.abs(off) <= CLOCK_TOLERANCE_MS || this.warnedClockOff) return;
    this.warnedClockOff = true;
    const minutes = Math.round(Math.abs(off) / 60_000);
    this.options.log.warn(
      `${this.name}: the plug's clock is ${minutes} minute${minutes === 1 ? '' : 's'} ${off > 0 ? 'ahead of' : 'behind'} this ` +
        `computer's, so its energy day turns over that much ${off > 0 ? 'earlier' : 'later'}. Totals stay right; make sure the ` +
        'plug can reach an NTP server (or the internet) to fix its clock.',
    );
  }

  /**
   * Sends a relay change now, ahead of queued polls: channel 0 (the plug's relay, or a strip's master: every outlet)
   * or one outlet of a strip. Writes are serialised; while one is on the wire, later requests for the same channel
   * collapse to the newest (last writer wins) and all callers get the outcome of the batch. A value changes only
   * once the plug confirmed it.
   */
  setOn(on: boolean, channel = 0): Promise<void> {
    this.writeTargets.set(channel, on);
    this.writing ??= this.drainWrites().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async drainWrites(): Promise<void> {
    for (let next = this.writeTargets.entries().next(); !next.done; next = this.writeTargets.entries().next()) {
      const [channel, target] = next.value;
      this.writeTargets.delete(channel);
      const what = channel === 0 || !this.isStrip ? '' : ` ${this.outletName(channel)}`;
      try {
        await this.client.setOn(target, { channel });
      } catch (error) {
        this.writeTargets.clear();
        if (error instanceof MerossError && !error.retryable) this.markOffline(error);
        this.options.log.warn(`${this.name}: could not switch${what} ${target ? 'on' : 'off'}: ${describe(error)}`);
        // The plug may have switched and only its answer got lost: read the relay now rather than show the old
        // state until the next scheduled poll (up to pollInterval later).
        if (this.running) this.schedule(0);
        throw error;
      }
      this.writeGeneration++;
      this.markOnline();
      let on = target;
      if (this.isStrip) {
        // The master switches every outlet; an outlet leaves the master on while any other is on.
        if (channel === 0) for (const c of this.channelList) this.setOutlet(c, target);
        else this.setOutlet(channel, target);
        on = this.anyOutletOn();
      }
      this.apply(on ? { on: true } : { on: false, watts: 0, amps: 0 });
      this.meterPower();
    }
  }

  /** An outlet as log lines name it: the Meross app's name, else "outlet N". */
  private outletName(channel: number): string {
    const label = this.labels.get(channel);
    return label ? `"${label.name}"` : `outlet ${channel}`;
  }

  private apply(changes: Partial<PlugValues>): void {
    const next = { ...this.values, ...changes };
    // A relay that is off draws nothing, whatever a reading taken around the switch said.
    if (!next.on) Object.assign(next, { watts: 0, amps: 0 });
    // A plug that cannot measure power is in use whenever it is on (what HomeKit users expect of a plain outlet).
    const measures = this.client.abilities?.electricity ?? true;
    next.inUse = next.on && (!measures || next.watts > this.options.outletInUseWatts);
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
    this.integrator.interrupt();
    if (this.witness) this.witness.gapless = false;
    if (this.reachability !== 'offline') {
      this.reachability = 'offline';
      this.outageStart = this.now();
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
