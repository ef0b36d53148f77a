/**
 * The bytes of the Eve history protocol (shared/eve.md §3), little-endian throughout. Pure functions from numbers
 * to Buffers and back; the history log decides what to send, this module only how it looks on the wire.
 */
import { EVE_EPOCH_OFFSET } from './eve';

/**
 * What each entry can hold, as (tag, byte length) pairs: power (tag 07, 2 bytes, 0.1 W) then On (tag 0E, 1 byte).
 * The order fixes the bitmap bits (bit 0 power, bit 1 On), so it must never change once Eve has stored entries.
 */
export const ENERGY_FINGERPRINT: readonly number[] = [0x02, 0x07, 0x02, 0x0e, 0x01];
export const POWER_BIT = 0x01;
export const ON_BIT = 0x02;
/** Each read of the entries characteristic carries at most this many entries (both reference implementations). */
export const ENTRIES_PER_READ = 11;
/** The reply that ends a transfer: no more entries. */
export const END_OF_ENTRIES: Readonly<Buffer> = Buffer.from([0x00]);

export function toEveSeconds(unixSeconds: number): number {
  return unixSeconds - EVE_EPOCH_OFFSET;
}

export interface StatusFields {
  /** Seconds from the reference time to the newest entry. */
  newestOffset: number;
  /** Reference time, Unix seconds. */
  initialTime: number;
  firstEntry: number;
  lastEntry: number;
  memorySize: number;
}

/** S2R1 (E863F116): what the accessory holds (§3.3). Count and first entry as homebridge-lib computes them. */
export function encodeStatus(s: StatusFields): Buffer {
  const b = Buffer.alloc(12 + ENERGY_FINGERPRINT.length + 14);
  let o = b.writeUInt32LE(s.newestOffset, 0);
  o = b.writeUInt32LE(0, o);
  o = b.writeUInt32LE(toEveSeconds(s.initialTime), o);
  for (const byte of ENERGY_FINGERPRINT) o = b.writeUInt8(byte, o);
  o = b.writeUInt16LE(s.lastEntry - s.firstEntry + 1, o);
  o = b.writeUInt16LE(s.memorySize, o);
  o = b.writeUInt32LE(s.firstEntry, o);
  o = b.writeUInt32LE(0, o);
  o = b.writeUInt8(1, o);
  b.writeUInt8(1, o);
  return b;
}

/** The entry that tells Eve the reference time (21 bytes, marker 0x81), sent as the first available entry. */
export function encodeReferenceEntry(entry: number, initialTime: number): Buffer {
  const b = Buffer.alloc(21);
  b.writeUInt8(21, 0);
  b.writeUInt32LE(entry, 1);
  b.writeUInt32LE(1, 5);
  b.writeUInt8(0x81, 9);
  b.writeUInt32LE(toEveSeconds(initialTime), 10);
  // Bytes 14–20 stay zero.
  return b;
}

/** A 10-minute entry: average power since the previous one, in 0.1 W (12 bytes). */
export function encodePowerEntry(entry: number, offset: number, deciWatts: number): Buffer {
  const b = Buffer.alloc(12);
  writeHeader(b, entry, offset, POWER_BIT);
  b.writeUInt16LE(clampU16(deciWatts), 10);
  return b;
}

/** An On/Off change at the moment it happened (11 bytes). */
export function encodeOnEntry(entry: number, offset: number, on: boolean): Buffer {
  const b = Buffer.alloc(11);
  writeHeader(b, entry, offset, ON_BIT);
  b.writeUInt8(on ? 1 : 0, 10);
  return b;
}

function writeHeader(b: Buffer, entry: number, offset: number, bitmap: number): void {
  b.writeUInt8(b.length, 0);
  b.writeUInt32LE(entry, 1);
  b.writeUInt32LE(offset, 5);
  b.writeUInt8(bitmap, 9);
}

/** S2W1 (E863F11C): the entry number Eve wants to start from, at byte offset 2; bytes 0–1 are undocumented. */
export function decodeHistoryRequest(b: Buffer): number | undefined {
  return b.length >= 6 ? b.readUInt32LE(2) : undefined;
}

/** S2W2 (E863F121): the phone's clock, Eve seconds at offset 0, returned as Unix seconds. */
export function decodeSetTime(b: Buffer): number | undefined {
  return b.length >= 4 ? b.readUInt32LE(0) + EVE_EPOCH_OFFSET : undefined;
}

export function clampU16(v: number): number {
  return Math.min(0xffff, Math.max(0, Math.round(v)));
}
