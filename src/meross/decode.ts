/**
 * Decoders from raw reply payloads to typed values in SI units. Pure functions: they take `unknown` (JSON from the
 * network) and either return clean values or throw `DecodeError`, which the client turns into a
 * MalformedReplyError naming the host. Shapes follow shared/traces (fw 1.1.x and 2.x).
 */
import { parseTimeRules, type TimeRule } from './time';
import { CONSUMPTIONX, ELECTRICITY, ENCRYPT_ECDHE, MULTIPLE, TOGGLE, TOGGLEX } from './namespaces';

export class DecodeError extends Error {}

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Json {
  if (!isObject(v)) throw new DecodeError(`${what} is not an object`);
  return v;
}

/** Numbers arrive as numbers, but obfuscated traces and some firmwares use numeric strings. */
function num(v: unknown, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new DecodeError(`${what} is not a number`);
  return n;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new DecodeError(`${what} is not a string`);
  return v;
}

function optStr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export interface Abilities {
  namespaces: ReadonlySet<string>;
  /** Which relay namespace this firmware speaks: fw 2.x/6.x `ToggleX`, fw 1.1.x `Toggle`. */
  toggle: typeof TOGGLEX | typeof TOGGLE | undefined;
  /** Max commands per `Appliance.Control.Multiple`, 0 when the plug has no Multiple (fw 1.x). */
  multipleMax: number;
  electricity: boolean;
  consumptionX: boolean;
  /** ECDHE listed: HTTP bodies must be encrypted (protocol.md §3.13, encryption.ts). */
  encrypted: boolean;
}

export function decodeAbility(payload: unknown): Abilities {
  const p = obj(payload, 'payload');
  const list = obj(p.ability, 'ability');
  const namespaces = new Set(Object.keys(list));
  const multiple = list[MULTIPLE];
  const maxCmd = isObject(multiple) && multiple.maxCmdNum !== undefined ? num(multiple.maxCmdNum, 'maxCmdNum') : 0;
  return {
    namespaces,
    toggle: namespaces.has(TOGGLEX) ? TOGGLEX : namespaces.has(TOGGLE) ? TOGGLE : undefined,
    multipleMax: namespaces.has(MULTIPLE) ? Math.max(0, Math.floor(maxCmd || 1)) : 0,
    electricity: namespaces.has(ELECTRICITY),
    consumptionX: namespaces.has(CONSUMPTIONX),
    encrypted: namespaces.has(ENCRYPT_ECDHE),
  };
}

export interface SystemInfo {
  uuid: string;
  mac: string;
  /** `hardware.type`, e.g. `mss310`. */
  model: string;
  subType?: string;
  hardwareVersion: string;
  firmwareVersion: string;
  chipType?: string;
  /** The plug's own idea of its LAN address (`firmware.innerIp`). */
  lanIp?: string;
  /** `firmware.homekitVersion`: set by HomeKit editions (fw 7.3.37 of the mss100 trace: "6.3"); see discovery/editions.ts. */
  homekitVersion?: string;
  /** Channel 0's relay: the plug's only relay, or a strip's master (on while any outlet is on). */
  on: boolean;
  /**
   * Every relay channel the plug lists (`digest.togglex`, protocol.md §3.5) and its state: `{0}` on a single plug; a
   * strip lists its master 0 and its outlets 1..N. Firmware 1.1.x has one relay, channel 0.
   */
  relays: ReadonlyMap<number, boolean>;
  /** Device clock, Unix seconds (tiny values mean the clock is not set, protocol.md §2.4). */
  deviceTime?: number;
  timezone?: string;
  /** The plug's UTC offsets (`time.timeRule`); empty when never set, which the plug takes as UTC. */
  timeRules?: TimeRule[];
}

export function decodeSystemAll(payload: unknown): SystemInfo {
  const all = obj(obj(payload, 'payload').all, 'all');
  const system = obj(all.system, 'all.system');
  const hardware = obj(system.hardware, 'hardware');
  const firmware = obj(system.firmware, 'firmware');
  const time = isObject(system.time) ? system.time : undefined;
  const relays = relaysFromAll(all);
  return {
    uuid: str(hardware.uuid, 'hardware.uuid'),
    mac: str(hardware.macAddress, 'hardware.macAddress').toLowerCase(),
    model: str(hardware.type, 'hardware.type'),
    subType: optStr(hardware.subType),
    hardwareVersion: str(hardware.version, 'hardware.version'),
    firmwareVersion: str(firmware.version, 'firmware.version'),
    chipType: optStr(hardware.chipType),
    lanIp: optStr(firmware.innerIp),
    homekitVersion: optStr(firmware.homekitVersion),
    on: relays.get(0) ?? [...relays.values()].some(Boolean),
    relays,
    deviceTime: time?.timestamp !== undefined ? num(time.timestamp, 'time.timestamp') : undefined,
    timezone: optStr(time?.timezone),
    timeRules: time ? parseTimeRules(time.timeRule) : undefined,
  };
}

/** fw 2.x/6.x: `digest.togglex[]`, one entry per channel; fw 1.1.x: `control.toggle`, the one relay. */
function relaysFromAll(all: Json): Map<number, boolean> {
  if (isObject(all.digest) && all.digest.togglex !== undefined) return channelStates(all.digest.togglex, 'digest.togglex');
  if (isObject(all.control) && all.control.toggle !== undefined) return new Map([[0, onoff(all.control.toggle, 'control.toggle')]]);
  throw new DecodeError('System.All has neither digest.togglex nor control.toggle');
}

/** One `{channel, onoff}` item; a missing channel is channel 0 (fw 2.1.x objects have it, some tools leave it out). */
function channelItem(v: unknown, what: string): [number, boolean] {
  const item = obj(v, what);
  const channel = item.channel === undefined ? 0 : num(item.channel, `${what}.channel`);
  if (!Number.isInteger(channel) || channel < 0) throw new DecodeError(`${what}.channel is ${channel}`);
  return [channel, onoff(item, what)];
}

/** ToggleX comes as an object or a list of channels (protocol.md §3.5): every channel it names, with its state. */
function channelStates(v: unknown, what: string): Map<number, boolean> {
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) throw new DecodeError(`${what} is an empty list`);
  return new Map(items.map((item) => channelItem(item, what)));
}

function onoff(v: unknown, what: string): boolean {
  const value = num(obj(v, what).onoff, `${what}.onoff`);
  if (value !== 0 && value !== 1) throw new DecodeError(`${what}.onoff is ${value}`);
  return value === 1;
}

/** The relays a Toggle/ToggleX reply or push names (Toggle, fw 1.1.x: only channel 0). */
export function decodeRelays(payload: unknown, namespace: string): Map<number, boolean> {
  const p = obj(payload, 'payload');
  return namespace === TOGGLEX ? channelStates(p.togglex, 'togglex') : new Map([[0, onoff(p.toggle, 'toggle')]]);
}

/** Channel 0's relay from a Toggle/ToggleX reply or push; a list without channel 0 gives its first entry. */
export function decodeToggle(payload: unknown, namespace: string): boolean {
  const relays = decodeRelays(payload, namespace);
  return relays.get(0) ?? (relays.values().next().value as boolean);
}

export interface Electricity {
  watts: number;
  volts: number;
  amps: number;
}

/** Raw units: power mW, voltage dV (0.1 V), current mA. */
export function decodeElectricity(payload: unknown): Electricity {
  const e = obj(obj(payload, 'payload').electricity, 'electricity');
  const mw = num(e.power, 'electricity.power');
  const dv = num(e.voltage, 'electricity.voltage');
  const ma = num(e.current, 'electricity.current');
  if (mw < 0 || dv < 0 || ma < 0) throw new DecodeError('negative electricity reading');
  return { watts: round(mw / 1000, 3), volts: round(dv / 10, 1), amps: round(ma / 1000, 3) };
}

/** `Appliance.System.DNDMode`: `mode` 1 means the status LED is off (protocol.md §3.10). */
export function decodeLedOn(payload: unknown): boolean {
  const mode = num(obj(obj(payload, 'payload').DNDMode, 'DNDMode').mode, 'DNDMode.mode');
  if (mode !== 0 && mode !== 1) throw new DecodeError(`DNDMode.mode is ${mode}`);
  return mode === 0;
}

/** `Appliance.System.Runtime`: the Wi-Fi signal in % (protocol.md §3.11). */
export function decodeWifiSignal(payload: unknown): number {
  const signal = num(obj(obj(payload, 'payload').runtime, 'runtime').signal, 'runtime.signal');
  if (signal < 0 || signal > 100) throw new DecodeError(`runtime.signal is ${signal}`);
  return signal;
}

export interface DailyEnergy {
  /** Device-local day, `YYYY-MM-DD`. */
  date: string;
  /** Unix seconds of the entry's last update. */
  time: number;
  wh: number;
}

/**
 * ConsumptionX is a ring buffer: unsorted, possibly with repeated days (protocol.md §3.7). Returns one entry per
 * day, sorted by date; for a repeated day the most recently updated entry wins.
 */
export function decodeConsumption(payload: unknown): DailyEnergy[] {
  const list = obj(payload, 'payload').consumptionx;
  if (!Array.isArray(list)) throw new DecodeError('consumptionx is not a list');
  const byDate = new Map<string, DailyEnergy>();
  for (const raw of list) {
    const item = obj(raw, 'consumptionx item');
    const date = str(item.date, 'consumptionx.date');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new DecodeError(`consumptionx.date "${date.slice(0, 20)}"`);
    const entry = { date, time: num(item.time ?? 0, 'consumptionx.time'), wh: num(item.value, 'consumptionx.value') };
    if (entry.wh < 0) throw new DecodeError('negative consumptionx.value');
    const seen = byDate.get(date);
    if (!seen || entry.time > seen.time || (entry.time === seen.time && entry.wh > seen.wh)) byDate.set(date, entry);
  }
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/** What `Appliance.Control.OverTemp` reports: `value` 1 too hot, 2 normal; `type` 2 the firmware cut the relay. */
export interface OverTemp {
  hot: boolean;
  /** The plug switched itself off to protect itself (type 2), rather than warning early (type 1). */
  cutOff: boolean;
}

/**
 * `Appliance.Control.OverTemp`, as a GET reply (a list per channel) or as the plug sends it on a change (an object):
 * `{"overTemp":[{"channel":0,"value":1,"type":2,"timestamp":…}]}`. No trace shows it; the shape is Doekse/node-meross-sdk's
 * (`decodeControlOverTemp`) and merossiot's `OverTempValueCodec`/`OverTempTypeCodec` (see simulator/overtemp.ts).
 */
export function decodeOverTemp(payload: unknown): OverTemp {
  const raw = obj(payload, 'payload').overTemp;
  const list = Array.isArray(raw) ? raw : [raw];
  const item = obj(list.find((i) => isObject(i) && (i.channel ?? 0) === 0) ?? list[0], 'overTemp');
  const value = num(item.value, 'overTemp.value');
  if (value !== 1 && value !== 2) throw new DecodeError(`overTemp.value is ${value}`);
  return { hot: value === 1, cutOff: value === 1 && item.type !== undefined && num(item.type, 'overTemp.type') === 2 };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
