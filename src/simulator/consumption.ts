import type { ConsumptionEntry } from './types';

const DAY_MS = 86_400_000;
const RING_SIZE = 30;
/** Where today's entry sits at start: mid-array, so a client that forgets to sort is caught. */
const TODAY_SLOT = 17;

/**
 * Days are UTC days here although the plug reports `Europe/London`: the real firmware books by device-local
 * day, but using UTC keeps the simulator deterministic whatever TZ the test machine runs in.
 */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Daily Wh counters kept like the firmware's ring buffer: a fixed 30-slot array where a new day overwrites
 * the oldest slot right after the latest one, so the array is not sorted (protocol.md §3.7).
 */
export class EnergyMeter {
  entries: ConsumptionEntry[];
  private lastMs: number;
  /** Fractions of a Wh not yet booked, per day: the firmware only stores whole Wh. */
  private carryWh = 0;
  private carryDay = '';

  constructor(nowMs: number, typicalDailyWh: number) {
    this.lastMs = nowMs;
    this.entries = initialRing(nowMs, typicalDailyWh);
  }

  /** Books the energy used between the previous call and `nowMs` at a constant `watts`. */
  advance(nowMs: number, watts: number): void {
    if (nowMs <= this.lastMs || watts <= 0) {
      this.lastMs = nowMs;
      return;
    }
    let from = this.lastMs;
    while (from < nowMs) {
      const dayEnd = dayStart(from) + DAY_MS;
      const to = Math.min(nowMs, dayEnd);
      const timeS = Math.floor((to === dayEnd ? to - 1000 : to) / 1000);
      this.book(utcDay(from), (watts * (to - from)) / 3_600_000, timeS);
      from = to;
    }
    this.lastMs = nowMs;
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

  private insertNewest(entry: ConsumptionEntry): void {
    let latest = -1;
    this.entries.forEach((e, i) => {
      if (latest < 0 || e.date > this.entries[latest].date) latest = i;
    });
    if (this.entries.length < RING_SIZE) this.entries.splice(latest + 1, 0, entry);
    else this.entries[(latest + 1) % this.entries.length] = entry;
  }
}

function initialRing(nowMs: number, typicalDailyWh: number): ConsumptionEntry[] {
  const today = dayStart(nowMs);
  const ring: ConsumptionEntry[] = [];
  for (let slot = 0; slot < RING_SIZE; slot++) {
    const daysAgo = (TODAY_SLOT - slot + RING_SIZE) % RING_SIZE;
    const start = today - daysAgo * DAY_MS;
    if (daysAgo === 0) {
      const fraction = (nowMs - today) / DAY_MS;
      ring.push({ date: utcDay(start), time: Math.floor(nowMs / 1000), value: Math.floor(typicalDailyWh * fraction) });
    } else {
      // Real past entries were last written a minute or two before midnight, with day-to-day variation.
      const value = Math.round(typicalDailyWh * (0.8 + 0.4 * Math.random()));
      const time = Math.floor((start + DAY_MS) / 1000) - 60 - Math.floor(Math.random() * 120);
      ring.push({ date: utcDay(start), time, value });
    }
  }
  return ring;
}
