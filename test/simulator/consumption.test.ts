import { describe, expect, it } from 'vitest';
import { EnergyMeter, plugDay } from '../../src/simulator/consumption';
import { SimulatedPlug } from '../../src/simulator';

const HOUR = 3_600_000;

describe('simulator energy meter', () => {
  it('starts with 30 distinct days, today mid-array and the oldest right after it', () => {
    const meter = new EnergyMeter(Date.UTC(2024, 3, 29, 18), 400);
    const dates = meter.entries.map((e) => e.date);
    expect(new Set(dates).size).toBe(30);
    const today = dates.indexOf('2024-04-29');
    expect(today).toBe(17);
    expect(dates[today + 1]).toBe('2024-03-31');
    expect([...dates].sort()[0]).toBe('2024-03-31');
  });

  it('books whole Wh only and carries the fraction', () => {
    const start = Date.UTC(2024, 3, 29, 12);
    const meter = new EnergyMeter(start, 400);
    const today = meter.entries.find((e) => e.date === '2024-04-29');
    const before = today?.value ?? 0;
    meter.advance(start + HOUR / 4, 6); // 1.5 Wh
    expect(today?.value).toBe(before + 1);
    meter.advance(start + HOUR / 2, 6); // another 1.5 Wh: 3 in total
    expect(today?.value).toBe(before + 3);
    meter.advance(start + HOUR, 0);
    expect(today?.value).toBe(before + 3);
  });

  it('at midnight overwrites the oldest slot, once the new day has a whole Wh', () => {
    const start = Date.UTC(2024, 3, 29, 23);
    const meter = new EnergyMeter(start, 400);
    const yesterdayBefore = meter.entries.find((e) => e.date === '2024-04-29')?.value ?? 0;
    // 23:00 → 00:00:30 at 60 W: 60 Wh for the old day, 0.5 Wh for the new one (not enough for an entry yet).
    meter.advance(Date.UTC(2024, 3, 30, 0, 0, 30), 60);
    expect(meter.entries.find((e) => e.date === '2024-04-29')?.value).toBe(yesterdayBefore + 60);
    expect(meter.entries.find((e) => e.date === '2024-04-30')).toBeUndefined();
    meter.advance(Date.UTC(2024, 3, 30, 0, 1, 0), 60);
    const dates = meter.entries.map((e) => e.date);
    expect(meter.entries).toHaveLength(30);
    expect(dates[18]).toBe('2024-04-30');
    expect(dates).not.toContain('2024-03-31');
    expect(meter.entries[18]).toEqual({ date: '2024-04-30', time: Date.UTC(2024, 3, 30, 0, 1, 0) / 1000, value: 1 });
  });

  it('starts a day at yesterday\'s figure once (carry-once) and then resets again', () => {
    const meter = new EnergyMeter(Date.UTC(2024, 3, 29, 23, 50), 400, () => 0, 'carry-once');
    const yesterday = meter.entries.find((e) => e.date === '2024-04-29')!;
    meter.advance(Date.UTC(2024, 3, 30, 0, 10), 60);
    const carried = meter.entries.find((e) => e.date === '2024-04-30')!;
    // The new day starts at the old day's final figure (10 min at 60 W = 10 Wh before midnight), plus 10 Wh after it.
    expect(carried.value).toBe(yesterday.value + 10);
    expect(meter.midnight).toBe('reset');
    meter.advance(Date.UTC(2024, 4, 1, 0, 10), 60);
    expect(meter.entries.find((e) => e.date === '2024-05-01')!.value).toBe(10);
  });

  it('never resets in cumulative mode: its window rises day by day and each new day starts where the last ended', () => {
    const meter = new EnergyMeter(Date.UTC(2024, 3, 29, 12), 400, () => 0, 'cumulative');
    const sorted = [...meter.entries].sort((a, b) => (a.date < b.date ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].value).toBeGreaterThan(sorted[i - 1].value);
    const today = meter.entries.find((e) => e.date === '2024-04-29')!.value;
    // Off all night: the new day still appears at midnight, at yesterday's figure.
    meter.jump(Date.UTC(2024, 3, 30, 0, 0, 1));
    expect(meter.entries.find((e) => e.date === '2024-04-30')!.value).toBe(today);
  });

  it("books days in the plug's own zone, 23 and 25 hours long across daylight-saving changes", () => {
    const kolkata = (): number => 19_800;
    // 20:00 UTC is 01:30 the next day in Kolkata.
    expect(plugDay(Date.UTC(2024, 3, 29, 20), kolkata)).toBe('2024-04-30');
    const london = (s: number): number => (s >= Date.UTC(2024, 2, 31, 1) / 1000 && s < Date.UTC(2024, 9, 27, 1) / 1000 ? 3600 : 0);
    for (const [from, to, hours] of [
      [Date.UTC(2024, 2, 31, 0), Date.UTC(2024, 2, 31, 23), 23],
      [Date.UTC(2024, 9, 26, 23), Date.UTC(2024, 9, 28, 0), 25],
    ] as const) {
      const meter = new EnergyMeter(from - 60_000, 400, london);
      meter.advance(from, 0);
      const day = plugDay(from, london);
      const start = meter.entries.find((e) => e.date === day)?.value ?? 0;
      meter.advance(to - 1, 100);
      meter.advance(to + 60_000, 0);
      expect(Math.abs((meter.entries.find((e) => e.date === day)?.value ?? 0) - start - hours * 100)).toBeLessThanOrEqual(1);
    }
  });

  it('runs a skewed, drifting or fast-forwarded clock and reports an empty zone', async () => {
    let host = Date.UTC(2026, 5, 10, 23, 59, 30);
    const sim = await SimulatedPlug.start({ timezone: '', clockSkewMs: 5000, clockDriftPpm: 1000, now: () => host });
    try {
      expect(sim.clock - host).toBe(5000);
      host += 1_000_000;
      expect(sim.clock - host).toBe(6000);
      expect(sim.today).toBe('2026-06-11');
      sim.fastForward(86_400_000);
      expect(sim.today).toBe('2026-06-12');
      expect(sim.timezone).toBe('');
    } finally {
      await sim.stop();
    }
  });
});
