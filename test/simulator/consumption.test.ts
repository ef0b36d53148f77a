import { describe, expect, it } from 'vitest';
import { EnergyMeter } from '../../src/simulator/consumption';

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
});
