import type { ConsumptionEntry, MidnightMode } from './types';

const DAY_MS = 86_400_000;
const RING_SIZE = 30;
/** Where today's entry sits at start: mid-array, so a client that forgets to sort is caught. */
const TODAY_SLOT = 17;


/** The plug's booking offset east of UTC (seconds) at a UTC instant (seconds): its `timeRule`, or 0 for UTC days. */
export type OffsetAt = (utcS: number) => number;

/** `YYYY-MM-DD` of `ms` at the plug's booking offset. */
export function plugDay(ms: number, offsetAt: OffsetAt): string {
  return new Date(ms + offsetAt(Math.floor(ms / 1000)) * 1000).toISOString().slice(0, 10);
}

/** The first plug-local midnight after `ms` (UTC ms). */
function nextMidnight(ms: number, offsetAt: OffsetAt): number {
  const local = ms + offsetAt(Math.floor(ms / 1000)) * 1000;
  const localNext = Math.floor(local / DAY_MS) * DAY_MS + DAY_MS;
  let guess = localNext - offsetAt(Math.floor(ms / 1000)) * 1000;
  // Across a DST change the offset at midnight is not the one now.
  guess = localNext - offsetAt(Math.floor(guess / 1000)) * 1000;
  return guess > ms ? guess : guess + DAY_MS;
}

/**
 * Daily Wh counters kept like the firmware's ring buffer: a fixed 30-slot array where a new day overwrites the oldest
 * slot right after the latest one, so the array is not sorted (protocol.md §3.7). Days are the plug's own, at the
 * offset it books by; `midnight` says what its counter does when a day ends.
 */
export class EnergyMeter {
  entries: ConsumptionEntry[];
  midnight: MidnightMode;
  private lastMs: number;
  /** Fractions of a Wh not yet booked, per day: the firmware only stores whole Wh. */
  private carryWh = 0;
  private carryDay = '';

  constructor(
    nowMs: number,
    typicalDailyWh: number,
    private readonly offsetAt: OffsetAt = () => 0,
    midnight: MidnightMode = 'reset',
  ) {
    this.lastMs = nowMs;
    this.midnight = midnight;
    this.entries = initialRing(nowMs, typicalDailyWh, offsetAt, midnight === 'cumulative');
  }

  /** The plug-local day of `ms`. */
  dayOf(ms: number): string {
    return plugDay(ms, this.offsetAt);
  }

  /** Books the energy used between the previous call and `nowMs` at a constant `watts`, day by plug-local day. */
  advance(nowMs: number, watts: number): void {
    let from = this.lastMs;
    while (from < nowMs) {
      const dayEnd = nextMidnight(from, this.offsetAt);
      const to = Math.min(nowMs, dayEnd);
      const timeS = Math.floor((to === dayEnd ? to - 1000 : to) / 1000);
      if (watts > 0) this.book(this.dayOf(from), (watts * (to - from)) / 3_600_000, timeS);
      if (to === dayEnd) this.newDay(this.dayOf(dayEnd), Math.floor(dayEnd / 1000));
      from = to;
    }
    this.lastMs = Math.max(this.lastMs, nowMs);
  }

  /** The plug's clock jumped to `nowMs` with nothing used meanwhile (a fast-forward): only midnights happen. */
  jump(nowMs: number): void {
    this.advance(nowMs, 0);
  }

  /** A plug-local midnight passed: a counter that does not reset starts the new day at yesterday's figure. */
  private newDay(day: string, timeS: number): void {
    if (this.midnight === 'reset') return;
    const latest = this.latestEntry();
    if (this.midnight === 'carry-once') this.midnight = 'reset';
    if (!latest || latest.date >= day) return;
    this.insertNewest({ date: day, time: timeS, value: latest.value });
  }

  private book(day: string, wh: number, timeS: number): void {
    if (this.carryDay !== day) {
      this.carryDay = day;
      this.carryWh = 0;
    }
    this.carryWh += wh;
    const whole = Math.floor(this.carryWh);
    let entry = this.entries.find((e) => e.date === day);
    if (!entry) {
      // Right after midnight the firmware has no entry for the new day until a whole Wh has accrued.
      if (whole < 1) return;
      entry = { date: day, time: timeS, value: 0 };
      this.insertNewest(entry);
    }
    entry.value += whole;
    entry.time = timeS;
    this.carryWh -= whole;
  }

  private latestEntry(): ConsumptionEntry | undefined {
    let latest: ConsumptionEntry | undefined;
    for (const e of this.entries) if (!latest || e.date > latest.date) latest = e;
    return latest;
  }

  private insertNewest(entry: ConsumptionEntry): void {
    let latest = -1;
    this.entries.forEach((e, i) => {
      if (latest < 0 || e.date > this.entries[latest].date) latest = i;
    });
    if (this.entries.length < RING_SIZE) this.entries.splice(latest + 1, 0, entry);
    else this.entries[(latest + 1) % this.entries.length] = entry;
  }
}

function initialRing(nowMs: number, typicalDailyWh: number, offsetAt: OffsetAt, cumulative: boolean): ConsumptionEntry[] {
  const slots: Array<{ daysAgo: number; entry: ConsumptionEntry }> = [];
  for (let slot = 0; slot < RING_SIZE; slot++) {
    const daysAgo = (TODAY_SLOT - slot + RING_SIZE) % RING_SIZE;
    const atMs = nowMs - daysAgo * DAY_MS;
    const date = plugDay(atMs, offsetAt);
    const dayStart = nextMidnight(atMs, offsetAt) - DAY_MS;
    if (daysAgo === 0) {
      const fraction = Math.min(1, Math.max(0, (nowMs - dayStart) / DAY_MS));
      slots.push({ daysAgo, entry: { date, time: Math.floor(nowMs / 1000), value: Math.floor(typicalDailyWh * fraction) } });
    } else {
      // Real past entries were last written a minute or two before midnight, with day-to-day variation.
      const value = Math.round(typicalDailyWh * (0.8 + 0.4 * Math.random()));
      const time = Math.floor((dayStart + DAY_MS) / 1000) - 60 - Math.floor(Math.random() * 120);
      slots.push({ daysAgo, entry: { date, time, value } });
    }
  }
  if (cumulative) {
    // A counter that never resets: each day shows everything since the oldest day in the window.
    const byAge = [...slots].sort((a, b) => b.daysAgo - a.daysAgo);
    let running = 0;
    for (const s of byAge) {
      running += s.entry.value;
      s.entry.value = running;
    }
  }
  return slots.map((s) => s.entry);
}
