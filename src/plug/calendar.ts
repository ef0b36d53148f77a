import type { DailyEnergy } from '../meross/decode';
import { dateAtOffset, isTimeZone, midnightBefore, ruleOffsetAt, zoneOffsetAt, type TimeRule } from '../meross/time';

/** Device timestamps below this come from a clock that was never set (protocol.md §2.4). */
export const UNSET_CLOCK_S = 1_000_000_000;
/** Only this many of the newest daily entries are judged: older ones may have been booked under another zone. */
const JUDGED_DAYS = 7;

/**
 * How a plug books its days. Usually by its `timeRule` (its local time), but not always: the fw 1.1.18 trace
 * (shared/traces) reports Europe/Dublin at UTC+1 while every ConsumptionX day of it ends at 23:5x UTC — that firmware
 * books UTC days and runs only its timers on local time. So the readings decide, not the settings.
 */
export type DayBooking = 'rules' | 'zone' | 'utc';

/**
 * The plug's own calendar: its clock (the device timestamps, which may be off the host's) and the offsets it books
 * its days by. Gives "today", midnight and the day of any instant as the plug sees them. Pure apart from what it is
 * told; the host clock is passed in.
 */
export class PlugCalendar {
  private rules: readonly TimeRule[] = [];
  private zone = '';
  private bookingChoice: DayBooking = 'utc';
  /** Device clock minus host clock, ms; undefined until a reply carried the device time. */
  private clockOffset: number | undefined;
  private clockUnset = false;
  private zoneKey: string | undefined;
  /** Device seconds when the zone or rules changed during this run: entries written before then say nothing. */
  private zoneChangedS = 0;

  /**
   * What the plug says of its zone (System.All `time`), or what it was just told, at host time `hostMs`. The booking
   * is decided again only when the zone or the rules changed.
   */
  setZone(timezone: string | undefined, rules: readonly TimeRule[] | undefined, hostMs: number): void {
    const zone = timezone && isTimeZone(timezone) ? timezone : '';
    const key = JSON.stringify([zone, rules ?? []]);
    if (key === this.zoneKey) return;
    if (this.zoneKey !== undefined) this.zoneChangedS = this.deviceSeconds(hostMs);
    this.zoneKey = key;
    this.rules = rules ?? [];
    this.zone = zone;
    this.bookingChoice = this.candidates()[0];
  }

  /** A device timestamp (Unix seconds) seen at host time `hostMs`. */
  observeClock(deviceS: number, hostMs: number): void {
    this.clockUnset = deviceS < UNSET_CLOCK_S;
    if (!this.clockUnset) this.clockOffset = deviceS * 1000 - hostMs;
  }

  get booking(): DayBooking {
    return this.bookingChoice;
  }

  get timezone(): string {
    return this.zone;
  }

  get timeRules(): readonly TimeRule[] {
    return this.rules;
  }

  /** Device clock minus host clock in ms (undefined while unknown or unset). */
  get clockOffsetMs(): number | undefined {
    return this.clockUnset ? undefined : this.clockOffset;
  }

  get clockIsUnset(): boolean {
    return this.clockUnset;
  }

  /**
   * Checks the booking against the plug's own entries: each day's entry was last updated (device time) within that
   * day. The first hypothesis the newest week of entries agrees with wins (entries written before a zone change this
   * run are left out); when none does (a clock that jumped), the choice stays.
   */
  learnFrom(entries: readonly DailyEnergy[]): DayBooking {
    const dated = entries
      .filter((e) => e.time >= UNSET_CLOCK_S && e.time >= this.zoneChangedS)
      .sort((a, b) => (a.date < b.date ? 1 : -1))
      .slice(0, JUDGED_DAYS);
    if (dated.length === 0) return this.bookingChoice;
    for (const candidate of this.candidates()) {
      if (dated.every((e) => dateAtOffset(e.time, this.offsetFor(candidate, e.time)) === e.date)) {
        this.bookingChoice = candidate;
        break;
      }
    }
    return this.bookingChoice;
  }

  /** The plug-local date at host time `hostMs`. */
  dateAt(hostMs: number): string {
    const s = this.deviceSeconds(hostMs);
    return dateAtOffset(s, this.offsetFor(this.bookingChoice, s));
  }

  /** The UTC offset (seconds east) the plug books by at host time `hostMs`. */
  utcOffsetAt(hostMs: number): number {
    return this.offsetFor(this.bookingChoice, this.deviceSeconds(hostMs));
  }

  /** Host ms of the plug-local midnight that began the day holding `hostMs`. */
  midnightBefore(hostMs: number): number {
    const s = this.deviceSeconds(hostMs);
    const midnight = midnightBefore(s, (t) => this.offsetFor(this.bookingChoice, t));
    return midnight * 1000 - (this.clockOffsetMs ?? 0);
  }

  private deviceSeconds(hostMs: number): number {
    return Math.floor((hostMs + (this.clockOffsetMs ?? 0)) / 1000);
  }

  private candidates(): DayBooking[] {
    // Rules first: that is what the firmware is given. Without rules UTC comes before the zone's name, since a plug
    // has no time zone database to look the name up in; only entries that contradict UTC make the name win.
    if (this.rules.length > 0) return ['rules', 'utc'];
    return this.zone ? ['utc', 'zone'] : ['utc'];
  }

  private offsetFor(booking: DayBooking, utcS: number): number {
    if (booking === 'rules') return ruleOffsetAt(this.rules, utcS);
    if (booking === 'zone') return zoneOffsetAt(this.zone, utcS);
    return 0;
  }
}
