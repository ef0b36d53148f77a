import { describe, expect, it } from 'vitest';
import { parseTimeRules } from '../../src/meross/time';
import { EnergyLedger } from '../../src/plug/ledger';
import { PlugCalendar } from '../../src/plug/calendar';
import { TRACE_ENERGY, type TraceEnergy } from '../fixtures/consumption-traces';

function calendarOf(trace: TraceEnergy): PlugCalendar {
  const calendar = new PlugCalendar();
  calendar.setZone(trace.time.timezone, parseTimeRules(trace.time.timeRule), trace.time.timestamp * 1000);
  return calendar;
}

const entries = (trace: TraceEnergy): Array<{ date: string; time: number; wh: number }> =>
  trace.consumptionx.map((e) => ({ date: e.date, time: e.time, wh: e.value }));

describe("the plug's calendar, from the traced plugs", () => {
  it('learns from its entries that fw 1.1.18 books UTC days although it keeps Europe/Dublin at UTC+1', () => {
    const calendar = calendarOf(TRACE_ENERGY.fw1_1_18);
    expect(calendar.booking).toBe('rules');
    expect(calendar.learnFrom(entries(TRACE_ENERGY.fw1_1_18))).toBe('utc');
    // 2024-04-29 23:30 UTC is 00:30 on the 30th in Dublin, but still the 29th for this plug's meter.
    calendar.observeClock(Date.UTC(2024, 3, 29, 23, 30) / 1000, Date.UTC(2024, 3, 29, 23, 30));
    expect(calendar.dateAt(Date.UTC(2024, 3, 29, 23, 30))).toBe('2024-04-29');
  });

  it('keeps local days for fw 2.1.17 (London) and UTC days for the mss310r without a zone', () => {
    expect(calendarOf(TRACE_ENERGY.fw2_1_17).learnFrom(entries(TRACE_ENERGY.fw2_1_17))).toBe('rules');
    const r = calendarOf(TRACE_ENERGY.fw2_1_4r);
    expect(r.learnFrom(entries(TRACE_ENERGY.fw2_1_4r))).toBe('utc');
    expect(r.timezone).toBe('');
  });

  it('uses the plug clock, not the host clock, for its day and midnight', () => {
    const calendar = new PlugCalendar();
    calendar.setZone('Asia/Kolkata', [[0, 19800, 0]], Date.UTC(2026, 5, 10, 18, 20));
    const host = Date.UTC(2026, 5, 10, 18, 20); // 23:50 in Kolkata
    calendar.observeClock(host / 1000 + 15 * 60, host); // the plug runs 15 minutes fast
    expect(calendar.clockOffsetMs).toBe(15 * 60_000);
    expect(calendar.dateAt(host)).toBe('2026-06-11');
    expect(calendar.midnightBefore(host)).toBe(Date.UTC(2026, 5, 10, 18, 15));
    calendar.observeClock(40, host);
    expect(calendar.clockIsUnset).toBe(true);
    expect(calendar.clockOffsetMs).toBeUndefined();
  });

  it('keeps its choice when the entries agree with no hypothesis (a clock that jumped)', () => {
    const calendar = new PlugCalendar();
    calendar.setZone('Europe/London', [[0, 3600, 1]], Date.UTC(2026, 5, 10, 12));
    const t = Date.UTC(2026, 5, 10, 12) / 1000;
    expect(calendar.learnFrom([{ date: '2026-06-01', time: t, wh: 5 }])).toBe('rules');
  });

  it('replays each traced window into a fresh ledger: every positive day counted once, a resetting meter recognised', () => {
    for (const trace of Object.values(TRACE_ENERGY)) {
      const readAt = Math.max(...trace.consumptionx.map((e) => e.time)) * 1000;
      const ledger = new EnergyLedger(() => readAt);
      ledger.merge(entries(trace), {});
      const sum = trace.consumptionx.filter((e) => e.value > 0).reduce((s, e) => s + e.value, 0);
      expect(ledger.lifetimeWh, trace.file).toBe(sum);
      expect(ledger.midnight, trace.file).toBe('resets');
    }
  });

  it('follows a zone the plug was just given, though its older days were booked in the old one', () => {
    const day = 86_400;
    const set = Date.UTC(2026, 5, 10, 12) / 1000;
    // Ten UTC days, each last written at 23:55 UTC: in Kolkata that is 05:25 the next day.
    const utcDays = Array.from({ length: 10 }, (_, i) => {
      const date = new Date((set - (10 - i) * day) * 1000).toISOString().slice(0, 10);
      return { date, time: Date.parse(`${date}T23:55:00Z`) / 1000, wh: 100 + i };
    });
    const calendar = new PlugCalendar();
    calendar.setZone('', [], set * 1000);
    expect(calendar.learnFrom(utcDays)).toBe('utc');
    // Told Asia/Kolkata at `set`; an hour later it writes today's entry in Kolkata's day (18:30 IST on the 10th).
    calendar.setZone('Asia/Kolkata', [[set, 19_800, 0]], set * 1000);
    const today = { date: '2026-06-10', time: set + 3600, wh: 7 };
    expect(calendar.learnFrom([...utcDays, today])).toBe('rules');
    // 02:00 IST on the 11th is still the 10th in UTC: the plug's day is Kolkata's.
    expect(calendar.dateAt(Date.UTC(2026, 5, 10, 20, 30))).toBe('2026-06-11');
  });
});
