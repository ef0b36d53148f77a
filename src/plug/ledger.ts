import type { DailyEnergy } from '../meross/decode';

/**
 * The per-plug energy ledger: one Wh figure per plug-local day, kept long after the plug's own 30-day
 * ConsumptionX window has forgotten the day, so the total keeps growing for as long as the plug is in use.
 * Pure logic: no I/O, and the only clock is the injected one (used to reject dates from the future).
 */

const DAY_MS = 86_400_000;
/** ConsumptionX holds at most this many days (protocol.md §3.7). */
export const PLUG_WINDOW_DAYS = 30;
/**
 * Days kept one by one. Older days can no longer change (they left the plug's window long ago), so they are
 * folded into sums: the file stays small however many years the plug runs.
 */
export const DETAILED_DAYS = 62;
/** An unsynced plug dates its entries 1970-01-01 (protocol.md §2.4); nothing before this date is believed. */
const EARLIEST_DATE = '2000-01-01';
/**
 * More than one day can hold on an MSS310 (16 A at 250 V for 24 h is 96 kWh): no day counts more. The plug's raw
 * figure may be far larger on firmware whose counter never resets, so a raw figure is refused only beyond
 * MAX_RAW_WH, where it could push the lifetime total towards Infinity, which cannot even be saved.
 */
const MAX_DAY_WH = 100_000;
const MAX_RAW_WH = 1e10;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** The meter books whole Wh: a day's first figure may run up to 1 Wh ahead of what power × time allows. */
export const METER_STEP_WH = 1;
/** A first import whose window rises this many days in a row comes from a meter that never resets (see merge()). */
const CUMULATIVE_RUN_DAYS = 7;

/** What the plug's firmware was seen to do with its daily counter at its midnight (protocol.md §3.7). */
export type MidnightBehaviour = 'resets' | 'carries' | 'cumulative';

/**
 * What the plug model knows when a new plug-local day shows up, to tell a counter that started the day at zero from
 * one that carried yesterday's figure over midnight. Physics is the referee: a plug cannot have used more than its
 * measured power allows.
 */
export interface DayEvidence {
  /**
   * The most Wh the plug can have used since the previous meter read: the highest power sampled × the time since,
   * when the plugin read the meter before and sampled the power without a gap since. It bounds every day that began
   * since that read. Undefined otherwise.
   */
  maxUsedWh?: number;
  /** The highest power known (W), with headroom; undefined when no power reading is known. */
  maxWatts?: number;
  /** How long ago the plug's own midnight was (ms): with `maxWatts`, the most today can hold. */
  sinceMidnightMs?: number;
}



/** A new day whose first figure carried energy the plug cannot have used that day: the part not counted. */
export interface CarryOver {
  date: string;
  /** Wh of the plug's figure for the day that are not counted (carried over midnight). */
  carriedWh: number;
  /** What the day counts from its first reading. */
  countedWh: number;
  /**
   * `measured`: the power readings prove it; `assumed`: the readings could not tell (an outage across midnight), so
   * the carried figure was left out rather than risk counting it twice.
   */
  how: 'measured' | 'assumed';
}

/** What one merge found worth telling the user. */
export interface MergeReport {
  /** The ledger changed and should be saved. */
  changed: boolean;
  /** Entries not believed: unsynced-clock dates, zeros, dates in the future, days already folded. */
  ignored: number;
  /** Days that fell out of the plug's window before they were ever read: missing from the total, not invented. */
  missing?: { from: string; to: string; days: number };
  /** Today's counter on the plug started again below what was already recorded (power loss, factory reset, new plug). */
  restarted?: { date: string; keptWh: number; wh: number };
  /** New days whose first figure was (partly) carried over from the day before. */
  carried: CarryOver[];
  /** A new day the readings could not judge, counted in full because this plug is known to reset at midnight. */
  trustedReset?: { date: string; wh: number };
  /** Set once, when the plug is first recognised as never resetting its daily counter. */
  becameCumulative?: boolean;
}

/** When the Eve "Reset Total" happened and how much of that day had already been used. */
export interface ResetMark {
  /** Unix seconds, as written by the controller. */
  time: number;
  /** The plug-local day that was current at the reset. */
  day: string;
  /** That day's Wh at the reset instant; only what the day adds beyond this counts. */
  offsetWh: number;
}

/**
 * One day: `raw` is the plug's own counter for the day, `base` what earlier counters of the same day had reached
 * before the plug started that day again (so a restart never loses, and never repeats, what was counted), and
 * `carried` the part of the day's first figure that the counter carried over from the day before (never counted).
 */
interface Day {
  raw: number;
  base: number;
  carried: number;
}

/** What a day adds to the total: never more than a plug can use in a day, whatever a reply claimed. */
function counted(day: Day): number {
  return Math.min(MAX_DAY_WH, Math.max(0, day.raw + day.base - day.carried));
}

interface Folded {
  /** The newest folded date ('' if none); the plug's readings for it or anything older are ignored. */
  through: string;
  wh: number;
  /** The part of `wh` used after the reset. */
  sinceResetWh: number;
}

export interface LedgerJson {
  version: 1;
  /** `carried` is left out when 0, so files written before it existed read the same. */
  days: Record<string, [raw: number, base: number] | [raw: number, base: number, carried: number]>;
  folded?: Folded;
  reset?: ResetMark;
  /** Set once a day was estimated from power samples (firmware without ConsumptionX). */
  estimated?: boolean;
  /** What the firmware was seen to do at midnight, once known. */
  midnight?: MidnightBehaviour;
}

export class LedgerFormatError extends Error {}

export class EnergyLedger {
  private readonly days = new Map<string, Day>();
  private folded: Folded = { through: '', wh: 0, sinceResetWh: 0 };
  private mark: ResetMark | undefined;
  private estimatedDays = false;
  private behaviour: MidnightBehaviour | undefined;

  /** `now`: Unix ms. */
  constructor(private readonly now: () => number = Date.now) {}

  get isEmpty(): boolean {
    return this.days.size === 0 && this.folded.wh === 0 && !this.mark;
  }

  /** The newest day recorded: the plug's "today" as of the last reading. */
  get latestDate(): string | undefined {
    let latest: string | undefined;
    for (const date of this.days.keys()) if (latest === undefined || date > latest) latest = date;
    return latest;
  }

  /** Everything ever recorded, resets ignored. Never decreases. */
  get lifetimeWh(): number {
    let sum = this.folded.wh;
    for (const day of this.days.values()) sum += counted(day);
    return sum;
  }

  /** Energy since the last reset (or the lifetime if never reset). */
  get totalWh(): number {
    const mark = this.mark;
    if (!mark) return this.lifetimeWh;
    let sum = this.folded.sinceResetWh;
    for (const [date, day] of this.days) sum += sinceReset(date, counted(day), mark);
    return sum;
  }

  /** Unix seconds of the last reset, 0 if never. */
  get resetTime(): number {
    return this.mark?.time ?? 0;
  }

  get reset(): Readonly<ResetMark> | undefined {
    return this.mark;
  }

  /** Whether any day was estimated from power rather than read from the plug's meter. */
  get estimated(): boolean {
    return this.estimatedDays;
  }

  /** What the firmware was seen to do with its daily counter at midnight; undefined until the readings showed it. */
  get midnight(): MidnightBehaviour | undefined {
    return this.behaviour;
  }

  /** What `date` counts (its carried-over part left out). */
  dayWh(date: string): number | undefined {
    const day = this.days.get(date);
    return day && counted(day);
  }

  /**
   * Takes in one ConsumptionX reading (any order, repeated days allowed). A day's value only ever grows here:
   * a lower figure for today means the plug's counter started again, and is added on top; a lower figure for an
   * older day is ignored. Days older than the day before the last known one are frozen, so a factory-reset or
   * replaced plug bringing other history can neither remove nor repeat what was counted.
   */
  merge(readings: readonly DailyEnergy[], evidence: DayEvidence): MergeReport {
    const report: MergeReport = { changed: false, ignored: 0, carried: [] };
    const byDate = this.plausible(readings, report);
    const dates = [...byDate.keys()].sort();
    if (this.behaviour === undefined && showsReset(dates, byDate)) this.behaviour = 'resets';
    const today = dates.at(-1);
    if (today === undefined) return report;
    const known = this.latestDate;
    if (known !== undefined && today > known) {
      const windowStart = addDays(today, 1 - PLUG_WINDOW_DAYS);
      const days = daysBetween(known, windowStart) - 1;
      if (days > 0) report.missing = { from: addDays(known, 1), to: addDays(windowStart, -1), days };
    }
    // The last day read may still have grown before the plug's midnight, and a day's final figure may land just
    // after it; anything older was complete when it was read.
    const growFrom = known === undefined ? '' : addDays(known, -1);
    for (const date of dates) {
      const wh = byDate.get(date)!.wh;
      const day = this.days.get(date);
      if (date < growFrom) continue;
      if (!day) {
        const fresh: Day = { raw: wh, base: 0, carried: 0 };
        // Only a day that begins after what was already read can be a plug's new day; the first import is believed.
        if (known !== undefined && date > known) {
          const previous = byDate.get(addDays(date, -1))?.wh ?? this.days.get(addDays(date, -1))?.raw;
          this.judgeNewDay(date, fresh, previous, evidence, date === today, report);
        }
        this.days.set(date, fresh);
        report.changed = true;
      } else if (wh > day.raw) {
        day.raw = wh;
        report.changed = true;
      } else if (wh < day.raw && date === today && (known === undefined || today >= known)) {
        report.restarted = { date, keptWh: day.raw + day.base, wh };
        day.base += day.raw;
        day.raw = wh;
        report.changed = true;
      }
    }
    if (known === undefined && report.changed) this.recogniseCumulativeHistory(dates, report);
    if (report.changed) this.fold();
    return report;
  }

  /**
   * The first figure of a new plug-local day: a counter that reset at midnight holds only what the day used; one
   * that did not (some 2.x firmware, protocol.md §3.7) also holds yesterday's final figure. Only this first figure is
   * judged; the day's later readings are believed as they grow, less the carried part fixed here.
   */
  private judgeNewDay(date: string, day: Day, yesterdayWh: number | undefined, evidence: DayEvidence, isToday: boolean, report: MergeReport): void {
    const wh = day.raw;
    const carried = (carriedWh: number, how: CarryOver['how']): void => {
      day.carried = Math.min(wh, Math.max(0, Math.round(carriedWh)));
      if (day.carried === 0) return;
      report.carried.push({ date, carriedWh: day.carried, countedWh: counted(day), how });
      if (how === 'measured') this.learn(this.behaviour === 'carries' || this.behaviour === 'cumulative' ? 'cumulative' : 'carries', report);
    };
    if (evidence.maxUsedWh !== undefined) {
      // The plugin read the meter before and watched the power since: physics decides.
      const allowed = evidence.maxUsedWh + METER_STEP_WH;
      if (wh > allowed) return carried(Math.max(wh - allowed, yesterdayWh !== undefined && yesterdayWh <= wh ? yesterdayWh : 0), 'measured');
      // A reset is only visible when yesterday's figure alone would have been too much.
      if (yesterdayWh !== undefined && yesterdayWh > allowed) this.learn('resets', report);
      return;
    }
    // The readings cannot tell (Homebridge or the plug was away across midnight): what happened in the gap is unknown,
    // so power seen outside it bounds only today, and only when nothing else is known.
    const bound =
      isToday && evidence.maxWatts !== undefined && evidence.sinceMidnightMs !== undefined
        ? (evidence.maxWatts * evidence.sinceMidnightMs) / 3_600_000 + METER_STEP_WH
        : undefined;
    if (yesterdayWh === undefined || yesterdayWh === 0) {
      if (bound !== undefined && wh > bound && this.behaviour !== 'resets') carried(wh - bound, 'assumed');
      return;
    }
    // Below yesterday's final figure: the counter cannot have carried it, so it started again.
    if (wh < yesterdayWh) return;
    // More than the power seen allows since midnight: carried, even on a plug that usually resets (some carry only now
    // and then, meross_lan #264).
    if (bound !== undefined && wh > bound) return carried(Math.max(yesterdayWh, wh - bound), 'assumed');
    if (this.behaviour === 'resets') {
      report.trustedReset = { date, wh };
      return;
    }
    // Cannot tell: leaving a carried figure out loses at most this day's first hours; counting it twice is worse.
    carried(yesterdayWh, 'assumed');
  }

  private learn(behaviour: MidnightBehaviour, report: MergeReport): void {
    if (behaviour === 'cumulative' && this.behaviour !== 'cumulative') report.becameCumulative = true;
    this.behaviour = behaviour;
  }

  /**
   * A first import has no readings before it to judge by, but a meter that never resets shows itself: every day's
   * figure above the day before's, for a week and more, which a meter that resets practically never shows. Then
   * each day counts only what it added to the day before.
   */
  private recogniseCumulativeHistory(dates: readonly string[], report: MergeReport): void {
    let run = 1;
    for (let i = dates.length - 1; i > 0; i--) {
      const day = this.days.get(dates[i]);
      const before = this.days.get(dates[i - 1]);
      if (!day || !before || dates[i - 1] !== addDays(dates[i], -1) || day.raw <= before.raw) break;
      run++;
    }
    if (run < CUMULATIVE_RUN_DAYS) return;
    for (let i = dates.length - run + 1; i < dates.length; i++) {
      const day = this.days.get(dates[i])!;
      day.carried = this.days.get(dates[i - 1])!.raw;
    }
    this.learn('cumulative', report);
  }

  /** Books energy estimated from power samples (firmware without ConsumptionX) on `date`, the plug-local day. */
  addEstimate(date: string, wh: number): void {
    if (!(wh > 0) || !Number.isFinite(wh) || wh > MAX_DAY_WH || !DATE_RE.test(date)) return;
    const day = this.days.get(date);
    if (day) day.raw += wh;
    else this.days.set(date, { raw: wh, base: 0, carried: 0 });
    this.estimatedDays = true;
    this.fold();
  }

  /**
   * Eve "Reset Total" at `atUnixS`, on `day` (the plug-local day at that instant): from now on only what that day adds
   * beyond its present value, and every later day, counts; the days before it count no more, even if their final
   * figure is read later. `unreadWh` is that day's energy used since the last reading (estimated from power), so it is
   * not counted after the reset when the next reading brings it.
   */
  resetAt(atUnixS: number, day: string = this.latestDate ?? utcDate(atUnixS * 1000), unreadWh = 0): void {
    this.mark = { time: atUnixS, day, offsetWh: (this.dayWh(day) ?? 0) + Math.max(0, unreadWh) };
    this.folded.sinceResetWh = 0;
  }

  private plausible(readings: readonly DailyEnergy[], report: MergeReport): Map<string, DailyEnergy> {
    // A device-local date runs at most 14 h ahead of UTC; later dates come from a wrong clock.
    const newest = addDays(utcDate(this.now()), 1);
    const byDate = new Map<string, DailyEnergy>();
    for (const r of readings) {
      const ok =
        DATE_RE.test(r.date) && r.date >= EARLIEST_DATE && r.date <= newest && r.date > this.folded.through && Number.isFinite(r.wh) && r.wh > 0 && r.wh <= MAX_RAW_WH;
      if (!ok) {
        report.ignored++;
        continue;
      }
      // The ring buffer may repeat a day; the most recently updated entry is the current one.
      const seen = byDate.get(r.date);
      if (!seen || r.time > seen.time || (r.time === seen.time && r.wh > seen.wh)) byDate.set(r.date, r);
    }
    return byDate;
  }

  private fold(): void {
    const latest = this.latestDate;
    if (latest === undefined) return;
    const cutoff = addDays(latest, 1 - DETAILED_DAYS);
    for (const [date, day] of this.days) {
      if (date >= cutoff) continue;
      const wh = counted(day);
      this.folded.wh += wh;
      if (this.mark) this.folded.sinceResetWh += sinceReset(date, wh, this.mark);
      if (date > this.folded.through) this.folded.through = date;
      this.days.delete(date);
    }
  }

  toJSON(): LedgerJson {
    const days: LedgerJson['days'] = {};
    for (const date of [...this.days.keys()].sort()) {
      const day = this.days.get(date)!;
      days[date] = day.carried > 0 ? [day.raw, day.base, day.carried] : [day.raw, day.base];
    }
    const json: LedgerJson = { version: 1, days };
    if (this.folded.through) json.folded = { ...this.folded };
    if (this.mark) json.reset = { ...this.mark };
    if (this.estimatedDays) json.estimated = true;
    if (this.behaviour) json.midnight = this.behaviour;
    return json;
  }

  /** Throws LedgerFormatError for anything that is not a ledger this version wrote. */
  static fromJSON(raw: unknown, now: () => number = Date.now): EnergyLedger {
    const fail = (why: string): never => {
      throw new LedgerFormatError(`not an energy ledger: ${why}`);
    };
    if (!isRecord(raw)) return fail('not an object');
    // Not String(raw.version): a JSON object whose own "toString" key is not a function makes that throw.
    if (raw.version !== 1) return fail(`version ${typeof raw.version === 'number' ? raw.version : typeof raw.version}`);
    if (!isRecord(raw.days)) return fail('no days');
    const ledger = new EnergyLedger(now);
    for (const [date, value] of Object.entries(raw.days)) {
      if (!DATE_RE.test(date) || !Array.isArray(value) || (value.length !== 2 && value.length !== 3) || !value.every(isWh)) {
        return fail(`day ${date.slice(0, 12)}`);
      }
      ledger.days.set(date, { raw: value[0] as number, base: value[1] as number, carried: (value[2] as number | undefined) ?? 0 });
    }
    if (raw.folded !== undefined) {
      const f = raw.folded;
      if (!isRecord(f) || typeof f.through !== 'string' || !isWh(f.wh) || !isWh(f.sinceResetWh)) return fail('folded');
      ledger.folded = { through: f.through, wh: f.wh, sinceResetWh: f.sinceResetWh };
    }
    if (raw.reset !== undefined) {
      const r = raw.reset;
      if (!isRecord(r) || !isWh(r.time) || typeof r.day !== 'string' || !DATE_RE.test(r.day) || !isWh(r.offsetWh)) return fail('reset');
      ledger.mark = { time: r.time, day: r.day, offsetWh: r.offsetWh };
    }
    ledger.estimatedDays = raw.estimated === true;
    if (raw.midnight === 'resets' || raw.midnight === 'carries' || raw.midnight === 'cumulative') ledger.behaviour = raw.midnight;
    return ledger;
  }
}

/**
 * Whether the plug's own window shows its counter starting a day below the day before: a counter that never resets
 * cannot (short of a power loss), so the firmware resets at midnight.
 */
function showsReset(dates: readonly string[], byDate: ReadonlyMap<string, DailyEnergy>): boolean {
  for (let i = 1; i < dates.length; i++) {
    if (dates[i - 1] === addDays(dates[i], -1) && byDate.get(dates[i])!.wh < byDate.get(dates[i - 1])!.wh) return true;
  }
  return false;
}

function sinceReset(date: string, wh: number, mark: ResetMark): number {
  if (date > mark.day) return wh;
  if (date === mark.day) return Math.max(0, wh - mark.offsetWh);
  return 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isWh(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return utcDate(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
}

/** Whole days from `a` to `b` (negative if `b` is earlier). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}
