import { describe, expect, it } from 'vitest';

/** The energy tests run under several host time zones (vitest.config.mts); this checks the zone really applies. */
describe('host time zone of this run', () => {
  it('is the one TZ names, for Date as for Intl', () => {
    const zone = process.env.TZ ?? 'UTC';
    // 2026-01-15 12:00 UTC: the offset Date applies must be the one the zone's own rules give then.
    const at = new Date(Date.UTC(2026, 0, 15, 12));
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')!.value;
    const m = /GMT(?:([+-])(\d\d):(\d\d))?/.exec(name)!;
    const east = m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    expect(0 - at.getTimezoneOffset() + 0).toBe(east + 0);
    // The runs named for a zone far from UTC really are far from it (the names are aliases in ICU, offsets are not).
    if (zone !== 'UTC' && zone !== 'Etc/UTC') expect(east).not.toBe(0);
  });
});
