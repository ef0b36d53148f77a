import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DailyEnergy } from '../../src/meross/decode';
import { addDays, DETAILED_DAYS, EnergyLedger, LedgerFormatError, PLUG_WINDOW_DAYS, type DayEvidence } from '../../src/plug/ledger';

const DAY_MS = 86_400_000;
/** Day 0 of every scenario; noon, so local and UTC dates agree in any test machine's time zone. */
const START_MS = Date.UTC(2024, 4, 15, 12);
const date = (n: number): string => addDays('2024-05-15', n);
const at = (n: number, hour = 12): number => START_MS + n * DAY_MS + (hour - 12) * 3_600_000;

/** A ConsumptionX entry for day `n`, last updated at `hour` of that day. */
function entry(n: number, wh: number, hour = 23): DailyEnergy {
  return { date: date(n), time: Math.floor(at(n, hour) / 1000), wh };
}

/** The plug's full window on day `today`: 30 days, each `whOf(n)`. */
function window(today: number, whOf: (n: number) => number): DailyEnergy[] {
  return Array.from({ length: PLUG_WINDOW_DAYS }, (_, i) => entry(today - i, whOf(today - i)));
}

/** Readings of a plug that resets at midnight, taken while its power allowed whatever they show. */
const READ: DayEvidence = { maxUsedWh: Number.POSITIVE_INFINITY };

function ledgerAt(clock: { ms: number }): EnergyLedger {
  return new EnergyLedger(() => clock.ms);
}

describe('energy ledger', () => {
  it('takes unsorted readings with repeated days, trusting the most recently updated entry of a day', () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    // A ring buffer: today in the middle, and a stale slot for day -2 written earlier that day.
    const readings = [entry(-2, 310, 23), entry(0, 120, 12), entry(-1, 400), entry(-2, 90, 8), entry(-3, 250)];
    const report = ledger.merge(readings, READ);
    expect(report.changed).toBe(true);
    expect(ledger.dayWh(date(-2))).toBe(310);
    expect(ledger.totalWh).toBe(310 + 120 + 400 + 250);
    // The same reading again, in another order, changes nothing and counts nothing twice.
    expect(ledger.merge([...readings].reverse(), READ).changed).toBe(false);
    expect(ledger.totalWh).toBe(1080);
  });

  it("follows today's value as it grows and rolls over at the plug's midnight", () => {
    const clock = { ms: at(0, 9) };
    const ledger = ledgerAt(clock);
    ledger.merge([entry(-1, 400), entry(0, 100, 9)], READ);
    clock.ms = at(0, 18);
    ledger.merge([entry(-1, 400), entry(0, 250, 18)], READ);
    expect(ledger.totalWh).toBe(650);
    // Just after midnight: yesterday's last update landed, the new day has no entry yet.
    clock.ms = at(1, 0);
    ledger.merge([entry(-1, 400), entry(0, 300)], READ);
    // The new day appears, and the plug's final word on the old day comes with it.
    clock.ms = at(1, 1);
    ledger.merge([entry(-1, 400), entry(0, 310), entry(1, 4, 1)], READ);
    expect(ledger.dayWh(date(0))).toBe(310);
    expect(ledger.totalWh).toBe(400 + 310 + 4);
    expect(ledger.latestDate).toBe(date(1));
  });

  it('ignores what a plug with an unset clock reports: epoch dates, zeros and dates from the future', () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    const report = ledger.merge([
      { date: '1970-01-01', time: 40, wh: 0 },
      // Energy booked before the clock was set still carries the epoch date: never counted.
      { date: '1970-01-01', time: 3600, wh: 12 },
      { date: date(0), time: Math.floor(at(0) / 1000), wh: 0 },
      { date: '2037-01-01', time: 2_114_380_800, wh: 500 },
    ], READ);
    expect(report).toMatchObject({ changed: false, ignored: 4 });
    expect(ledger.isEmpty).toBe(true);
    expect(ledger.totalWh).toBe(0);
    // Once the clock is set, the plug's days count as usual.
    ledger.merge([{ date: '1970-01-01', time: 3600, wh: 12 }, entry(0, 80)], READ);
    expect(ledger.totalWh).toBe(80);
  });

  it('never subtracts nor counts twice when a factory-reset plug comes back with its history wiped', () => {
    const clock = { ms: at(0, 18) };
    const ledger = ledgerAt(clock);
    ledger.merge(window(0, (n) => (n === 0 ? 300 : 400)), READ);
    const before = ledger.totalWh;
    // The reset plug knows only today, counted from zero again.
    const restart = ledger.merge([entry(0, 20, 19)], READ);
    expect(restart.restarted).toEqual({ date: date(0), keptWh: 300, wh: 20 });
    expect(ledger.totalWh).toBe(before + 20);
    // The same figure again adds nothing; growth on the new counter adds only the growth.
    expect(ledger.merge([entry(0, 20, 19)], READ).changed).toBe(false);
    ledger.merge([entry(0, 70, 20)], READ);
    expect(ledger.dayWh(date(0))).toBe(370);
    expect(ledger.totalWh).toBe(before + 70);
    // Its next day starts normally.
    clock.ms = at(1);
    ledger.merge([entry(0, 90), entry(1, 10)], READ);
    expect(ledger.totalWh).toBe(before + 90 + 10);
  });

  it('keeps what it counted when a replaced plug brings another history for the same days', () => {
    const clock = { ms: at(0, 18) };
    const ledger = ledgerAt(clock);
    ledger.merge(window(0, () => 400), READ);
    const before = ledger.totalWh;
    // Another plug under the same identity: its past days differ, some higher, some lower, and one we never had.
    const other = [entry(-35, 999), entry(-20, 999), entry(-10, 50), entry(-1, 380), entry(0, 30, 19)];
    ledger.merge(other, READ);
    expect(ledger.dayWh(date(-35))).toBeUndefined();
    expect(ledger.dayWh(date(-20))).toBe(400);
    expect(ledger.dayWh(date(-10))).toBe(400);
    expect(ledger.dayWh(date(-1))).toBe(400);
    // Only the energy its own counter has seen today is new.
    expect(ledger.totalWh).toBe(before + 30);
    expect(ledger.lifetimeWh).toBe(before + 30);
  });

  it('fills ten days of Homebridge downtime from the plug window, reporting nothing missing', () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    // Days that go up and down, as a meter that resets at midnight shows them.
    const whOf = (n: number): number => 300 + (((n * 37) % 50) + 50) % 50;
    ledger.merge(window(0, whOf), READ);
    clock.ms = at(10);
    const report = ledger.merge(window(10, whOf), READ);
    expect(report.missing).toBeUndefined();
    let expected = 0;
    for (let n = -29; n <= 10; n++) expected += whOf(n);
    expect(ledger.totalWh).toBe(expected);
  });

  it('reports a gap longer than the plug remembers once, as missing, and invents nothing for it', () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    ledger.merge(window(0, () => 100), READ);
    clock.ms = at(40);
    const report = ledger.merge(window(40, () => 200), READ);
    // The window reaches back to day 11; days 1–10 are gone.
    expect(report.missing).toEqual({ from: date(1), to: date(10), days: 10 });
    expect(ledger.totalWh).toBe(30 * 100 + 30 * 200);
    expect(ledger.merge(window(40, () => 200), READ).missing).toBeUndefined();
    clock.ms = at(41);
    expect(ledger.merge(window(41, () => 200), READ).missing).toBeUndefined();
  });

  it('starts the total from the reset instant, with today\'s Wh at that moment as the offset', () => {
    const clock = { ms: at(0, 10) };
    const ledger = ledgerAt(clock);
    ledger.merge([entry(-1, 400), entry(0, 120, 10)], READ);
    const lifetime = ledger.lifetimeWh;
    ledger.resetAt(1_715_767_200);
    expect(ledger.totalWh).toBe(0);
    expect(ledger.resetTime).toBe(1_715_767_200);
    expect(ledger.reset).toEqual({ time: 1_715_767_200, day: date(0), offsetWh: 120 });
    ledger.merge([entry(-1, 400), entry(0, 200, 16)], READ);
    expect(ledger.totalWh).toBe(80);
    clock.ms = at(1);
    ledger.merge([entry(0, 230), entry(1, 50)], READ);
    expect(ledger.totalWh).toBe(110 + 50);
    // The lifetime ignores the reset.
    expect(ledger.lifetimeWh).toBe(lifetime - 120 + 230 + 50);
  });

  it("counts energy used since the last reading into the reset offset, so it does not reappear after the reset", () => {
    const clock = { ms: at(0, 10) };
    const ledger = ledgerAt(clock);
    ledger.merge([entry(0, 120, 10)], READ);
    ledger.resetAt(1_715_767_200, undefined, 7.5);
    ledger.merge([entry(0, 126, 11)], READ);
    expect(ledger.totalWh).toBe(0);
    ledger.merge([entry(0, 130, 12)], READ);
    expect(ledger.totalWh).toBeCloseTo(2.5, 9);
  });

  it('survives a save and load with every figure intact', () => {
    const clock = { ms: at(0, 10) };
    const ledger = ledgerAt(clock);
    ledger.merge(window(0, (n) => 100 + n * n), READ);
    ledger.merge([entry(0, 5, 11)], READ);
    ledger.resetAt(1_715_767_200);
    ledger.merge([entry(0, 9, 12)], READ);
    const json = JSON.parse(JSON.stringify(ledger)) as unknown;
    const copy = EnergyLedger.fromJSON(json, () => clock.ms);
    expect(copy.totalWh).toBe(ledger.totalWh);
    expect(copy.lifetimeWh).toBe(ledger.lifetimeWh);
    expect(copy.reset).toEqual(ledger.reset);
    expect(copy.toJSON()).toEqual(ledger.toJSON());
  });

  it('refuses files it did not write', () => {
    for (const bad of [null, [], { version: 2, days: {} }, { version: 1 }, { version: 1, days: { '2024-05-15': 'x' } }, { version: 1, days: { tomorrow: [1, 0] } }, { version: 1, days: {}, reset: { time: -1 } }]) {
      expect(() => EnergyLedger.fromJSON(bad), JSON.stringify(bad)).toThrow(LedgerFormatError);
    }
  });

  it('folds days long gone from the plug into sums, keeping the total, the lifetime and a reset among them', () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    let lifetime = 0;
    let sinceReset = 0;
    for (let n = 0; n < 200; n++) {
      clock.ms = at(n);
      ledger.merge([entry(n - 1, 100 + (n - 1)), entry(n, 100 + n)], READ);
      if (n === 20) ledger.resetAt(Math.floor(at(20) / 1000));
    }
    for (let n = -1; n < 200; n++) {
      lifetime += 100 + n;
      if (n > 20) sinceReset += 100 + n;
    }
    expect(ledger.lifetimeWh).toBe(lifetime);
    expect(ledger.totalWh).toBe(sinceReset);
    expect(Object.keys(ledger.toJSON().days).length).toBeLessThanOrEqual(DETAILED_DAYS);
    expect(EnergyLedger.fromJSON(JSON.parse(JSON.stringify(ledger))).totalWh).toBe(sinceReset);
  });

  it("books estimated energy on the plug's day it is given and marks the ledger as estimated", () => {
    const clock = { ms: at(0) };
    const ledger = ledgerAt(clock);
    ledger.addEstimate(date(0), 1.25);
    ledger.addEstimate(date(0), 2.5);
    ledger.addEstimate(date(1), 4);
    ledger.addEstimate(date(1), -3);
    ledger.addEstimate('not a date', 5);
    expect(ledger.estimated).toBe(true);
    expect(ledger.dayWh(date(0))).toBeCloseTo(3.75, 9);
    expect(ledger.totalWh).toBeCloseTo(7.75, 9);
    ledger.resetAt(Math.floor(at(1, 12) / 1000), date(1));
    ledger.addEstimate(date(1), 1);
    expect(ledger.totalWh).toBeCloseTo(1, 9);
    expect(EnergyLedger.fromJSON(JSON.parse(JSON.stringify(ledger))).estimated).toBe(true);
  });

  it('over any schedule of readings, counts each day as last seen and never decreases', () => {
    // A plug used `use[d]` Wh on day d, spread evenly over the day; Homebridge reads it at random moments,
    // sometimes with weeks in between. The ledger must hold each day's value as of the last reading that still
    // showed it, and its total must never go down.
    const scenario = fc.record({
      use: fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 80, maxLength: 80 }),
      steps: fc.array(fc.integer({ min: 1, max: 40 * 24 }), { minLength: 1, maxLength: 25 }),
    });
    fc.assert(
      fc.property(scenario, ({ use, steps }) => {
        const clock = { ms: START_MS };
        const ledger = ledgerAt(clock);
        const lastSeen = new Map<number, number>();
        let hours = 0;
        let previous = 0;
        for (const step of steps) {
          hours += step;
          const today = Math.floor(hours / 24);
          if (today >= use.length) break;
          clock.ms = START_MS - 12 * 3_600_000 + hours * 3_600_000;
          const partial = Math.floor((use[today] * (hours % 24)) / 24);
          const readings: DailyEnergy[] = [];
          for (let d = Math.max(0, today - PLUG_WINDOW_DAYS + 1); d <= today; d++) {
            const wh = d === today ? partial : use[d];
            if (wh > 0) readings.push({ date: date(d), time: Math.floor(clock.ms / 1000), wh });
            lastSeen.set(d, wh);
          }
          // The firmware's ring is not sorted.
          readings.sort((a, b) => (a.wh % 7) - (b.wh % 7));
          ledger.merge(readings, READ);
          expect(ledger.totalWh).toBeGreaterThanOrEqual(previous);
          previous = ledger.totalWh;
        }
        const expected = [...lastSeen.values()].reduce((a, b) => a + b, 0);
        expect(ledger.totalWh).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
