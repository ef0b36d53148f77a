import { sign, type Header, type Method } from '../meross/envelope';
import { buildTimeRules, parseTimeRules, ruleOffsetAt, type TimeRule } from '../meross/time';
import { Relays, type DigestItem } from './channels';
import { EnergyMeter } from './consumption';
import { AP_BSSID, PROFILES, TIMEZONE, TIME_RULE_LONDON, WIFI_SIGNAL, WIFI_SSID_B64, type FirmwareProfile } from './fixtures';
import { MODEL_PROFILES } from './profiles/family';
import { debugPayload, firmwarePayload, hardwarePayload } from './system';
import { overTempConfigSet, overTempGet, type OverTempConfig } from './overtemp';
import type { ConsumptionEntry, Firmware, MidnightMode, Model, OverTempState, OverTempType, Readings, RequestRecord, ToggleEvent, ToggleSource } from './types';
import { MULTIPLE } from '../meross/namespaces';

/** What the plug does with one request: answer with a body, or close the connection without a word. */
export type Outcome = { kind: 'reply'; body: string } | { kind: 'drop'; reason: string };

export interface ParsedHeader {
  messageId: string;
  namespace: string;
  method: string;
  raw: Payload;
}

export interface Parsed {
  kind: 'parsed';
  record: RequestRecord;
  header: ParsedHeader;
  payload: unknown;
}

export interface DeviceInit {
  firmware: Firmware;
  /** `mss110` takes profiles/mss110.ts instead of the MSS310 profile of `firmware`. */
  model?: Model;
  /** Namespaces left out of the profile's ability list (and so unanswered): a device the plugin cannot drive. */
  withoutAbilities?: readonly string[];
  uuid: string;
  mac: string;
  key: string;
  /** Reported as `innerIp`. */
  host: string;
  on: boolean;
  readings: Readings;
  maxReplyBytes: number;
  now: () => number;
  /** Every channel one change moved (a strip's master moves its outlets and the other way round), in channel order. */
  onToggle: (events: ToggleEvent[]) => void;
  /** IANA zone the plug reports (default Europe/London with the 2.1.17 trace's rules); '' for none (mss310r trace). */
  timezone?: string;
  /** Explicit `timeRule` (overrides the one built for `timezone`), e.g. an arbitrary offset `[[0, 19800, 0]]`. */
  timeRule?: TimeRule[];
  /** Which days ConsumptionX books: the plug's local ones, or UTC ones whatever its zone (fw 1.1.18 trace). */
  dayBooking?: 'local' | 'utc';
  midnight?: MidnightMode;
  /** The device clock minus the host's, ms. */
  clockSkewMs?: number;
  /** The device clock gains this many ms per second of host time (a drifting clock without NTP). */
  clockDriftPpm?: number;
}

type Payload = Record<string, unknown>;
interface Handler {
  /** Returns undefined for a request the firmware does not answer (→ dropped connection). */
  get?: (payload: Payload) => Payload | undefined;
  /** Returns undefined for a payload the firmware would not accept (→ dropped connection). */
  set?: (payload: Payload) => Payload | undefined;
}

const ACK: Partial<Record<string, Method>> = { GET: 'GETACK', SET: 'SETACK', PUSH: 'PUSH' };
/** ToggleX GET channel meaning "every channel" (Doekse/node-meross-sdk: decimal 65535, not 0xffffffff). */
const ALL_CHANNELS = 0xffff;
/** The unsynced-clock fault pretends the plug booted this long ago (the fw 1.1.13 fixture says 40). */
const UNSYNCED_UPTIME_S = 40;

function isObject(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerOf(message: Payload): ParsedHeader | undefined {
  const h = message.header;
  if (!isObject(h) || typeof h.messageId !== 'string' || typeof h.namespace !== 'string' || typeof h.method !== 'string') {
    return undefined;
  }
  return { messageId: h.messageId, namespace: h.namespace, method: h.method, raw: h };
}

function onoffOf(v: unknown): boolean | undefined {
  if (!isObject(v)) return undefined;
  return v.onoff === 1 ? true : v.onoff === 0 ? false : undefined;
}

/**
 * The plug's state and its namespace handlers, with no sockets: `handle` turns one request body into what
 * the firmware would send back. Network-level faults are the server's business, not this class's.
 */
export class PlugDevice {
  readonly profile: FirmwareProfile;
  readonly meter: EnergyMeter;
  readonly relays: Relays;
  dndMode = 0;
  overTemp: OverTempState = { active: false, type: 'early-warning', timestamp: 0 };
  overTempConfig: OverTempConfig;
  timezone: string;
  private rules: TimeRule[];
  private rawTimeRule: unknown[];
  private skewMs: number;
  private readonly driftPpm: number;
  private readonly dayBooking: 'local' | 'utc';
  /** Fault switches, set by the server. */
  unsynced = false;
  impostor?: { uuid: string; mac: string };
  /** Setup (pairing) mode: the firmware does not check signatures there (protocol.md §3.12). */
  skipSignCheck = false;

  private configured: Readings;
  private readonly startMs: number;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly init: DeviceInit) {
    const profile = init.model && init.model !== 'mss310' ? MODEL_PROFILES[init.model].profile : PROFILES[init.firmware];
    const left = init.withoutAbilities ?? [];
    this.profile = left.length === 0 ? profile : { ...profile, ability: Object.fromEntries(Object.entries(profile.ability).filter(([ns]) => !left.includes(ns))) };
    this.startMs = init.now();
    this.skewMs = init.clockSkewMs ?? 0;
    this.driftPpm = init.clockDriftPpm ?? 0;
    this.timezone = init.timezone ?? TIMEZONE;
    this.rawTimeRule =
      init.timeRule ?? (init.timezone === undefined ? TIME_RULE_LONDON.map((r) => [...r]) : init.timezone ? buildTimeRules(init.timezone, Math.floor(this.deviceMs() / 1000), 3) : []);
    this.rules = parseTimeRules(this.rawTimeRule);
    // The fw 1.1.18 trace books UTC days although its zone is Europe/Dublin (its entries end at 23:5x UTC).
    this.dayBooking = init.dayBooking ?? (init.firmware === 1 ? 'utc' : 'local');
    this.configured = { ...init.readings };
    this.relays = new Relays(this.profile.outlets ?? 0, init.on, Math.floor(this.deviceMs() / 1000) - 3 * 3600);
    this.overTempConfig = { ...(this.profile.overTempConfig ?? { enable: 1, type: 1 }) };
    // Six hours a day at the configured load gives day values in the range of the traces (300–600 Wh).
    const offsetAt = (utcS: number): number => (this.dayBooking === 'utc' ? 0 : ruleOffsetAt(this.rules, utcS));
    this.meter = new EnergyMeter(this.deviceMs(), Math.max(1, init.readings.watts * 6), offsetAt, init.midnight ?? 'reset');
    const all = this.buildHandlers();
    this.handlers = Object.fromEntries(Object.entries(all).filter(([ns]) => ns in this.profile.ability));
  }

  get uuid(): string {
    return this.impostor?.uuid ?? this.init.uuid;
  }

  /** Channel 0: the relay of a single plug, the master of a strip. */
  get relayOn(): boolean {
    return this.relays.isOn(0);
  }

  /** Device seconds of channel 0's last change. */
  get lmTime(): number {
    return this.relays.lmTime(0);
  }

  get mac(): string {
    return this.impostor?.mac ?? this.init.mac;
  }

  /** The signing key; Appliance.Config.Key replaces it when the plug is paired. */
  get key(): string {
    return this.init.key;
  }

  setKey(key: string): void {
    this.init.key = key;
  }

  /** The device clock in ms: the host's plus its skew and drift. */
  deviceMs(): number {
    const now = this.init.now();
    return now + this.skewMs + ((now - this.startMs) * this.driftPpm) / 1e6;
  }

  /** The device clock in seconds: wall time once synced, uptime-like before. */
  seconds(): number {
    if (this.unsynced) return UNSYNCED_UPTIME_S + Math.floor((this.init.now() - this.startMs) / 1000);
    return Math.floor(this.deviceMs() / 1000);
  }

  get clockSkewMs(): number {
    return this.skewMs;
  }

  /**
   * Moves the device clock to `skewMs` off the host's. Forward, the meter books nothing for the skipped time (as if
   * the load were off) but every midnight in it happens, so a test crosses the plug's midnight in an instant.
   */
  setClockSkew(skewMs: number): void {
    this.accrue();
    this.skewMs = skewMs;
    this.meter.jump(this.deviceMs());
  }

  get timeRule(): unknown[] {
    return this.rawTimeRule;
  }

  setTimeZone(timezone: string, timeRule: unknown[]): void {
    this.accrue();
    this.timezone = timezone;
    this.rawTimeRule = timeRule;
    this.rules = parseTimeRules(timeRule);
  }

  /** What Electricity reports now, in SI units. */
  readings(): Readings {
    if (this.unsynced) return { watts: 0, volts: 0, amps: 0 };
    if (!this.relayOn) return { watts: 0, volts: this.configured.volts, amps: 0 };
    return { ...this.configured };
  }

  setReadings(r: Partial<Readings>): void {
    this.accrue();
    this.configured = { ...this.configured, ...r };
  }

  /**
   * Switches one channel (a strip's master switches all outlets, see channels.ts). Returns whether anything changed;
   * only a change moves lmTime and emits 'toggle', once per channel that changed.
   */
  setRelay(on: boolean, source: ToggleSource, channel = 0): boolean {
    this.accrue();
    const changed = this.relays.set(channel, on, this.seconds());
    if (changed.length === 0) return false;
    this.init.onToggle(changed.map((c) => ({ on: this.relays.isOn(c), source, channel: c })));
    return true;
  }

  /**
   * An over-temperature report (overtemp.ts). Type `shutoff-relay` means the firmware cut the power: every channel
   * goes off (source 'local'). Returns the new state.
   */
  setOverTemp(active: boolean, type: OverTempType): OverTempState {
    this.overTemp = { active, type, timestamp: this.seconds() };
    if (active && type === 'shutoff-relay') this.setRelay(false, 'local', 0);
    return this.overTemp;
  }

  consumption(): ConsumptionEntry[] {
    this.accrue();
    return this.meter.entries;
  }

  /** Energy is integrated lazily, at the configured load while on, whenever something reads or changes it. */
  private accrue(): void {
    this.meter.advance(this.deviceMs(), this.relayOn ? this.configured.watts : 0);
  }

  /**
   * First half of handling a request: what it is (for the request log), without acting on it yet, so the
   * server can report the request before any side effect such as a 'toggle' event.
   */
  parse(body: string): Parsed | Extract<Outcome, { kind: 'drop' }> {
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      return { kind: 'drop', reason: 'body is not JSON' };
    }
    const header = isObject(message) ? headerOf(message) : undefined;
    if (!isObject(message) || !header) return { kind: 'drop', reason: 'missing or incomplete header' };
    const payload = message.payload ?? {};
    const record: RequestRecord = {
      namespace: header.namespace,
      method: header.method,
      payload,
      at: this.init.now(),
      signOk: this.signOk(header.raw),
    };
    const items = isObject(payload) && Array.isArray(payload.multiple) ? payload.multiple : undefined;
    if (header.namespace === MULTIPLE && items) {
      record.inner = [];
      for (const item of items) {
        const h = isObject(item) ? headerOf(item) : undefined;
        if (isObject(item) && h) {
          const signOk = this.signOk(h.raw);
          record.inner.push({ namespace: h.namespace, method: h.method, payload: item.payload ?? {}, at: record.at, signOk });
        }
      }
    }
    return { kind: 'parsed', record, header, payload };
  }

  /** Second half: act on the request and produce what goes on the wire. */
  execute(parsed: Parsed): Outcome {
    const { header: h, payload, record } = parsed;
    if (!record.signOk && !this.skipSignCheck) {
      const header = this.header(h.messageId, h.namespace, 'ERROR', true);
      const reply = { header, payload: { error: { code: 5001, detail: 'sign error' } } };
      return { kind: 'reply', body: JSON.stringify(reply) };
    }
    if (h.namespace === MULTIPLE && MULTIPLE in this.profile.ability) return this.multiple(h.messageId, h.method, payload);
    const result = isObject(payload) ? this.dispatch(h.namespace, h.method, payload) : undefined;
    if (!result) return { kind: 'drop', reason: `unsupported ${h.method} ${h.namespace}` };
    const reply = { header: this.header(h.messageId, h.namespace, result.method, true), payload: result.payload };
    return { kind: 'reply', body: JSON.stringify(reply) };
  }

  private signOk(h: Payload): boolean {
    const ts = h.timestamp;
    if (typeof h.sign !== 'string' || typeof h.messageId !== 'string') return false;
    if (typeof ts !== 'number' && !(typeof ts === 'string' && /^\d+$/.test(ts))) return false;
    return sign(h.messageId, this.init.key, Number(ts)) === h.sign.toLowerCase();
  }

  /** A reply or push header as this plug signs it (MQTT mode builds its pushes with it too). */
  header(messageId: string, namespace: string, method: Method, outer: boolean): Header {
    const timestamp = this.seconds();
    const header: Header = {
      messageId,
      namespace,
      method,
      payloadVersion: 1,
      from: `/appliance/${this.uuid}/publish`,
      timestamp,
      timestampMs: Math.floor(this.deviceMs()) % 1000,
      sign: sign(messageId, this.init.key, timestamp),
    };
    // The 2.1.17 trace shows inner Multiple headers without `uuid`; only the outer one carries it.
    if (outer && this.profile.headerUuid) header.uuid = this.uuid;
    return header;
  }

  private dispatch(namespace: string, method: string, payload: Payload): { method: Method; payload: Payload } | undefined {
    const handler = this.handlers[namespace];
    const ack = ACK[method];
    if (!handler || !ack) return undefined;
    const fn = method === 'SET' ? handler.set : handler.get;
    const out = fn?.(payload);
    return out ? { method: ack, payload: out } : undefined;
  }

  private multiple(messageId: string, method: string, payload: unknown): Outcome {
    const items = isObject(payload) ? payload.multiple : undefined;
    if (method !== 'SET' || !Array.isArray(items)) return { kind: 'drop', reason: 'malformed Multiple' };
    const maxCmdNum = this.profile.ability[MULTIPLE].maxCmdNum;
    if (items.length > maxCmdNum) return { kind: 'drop', reason: `Multiple with ${items.length} > ${maxCmdNum} items` };
    const replies: Payload[] = [];
    const parsed = items.map((item: unknown) => {
      const h = isObject(item) ? headerOf(item) : undefined;
      return isObject(item) && h ? { ...h, payload: item.payload ?? {} } : undefined;
    });
    for (const p of parsed) {
      if (!p || p.namespace === MULTIPLE || !isObject(p.payload)) return { kind: 'drop', reason: 'malformed Multiple item' };
      const result = this.dispatch(p.namespace, p.method, p.payload);
      if (!result) return { kind: 'drop', reason: `unsupported ${p.method} ${p.namespace} in Multiple` };
      replies.push({ header: this.header(p.messageId, p.namespace, result.method, false), payload: result.payload });
    }
    const body = JSON.stringify({ header: this.header(messageId, MULTIPLE, 'SETACK', true), payload: { multiple: replies } });
    // Like fw 2.1.17, the items have already been executed when the reply turns out too big to send.
    const size = Buffer.byteLength(body);
    const max = this.init.maxReplyBytes;
    if (size > max) return { kind: 'drop', reason: `Multiple reply of ${size} B > ${max} B` };
    return { kind: 'reply', body };
  }

  private timePayload(): Payload {
    if (this.unsynced) return { timestamp: this.seconds(), timezone: '', timeRule: [] };
    return { timestamp: this.seconds(), timezone: this.timezone, timeRule: this.timeRule };
  }

  /** One channel's ToggleX item, for pushes. */
  toggleItem(channel: number): DigestItem {
    return this.relays.item(channel);
  }

  private all(): Payload {
    const system = {
      hardware: hardwarePayload(this.profile, this.uuid, this.mac),
      firmware: firmwarePayload(this.profile, this.init.host),
      time: this.timePayload(),
      online: { status: 1 },
    };
    const onoff = this.relayOn ? 1 : 0;
    if (this.init.firmware === 1) {
      return { all: { system, control: { toggle: { onoff, lmTime: this.lmTime }, trigger: [], timer: [] } } };
    }
    // Every channel, as the MSS425E digest shows them (MerossIot tests/fixtures/handle_update/mss425e.json).
    return { all: { system, digest: { togglex: this.relays.digest(), triggerx: [], timerx: [] } } };
  }

  private electricity(): Payload {
    const r = this.readings();
    const e: Payload = {
      channel: 0,
      current: Math.round(r.amps * 1000),
      voltage: Math.round(r.volts * 10),
      power: Math.round(r.watts * 1000),
    };
    if (this.profile.calibration) e.config = { ...this.profile.calibration };
    return { electricity: e };
  }

  private consumptionX(): Payload {
    if (this.unsynced) return { consumptionx: [{ date: '1970-01-01', time: this.seconds(), value: 0 }] };
    return { consumptionx: this.consumption().map((e) => ({ date: e.date, time: e.time, value: e.value })) };
  }

  private debug(): Payload {
    // The simulated plug pretends it booted an hour before the simulator started.
    const uptimeS = Math.floor((this.init.now() - this.startMs) / 1000) + 3600;
    return debugPayload(this.profile, this.init.firmware === 1, this.init.host, uptimeS, this.seconds());
  }

  /**
   * ToggleX GET on a strip. The peers disagree on nothing but say little:
   * - without a channel (`{"togglex":[]}` or `{}`, as the MSS310 is polled) the 2.x firmware answers one channel,
   *   channel 0, in the object form of the MSS310 2.1.x traces: meross_lan (`meross_device.py`, issue #33) found
   *   that "the multiplug mss425 doesnt publish the full switch list state through NS_CNTRL_TOGGLEX" and polls
   *   System.All for strips instead;
   * - `{"togglex":{"channel":N}}` answers that channel as an object; `{"togglex":{"channel":65535}}` answers the
   *   list of every channel (Doekse/node-meross-sdk `src/protocol/codecs/togglex.ts`: "GET channel 0xffff means
   *   every channel … Single-channel GETACK is an object; 0xffff GETACK is an array").
   * The top-level stray `channel` echoes the channel answered, as the MSS310 traces show `channel: 0` for channel 0
   * (the value beside the full list is a guess). Not seen in any strip capture: uncertain.
   */
  private stripToggleXGet(p: Payload): Payload | undefined {
    const asked: unknown = Array.isArray(p.togglex) ? p.togglex[0] : p.togglex;
    const channel = isObject(asked) && asked.channel !== undefined ? asked.channel : 0;
    if (channel === ALL_CHANNELS) return { channel: ALL_CHANNELS, togglex: this.relays.digest() };
    if (typeof channel !== 'number' || !this.relays.has(channel)) return undefined;
    return { channel, togglex: this.relays.item(channel) };
  }

  /**
   * ToggleX SET on a strip: `{"togglex":{"channel":N,"onoff":0|1}}` switches channel N (homebridge-meross
   * `outlet-multi.js`, MerossIot `ToggleXMixin.async_turn_on(channel)`); without `channel` it is channel 0, the
   * whole strip (the first MerossIot Mss425e `turn_on` sent `{"togglex":{"onoff":1}}`). A list applies each item in
   * order (meross_lan's emulator `_handler_default` does so for list payloads). An unknown channel or a malformed
   * item drops the connection, as this simulator treats every payload the firmware would not take; what the real
   * strip does with channel 9 is not documented.
   */
  private stripToggleXSet(p: Payload): Payload | undefined {
    const list: unknown[] = Array.isArray(p.togglex) ? p.togglex : [p.togglex];
    const items: Array<{ channel: number; on: boolean }> = [];
    for (const t of list) {
      const on = onoffOf(t);
      const channel = isObject(t) && t.channel !== undefined ? t.channel : 0;
      if (on === undefined || typeof channel !== 'number' || !this.relays.has(channel)) return undefined;
      items.push({ channel, on });
    }
    if (items.length === 0) return undefined;
    for (const { channel, on } of items) this.setRelay(on, 'request', channel);
    return {};
  }

  private buildHandlers(): Record<string, Handler> {
    const toggleState = (): Payload => ({ onoff: this.relayOn ? 1 : 0, lmTime: this.lmTime });
    return {
      'Appliance.System.All': { get: () => this.all() },
      'Appliance.System.Ability': { get: () => ({ payloadVersion: 1, ability: this.profile.ability }) },
      'Appliance.System.Hardware': { get: () => ({ hardware: hardwarePayload(this.profile, this.uuid, this.mac) }) },
      'Appliance.System.Firmware': { get: () => ({ firmware: firmwarePayload(this.profile, this.init.host) }) },
      'Appliance.System.Online': { get: () => ({ online: { status: 1 } }) },
      'Appliance.System.Debug': { get: () => this.debug() },
      'Appliance.System.Runtime': { get: () => ({ runtime: { signal: WIFI_SIGNAL } }) },
      'Appliance.System.Position': { get: () => ({ position: { longitude: 0, latitude: 0 } }) },
      'Appliance.System.Time': {
        get: () => ({ time: this.timePayload() }),
        set: (p) => {
          if (!isObject(p.time)) return undefined;
          this.setTimeZone(typeof p.time.timezone === 'string' ? p.time.timezone : this.timezone, Array.isArray(p.time.timeRule) ? p.time.timeRule : this.rawTimeRule);
          return {};
        },
      },
      'Appliance.System.DNDMode': {
        get: () => ({ DNDMode: { mode: this.dndMode } }),
        set: (p) => {
          const mode = isObject(p.DNDMode) ? p.DNDMode.mode : undefined;
          if (mode !== 0 && mode !== 1) return undefined;
          this.dndMode = mode;
          return {};
        },
      },
      'Appliance.Config.WifiList': {
        get: () => ({
          wifiList: [{ ssid: WIFI_SSID_B64, bssid: AP_BSSID, signal: WIFI_SIGNAL, channel: 6, encryption: 6, cipher: 3 }],
        }),
      },
      'Appliance.Control.Toggle': {
        get: () => ({ toggle: toggleState() }),
        set: (p) => {
          const on = onoffOf(p.toggle);
          if (on === undefined) return undefined;
          this.setRelay(on, 'request');
          return {};
        },
      },
      'Appliance.Control.ToggleX': this.relays.isStrip
        ? { get: (p) => this.stripToggleXGet(p), set: (p) => this.stripToggleXSet(p) }
        : {
            // Object form with a stray top-level channel, as the 2.1.4 and 2.1.17 plugs answer; fw 7.3.37 sends a list.
            get: () =>
              this.profile.toggleXList
                ? { channel: 4294967295, togglex: [{ channel: 0, ...toggleState() }] }
                : { channel: 0, togglex: { channel: 0, ...toggleState() } },
            set: (p) => {
              const list: unknown[] = Array.isArray(p.togglex) ? p.togglex : [p.togglex];
              const item = list.find((t) => isObject(t) && (t.channel === undefined || t.channel === 0));
              const on = onoffOf(item);
              if (on === undefined) return undefined;
              this.setRelay(on, 'request');
              return {};
            },
          },
      'Appliance.Config.OverTemp': {
        get: () => ({ overTemp: { ...this.overTempConfig } }),
        set: (p) => {
          const config = overTempConfigSet(p, this.overTempConfig);
          if (!config) return undefined;
          this.overTempConfig = config;
          return {};
        },
      },
      'Appliance.Control.OverTemp': { get: (p) => overTempGet(p, this.overTemp) },
      'Appliance.Control.Timer': { get: () => ({ timer: [] }) },
      'Appliance.Control.Trigger': { get: () => ({ trigger: [] }) },
      'Appliance.Control.TimerX': { get: () => ({ digest: {}, timerx: {} }) },
      'Appliance.Control.TriggerX': { get: () => ({ digest: {}, triggerx: {} }) },
      'Appliance.Digest.TimerX': { get: () => ({ digest: [] }) },
      'Appliance.Digest.TriggerX': { get: () => ({ digest: [] }) },
      'Appliance.Control.Electricity': { get: () => this.electricity() },
      'Appliance.Control.ConsumptionX': { get: () => this.consumptionX() },
      'Appliance.Control.ConsumptionConfig': { get: () => ({ config: { ...this.profile.calibration } }) },
      'Appliance.Encrypt.Suite': { get: () => ({ suite: { ...this.profile.suite } }) },
    };
  }
}
