/**
 * Our own Eve history log (shared/eve.md §3–§5): the numbered entries of one outlet and the transfer the Eve app
 * runs to fetch them. Pure logic with an injected clock and no HAP types, so every frame can be tested byte by byte;
 * history-service.ts wires it to the characteristics and to a file.
 */
import {
  END_OF_ENTRIES,
  ENTRIES_PER_READ,
  clampU16,
  decodeHistoryRequest,
  encodeOnEntry,
  encodePowerEntry,
  encodeReferenceEntry,
  encodeStatus,
} from './history-frames';

/** One entry every 10 minutes: what the Eve app expects, or it draws holes. */
export const HISTORY_INTERVAL_S = 600;
/** 28 days of 10-minute entries, as both reference implementations keep. */
export const MEMORY_SIZE = 4032;
/** A clock before this is not set yet (a Pi without a real-time clock before NTP): no entries then. */
const EARLIEST_PLAUSIBLE_S = Date.UTC(2020, 0, 1) / 1000;
/** A step this much longer than the interval means the counter was not followed in between. */
const LATE_FACTOR = 1.5;

export type HistoryEntry = { time: number; deciWatts: number } | { time: number; on: boolean };

/** What the energy counter said when the last power entry was written. */
export interface Baseline {
  time: number;
  wh: number;
  metered: boolean;
}

export interface EnergyCounter {
  wh: number;
  /** Backed by the plug's own meter: energy across a gap is real, not a guess. */
  metered: boolean;
}

/**
 * The saved log (`history-<uuid>.json`). Version 2 packs the entries, oldest first and ending with `lastEntry`, into
 * one base64 string of 7-byte records: seconds since `initialTime` (u32 LE), the value (u16 LE: 0.1 W for a power
 * entry, 0 otherwise) and the kind (u8: 0 power, 1 off, 2 on). Version 1 listed them as JSON pairs, [seconds, 0.1 W]
 * or [seconds, "on" | "off"]: 28 days of entries were 4,000 small arrays to build and stringify at every save and to
 * parse at start-up, for each plug. Version 1 files are still read.
 */
export interface HistoryJson {
  version: 2;
  /** Unix seconds. */
  initialTime: number;
  lastEntry: number;
  entries: string;
  baseline?: Baseline;
}

export class HistoryFormatError extends Error {}

/** Entry times are kept in 32 bits. */
const MAX_TIME_S = 0xffff_ffff;
/** Entry kinds in `EntryRing.kinds` and in a saved record. */
const POWER = 0;
const OFF = 1;
const ON = 2;
/** Bytes per entry in a version 2 file: time offset u32, value u16, kind u8. */
const RECORD_BYTES = 7;

/**
 * The data entries, oldest first, in a ring of typed arrays: 7 bytes an entry instead of a small object each. 28
 * days of entries for 140 plugs are 4 MB here, outside the JS heap, against over 20 MB of objects (which also
 * pushed V8 to grow its young generation while they were read at start-up). Grows as entries come, up to `capacity`;
 * once full, each new entry replaces the oldest.
 */
class EntryRing {
  /** Unix seconds (unsigned 32 bits: good until 2106). */
  private times = new Uint32Array(0);
  /** 0.1 W for power entries. */
  private values = new Uint16Array(0);
  private kinds = new Uint8Array(0);
  private head = 0;
  length = 0;

  constructor(private readonly capacity: number) {}

  time(i: number): number {
    return this.times[this.slot(i)];
  }

  entry(i: number): HistoryEntry {
    const at = this.slot(i);
    const kind = this.kinds[at];
    return kind === POWER ? { time: this.times[at], deciWatts: this.values[at] } : { time: this.times[at], on: kind === ON };
  }

  push(entry: HistoryEntry): void {
    if (this.capacity <= 0) return;
    let at: number;
    if (this.length < this.capacity) {
      if (this.length === this.times.length) this.grow();
      at = (this.head + this.length) % this.times.length;
      this.length++;
    } else {
      at = this.head;
      this.head = (this.head + 1) % this.times.length;
    }
    this.times[at] = entry.time;
    if ('on' in entry) {
      this.kinds[at] = entry.on ? ON : OFF;
      this.values[at] = 0;
    } else {
      this.kinds[at] = POWER;
      this.values[at] = entry.deciWatts;
    }
  }

  private slot(i: number): number {
    return (this.head + i) % this.times.length;
  }

  /** The entries, oldest first, as version 2 records (see HistoryJson) relative to `initialTime`. */
  pack(initialTime: number): Buffer {
    const out = Buffer.allocUnsafe(this.length * RECORD_BYTES);
    for (let i = 0; i < this.length; i++) {
      const at = this.slot(i);
      const o = i * RECORD_BYTES;
      // Never negative (entries come after the reference time), but a save must not throw over it.
      out.writeUInt32LE(Math.max(0, this.times[at] - initialTime), o);
      out.writeUInt16LE(this.values[at], o + 4);
      out.writeUInt8(this.kinds[at], o + 6);
    }
    return out;
  }

  /** Appends version 2 records; false if a record is not one this file format has. */
  unpack(records: Buffer, initialTime: number): boolean {
    if (records.length % RECORD_BYTES !== 0) return false;
    for (let o = 0; o < records.length; o += RECORD_BYTES) {
      const time = initialTime + records.readUInt32LE(o);
      const value = records.readUInt16LE(o + 4);
      const kind = records.readUInt8(o + 6);
      if (time > MAX_TIME_S || kind > ON) return false;
      this.push(kind === POWER ? { time, deciWatts: value } : { time, on: kind === ON });
    }
    return true;
  }

  /** Doubles the arrays (up to the capacity), the entries in order from index 0. */
  private grow(): void {
    const size = Math.min(this.capacity, Math.max(16, this.times.length * 2));
    const times = new Uint32Array(size);
    const values = new Uint16Array(size);
    const kinds = new Uint8Array(size);
    for (let i = 0; i < this.length; i++) {
      const at = this.slot(i);
      times[i] = this.times[at];
      values[i] = this.values[at];
      kinds[i] = this.kinds[at];
    }
    this.times = times;
    this.values = values;
    this.kinds = kinds;
    this.head = 0;
  }
}

/**
 * Entry numbers follow homebridge-lib: `firstEntry` is always sent as the reference-time entry (so a new log
 * starts with number 1 reserved for it), data entries are `firstEntry + 1 … lastEntry`, and numbers only ever grow,
 * because Eve remembers which numbers it already fetched.
 */
export class EveHistory {
  private initialTime: number;
  private lastEntryNo = 1;
  /** One slot of the memory is the reference entry. */
  private readonly entries: EntryRing;
  private baseline: Baseline | undefined;
  private cursor = 0;
  private transferring = false;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly memorySize = MEMORY_SIZE,
  ) {
    this.initialTime = nowSeconds(now);
    this.entries = new EntryRing(memorySize - 1);
  }

  get firstEntry(): number {
    return this.lastEntryNo - this.entries.length;
  }

  get lastEntry(): number {
    return this.lastEntryNo;
  }

  get reference(): number {
    return this.initialTime;
  }

  /** A copy of the data entries, oldest first. */
  get dataEntries(): HistoryEntry[] {
    return Array.from({ length: this.entries.length }, (_, i) => this.entries.entry(i));
  }

  /** S2R1: the status Eve reads when the accessory is opened. */
  status(): Buffer {
    const count = this.entries.length;
    return encodeStatus({
      newestOffset: count > 0 ? this.entries.time(count - 1) - this.initialTime : 0,
      initialTime: this.initialTime,
      firstEntry: this.firstEntry,
      lastEntry: this.lastEntryNo,
      memorySize: this.memorySize,
    });
  }

  /**
   * A 10-minute tick. The entry's average power is the change of the energy counter over the time since the
   * previous power entry, so the area under Eve's graph equals what was metered however irregular the polls were.
   * No counter (plug unreachable) means no entry: nothing is invented for that time. Returns whether an entry was
   * added.
   */
  tick(counter: EnergyCounter | undefined): boolean {
    const t = nowSeconds(this.now);
    if (!this.clockPlausible(t) || !counter) return false;
    const base = this.baseline;
    this.baseline = { time: t, wh: counter.wh, metered: counter.metered };
    if (!base || t <= base.time) return false;
    const elapsed = t - base.time;
    // Across a gap only a meter knows what was used; an estimate stopped counting, so it starts over instead.
    if (elapsed > HISTORY_INTERVAL_S * LATE_FACTOR && !(base.metered && counter.metered)) return false;
    const wh = Math.max(0, counter.wh - base.wh);
    this.add({ time: t, deciWatts: clampU16(((wh * 3600) / elapsed) * 10) });
    return true;
  }

  /** Sets the starting point for the next tick if there is none, so the first entry comes at the first tick. */
  prime(counter: EnergyCounter | undefined): void {
    const t = nowSeconds(this.now);
    if (this.baseline || !counter || !this.clockPlausible(t)) return;
    this.baseline = { time: t, wh: counter.wh, metered: counter.metered };
  }

  /** An On/Off change, logged when it happens. */
  recordOn(on: boolean): boolean {
    const t = nowSeconds(this.now);
    if (!this.clockPlausible(t)) return false;
    this.add({ time: t, on });
    return true;
  }

  /** S2W1: Eve asks for entries from `n` on. */
  request(value: Buffer): void {
    const n = decodeHistoryRequest(value);
    if (n === undefined) return;
    this.cursor = Math.max(this.firstEntry, n);
    this.transferring = true;
  }

  /** S2R2: the next batch of the transfer, or `00` once it is done. Answered from memory, so it is fast. */
  readEntries(): Buffer {
    if (!this.transferring || this.cursor > this.lastEntryNo) {
      this.transferring = false;
      return Buffer.from(END_OF_ENTRIES);
    }
    const frames: Buffer[] = [];
    while (frames.length < ENTRIES_PER_READ && this.cursor <= this.lastEntryNo) {
      frames.push(this.frame(this.cursor));
      this.cursor++;
    }
    return Buffer.concat(frames);
  }

  private frame(n: number): Buffer {
    if (n === this.firstEntry) return encodeReferenceEntry(n, this.initialTime);
    const entry = this.entries.entry(n - this.firstEntry - 1);
    const offset = entry.time - this.initialTime;
    return 'on' in entry ? encodeOnEntry(n, offset, entry.on) : encodePowerEntry(n, offset, entry.deciWatts);
  }

  private add(entry: HistoryEntry): void {
    if (this.entries.length === 0 && this.initialTime < EARLIEST_PLAUSIBLE_S) {
      // The log was started while the clock was unset; anchor it at the first real time instead.
      this.initialTime = entry.time;
    }
    this.entries.push(entry);
    this.lastEntryNo++;
  }

  /** Entries before the reference time or before the newest entry would come from a clock that jumped back. */
  private clockPlausible(t: number): boolean {
    if (t < EARLIEST_PLAUSIBLE_S) return false;
    // A log started while the clock was unset gets its reference time from the first entry (see add).
    if (this.entries.length === 0 && this.initialTime < EARLIEST_PLAUSIBLE_S) return true;
    const count = this.entries.length;
    return t >= (count > 0 ? this.entries.time(count - 1) : this.initialTime);
  }

  toJSON(): HistoryJson {
    const json: HistoryJson = {
      version: 2,
      initialTime: this.initialTime,
      lastEntry: this.lastEntryNo,
      entries: this.entries.pack(this.initialTime).toString('base64'),
    };
    if (this.baseline) json.baseline = { ...this.baseline };
    return json;
  }

  /**
   * Restores a saved log. A reference time in the future means the clock jumped back since (eve.md §5): the saved
   * timeline cannot be continued, so that throws like any other unusable file and a new log starts.
   */
  static fromJSON(raw: unknown, now: () => number = Date.now, memorySize = MEMORY_SIZE): EveHistory {
    const fail = (why: string): never => {
      throw new HistoryFormatError(`not an Eve history: ${why}`);
    };
    if (!isRecord(raw) || (raw.version !== 1 && raw.version !== 2)) return fail('unknown format');
    const { initialTime, lastEntry, entries, baseline } = raw;
    const packed = raw.version === 2;
    if (!isCount(initialTime) || !isCount(lastEntry) || lastEntry < 1 || (packed ? typeof entries !== 'string' : !Array.isArray(entries))) {
      return fail('fields');
    }
    if (initialTime > nowSeconds(now)) return fail('its reference time is in the future');
    const history = new EveHistory(now, memorySize);
    history.initialTime = initialTime;
    history.lastEntryNo = lastEntry;
    if (typeof entries === 'string') {
      // Node's base64 decoder skips what is not base64 rather than throwing, so a damaged string shows as a length
      // that is no whole number of records, or as a record this format does not have.
      const records = Buffer.from(entries, 'base64');
      if (records.length / RECORD_BYTES > lastEntry - 1) return fail('more entries than numbers');
      if (!history.entries.unpack(records, initialTime)) return fail('entry');
    } else if (Array.isArray(entries)) {
      if (entries.length > lastEntry - 1) return fail('more entries than numbers');
      for (const item of entries as unknown[]) {
        if (!Array.isArray(item) || item.length !== 2 || !isCount(item[0])) return fail('entry');
        const time = initialTime + item[0];
        if (time > MAX_TIME_S) return fail('entry time');
        const value: unknown = item[1];
        if (value === 'on' || value === 'off') history.entries.push({ time, on: value === 'on' });
        // Ticks clamp to 16 bits (the Eve frame's field) before they store, so only a hand-edited file gets clamped here.
        else if (isCount(value)) history.entries.push({ time, deciWatts: clampU16(value) });
        else return fail('entry value');
      }
    }
    // A smaller memory than the file was written with keeps the newest entries (the ring drops the oldest);
    // numbering carries on regardless.
    if (baseline !== undefined) {
      if (!isRecord(baseline) || !isCount(baseline.time) || typeof baseline.wh !== 'number' || typeof baseline.metered !== 'boolean') {
        return fail('baseline');
      }
      history.baseline = { time: baseline.time, wh: baseline.wh, metered: baseline.metered };
    }
    return history;
  }
}

function nowSeconds(now: () => number): number {
  return Math.floor(now() / 1000);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
