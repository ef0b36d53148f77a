/**
 * Fuzz properties of the energy ledger (src/plug/ledger.ts), through its public API only: random sequences of
 * meter readings (real ring-buffer shapes, unset-clock entries, future and malformed dates, zeros, huge and
 * non-finite values), power estimates, Eve resets, clock jumps and save/load round trips. Whatever comes in:
 * nothing throws, the lifetime total never falls, the total since the reset stays between 0 and the lifetime,
 * rejected entries add nothing, and what is saved loads back to the same totals. Saved files that are not a
 * ledger (any JSON, or a real ledger mutated) load or fail with LedgerFormatError only.
 */
import fc from 'fast-check';
import type { DailyEnergy } from '../../src/meross/decode';
import { addDays, EnergyLedger, LedgerFormatError, utcDate, type DayEvidence } from '../../src/plug/ledger';
import { jsonish, mutate, mutation } from './arbitraries';
import { defineSpec, timed, type FuzzSpec } from './properties';

const DAY_MS = 86_400_000;
const BASE_DATE = '2024-05-15';
const BASE_MS = Date.UTC(2024, 4, 15, 12);

/** A date near the base date mostly; sometimes one the ledger must refuse. */
const date: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -70, max: 40 }).map((n) => addDays(BASE_DATE, n)) },
  { weight: 1, arbitrary: fc.constantFrom('1970-01-01', '1999-12-31', '2099-12-31', '2024-02-30', '2024-5-1', '', '2024-05-15T00:00', '9999-99-99') },
);

/** Wh: a day's worth of a plug mostly; sometimes what only a broken or hostile plug would say. */
const wh: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5000 }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 100_000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 0.5, 1e9, 1e308, Number.MAX_VALUE, Infinity, -Infinity, NaN) },
);

const reading: fc.Arbitrary<DailyEnergy> = fc.record({
  date,
  time: fc.oneof(fc.integer({ min: 1_700_000_000, max: 1_730_000_000 }), fc.constantFrom(0, 40, -1)),
  wh,
});

type Op =
  | { op: 'merge'; readings: DailyEnergy[] }
  | { op: 'window'; today: number; scale: number }
  | { op: 'estimate'; hours: number; wh: number }
  | { op: 'reset'; hours: number; unread: number }
  | { op: 'clock'; hours: number }
  | { op: 'reload' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('merge' as const), readings: fc.array(reading, { maxLength: 35 }) }) },
  // A whole ConsumptionX window as a plug sends it on day `today`, as values that grow over the days.
  { weight: 3, arbitrary: fc.record({ op: fc.constant('window' as const), today: fc.integer({ min: -5, max: 35 }), scale: fc.integer({ min: 0, max: 800 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('estimate' as const), hours: fc.integer({ min: -48, max: 48 }), wh }) },
  // `unread` is the plug model's own power integral (finite and ≥ 0 by construction), not outside input.
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('reset' as const),
      hours: fc.integer({ min: -48, max: 48 }),
      unread: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(0, 1e308)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clock' as const), hours: fc.integer({ min: -72, max: 24 * 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reload' as const }) },
);

/** The fuzzed plug resets at midnight and its power allowed whatever a reading shows. */
const READ: DayEvidence = { maxUsedWh: Number.POSITIVE_INFINITY };

function windowReadings(today: number, scale: number): DailyEnergy[] {
  return Array.from({ length: 30 }, (_, i) => {
    const n = today - i;
    return { date: addDays(BASE_DATE, n), time: Math.floor((BASE_MS + n * DAY_MS) / 1000), wh: scale + ((n * 37) % 101 + 101) % 101 };
  });
}

/** Saved as the plugin saves it (JSON text) and loaded back. */
function reload(ledger: EnergyLedger, now: () => number): EnergyLedger {
  return EnergyLedger.fromJSON(JSON.parse(JSON.stringify(ledger.toJSON())) as unknown, now);
}

const close = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function check(ok: boolean, what: string, state: () => unknown): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(state())}`);
}

export const ledgerSpecs: FuzzSpec[] = [
  defineSpec({
    name: 'the energy ledger keeps its totals sound under any sequence of readings, estimates, resets and reloads',
    area: 'ledger',
    quickRuns: 250,
    longRuns: 20_000,
    property: () =>
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const clock = { ms: BASE_MS };
        const now = (): number => clock.ms;
        let ledger = new EnergyLedger(now);
        let lifetime = 0;
        for (const o of ops) {
          const state = (): unknown => ({ op: o, before: lifetime, ledger: ledger.toJSON() });
          const totalBefore = ledger.totalWh;
          timed(`ledger ${o.op}`, () => {
            switch (o.op) {
              case 'merge':
              case 'window': {
                const readings = o.op === 'merge' ? o.readings : windowReadings(o.today, o.scale);
                const first = ledger.merge(readings, READ);
                check(first.ignored >= 0 && first.ignored <= readings.length, 'ignored out of range', state);
                // The same reading twice counts once.
                const merged = ledger.lifetimeWh;
                const again = ledger.merge(readings, READ);
                check(!again.changed && close(ledger.lifetimeWh, merged), 'a repeated reading changed the ledger', state);
                // Nothing the ledger refuses can add energy.
                const refused = readings.filter((r) => !(r.wh > 0 && Number.isFinite(r.wh) && /^\d{4}-\d{2}-\d{2}$/.test(r.date) && r.date >= '2000-01-01'));
                const before = ledger.lifetimeWh;
                ledger.merge(refused, READ);
                check(close(ledger.lifetimeWh, before), 'unset-clock, zero or malformed entries added energy', state);
                break;
              }
              case 'estimate':
                ledger.addEstimate(utcDate(clock.ms + o.hours * 3_600_000), o.wh);
                break;
              case 'reset':
                ledger.resetAt(Math.floor(clock.ms / 1000) + o.hours * 3600, undefined, o.unread);
                break;
              case 'clock':
                clock.ms += o.hours * 3_600_000;
                break;
              case 'reload': {
                const loaded = reload(ledger, now);
                check(close(loaded.lifetimeWh, ledger.lifetimeWh) && close(loaded.totalWh, ledger.totalWh), 'a reload changed the totals', state);
                check(loaded.resetTime === ledger.resetTime, 'a reload changed the reset time', state);
                ledger = loaded;
                break;
              }
            }
          });
          const { lifetimeWh, totalWh } = ledger;
          check(Number.isFinite(lifetimeWh) && lifetimeWh >= 0, `lifetime ${lifetimeWh} is not a finite number ≥ 0`, state);
          check(lifetimeWh >= lifetime - 1e-6, `lifetime fell from ${lifetime} to ${lifetimeWh}`, state);
          check(Number.isFinite(totalWh) && totalWh >= 0 && totalWh <= lifetimeWh + 1e-6, `total ${totalWh} outside [0, ${lifetimeWh}]`, state);
          if (o.op !== 'reset') check(totalWh >= totalBefore - 1e-6, `total fell from ${totalBefore} to ${totalWh} without a reset`, state);
          lifetime = lifetimeWh;
        }
      }),
  }),
  defineSpec({
    name: 'a saved ledger that was tampered with or is not a ledger at all loads, or fails with LedgerFormatError',
    area: 'ledger',
    quickRuns: 300,
    longRuns: 30_000,
    property: () =>
      fc.property(
        fc.oneof(
          { weight: 1, arbitrary: jsonish },
          {
            weight: 3,
            arbitrary: fc
              .tuple(fc.integer({ min: 0, max: 40 }), fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }))
              .map(([today, wasReset, mutations]) => {
                const ledger = new EnergyLedger(() => BASE_MS + today * DAY_MS);
                ledger.merge(windowReadings(today, 300), READ);
                if (wasReset) ledger.resetAt(Math.floor((BASE_MS + today * DAY_MS) / 1000));
                return mutate(JSON.parse(JSON.stringify(ledger.toJSON())) as unknown, mutations);
              }),
          },
        ),
        (raw) => {
          let loaded: EnergyLedger;
          try {
            loaded = timed('fromJSON', () => EnergyLedger.fromJSON(raw, () => BASE_MS));
          } catch (error) {
            if (error instanceof LedgerFormatError) return;
            throw error;
          }
          // Whatever was accepted is a usable ledger: totals in order, and it saves and loads back the same. (A file
          // edited to hold 1e308 Wh days may sum to Infinity; the ledger only vouches for what the plug reports.)
          check(loaded.lifetimeWh >= 0 && loaded.totalWh >= 0 && loaded.totalWh <= loaded.lifetimeWh + 1e-6, `loaded totals ${loaded.totalWh}/${loaded.lifetimeWh}`, () => raw);
          if (!Number.isFinite(loaded.lifetimeWh)) return;
          const again = reload(loaded, () => BASE_MS);
          check(close(again.lifetimeWh, loaded.lifetimeWh) && close(again.totalWh, loaded.totalWh), 'not stable across a save', () => raw);
        },
      ),
  }),
];
