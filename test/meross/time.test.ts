import { describe, expect, it } from 'vitest';
import { buildTimeRules, dateAtOffset, isTimeZone, midnightBefore, parseTimeRules, ruleOffsetAt, zoneOffsetAt } from '../../src/meross/time';
import { TRACE_ENERGY } from '../fixtures/consumption-traces';

describe('plug time rules', () => {
  it("builds the same transitions the Meross app gave the traced plugs (London on 2.1.17, Dublin on 1.1.18)", () => {
    for (const trace of [TRACE_ENERGY.fw2_1_17, TRACE_ENERGY.fw1_1_18]) {
      const { timestamp, timezone, timeRule } = trace.time;
      const built = buildTimeRules(timezone, timestamp, 3);
      expect(built.length).toBeGreaterThanOrEqual(6);
      const fromApp = new Set(timeRule.map((r) => r.join(',')));
      for (const rule of built) expect(fromApp.has(rule.join(',')), `${timezone} ${rule.join(',')}`).toBe(true);
    }
  });

  it('gives one rule to a zone without daylight saving, and half-hour and 30-minute-DST offsets to the second', () => {
    const t = Date.UTC(2026, 11, 1, 12) / 1000;
    expect(buildTimeRules('Asia/Kolkata', t)).toEqual([[t, 19800, 0]]);
    expect(zoneOffsetAt('Pacific/Kiritimati', t)).toBe(14 * 3600);
    expect(zoneOffsetAt('Etc/GMT+12', t)).toBe(-12 * 3600);
    const lordHowe = buildTimeRules('Australia/Lord_Howe', t);
    expect(new Set(lordHowe.map((r) => r[1]))).toEqual(new Set([37800, 39600]));
    expect(lordHowe.filter((r) => r[2] === 1).every((r) => r[1] === 39600)).toBe(true);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('reads rules as the firmware applies them: the last started rule, numbers from strings, nonsense dropped', () => {
    const rules = parseTimeRules([[2000, '3600', 1], ['@0', 0, 0], [1000, 0, 0], [3000, 99 * 3600, 0], 'x', [1500]]);
    expect(rules).toEqual([[1000, 0, 0], [2000, 3600, 1]]);
    expect(ruleOffsetAt(rules, 500)).toBe(0);
    expect(ruleOffsetAt(rules, 1999)).toBe(0);
    expect(ruleOffsetAt(rules, 2000)).toBe(3600);
    expect(ruleOffsetAt([], 2000)).toBe(0);
    expect(parseTimeRules(undefined)).toEqual([]);
  });

  it('finds local midnight on the short and the long day of daylight saving', () => {
    const london = buildTimeRules('Europe/London', Date.UTC(2026, 0, 1) / 1000, 2);
    const at = (ms: number): number => ruleOffsetAt(london, ms);
    // 2026-03-29 is 23 hours long in London: 00:00 GMT to 00:00 BST.
    const afterSpring = Date.UTC(2026, 2, 29, 12) / 1000;
    expect(midnightBefore(afterSpring, at)).toBe(Date.UTC(2026, 2, 29, 0) / 1000);
    expect(midnightBefore(Date.UTC(2026, 2, 30, 12) / 1000, at)).toBe(Date.UTC(2026, 2, 29, 23) / 1000);
    // 2026-10-25 is 25 hours long: 00:00 BST (23:00 UTC the day before) to 00:00 GMT.
    expect(midnightBefore(Date.UTC(2026, 9, 25, 12) / 1000, at)).toBe(Date.UTC(2026, 9, 24, 23) / 1000);
    expect(midnightBefore(Date.UTC(2026, 9, 26, 12) / 1000, at)).toBe(Date.UTC(2026, 9, 26, 0) / 1000);
    expect(dateAtOffset(Date.UTC(2026, 9, 24, 23, 30) / 1000, at(Date.UTC(2026, 9, 24, 23, 30) / 1000))).toBe('2026-10-25');
  });
});
