/**
 * Plug-local time: how a Meross plug turns UTC into its own calendar day (protocol.md §2.4, §3.2, §3.3).
 *
 * A plug has no time zone database. It is told its UTC offsets as a `timeRule` list of
 * `[utcEpochWhenRuleStarts, utcOffsetSeconds, isDst]` (by the Meross app, or by `Appliance.System.Time` SET), and
 * uses the last rule that has started. An empty list means UTC. Pure functions, no clock of their own.
 */

export type TimeRule = readonly [startS: number, offsetS: number, isDst: 0 | 1];

const DAY_S = 86_400;
/** Real zones run from UTC−12 to UTC+14; anything beyond is a broken rule, not a place. */
const MAX_OFFSET_S = 14 * 3600;
const MIN_OFFSET_S = -12 * 3600;

/** Reads a `timeRule` list from a reply, dropping malformed items (obfuscated traces turn numbers into strings). */
export function parseTimeRules(raw: unknown): TimeRule[] {
  if (!Array.isArray(raw)) return [];
  const rules: TimeRule[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || item.length < 2) continue;
    const [start, offset, dst] = item.map(toNumber);
    if (!Number.isFinite(start) || !Number.isInteger(offset) || offset < MIN_OFFSET_S || offset > MAX_OFFSET_S) continue;
    rules.push([start, offset, dst === 1 ? 1 : 0]);
  }
  return rules.sort((a, b) => a[0] - b[0]);
}

/** Numbers and numeric strings only: Number() on a JSON object whose own "toString" is not a function throws. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return Number.NaN;
}

/** The offset the plug applies at `utcS`: the last rule that has started (the first one before any has). */
export function ruleOffsetAt(rules: readonly TimeRule[], utcS: number): number {
  if (rules.length === 0) return 0;
  let offset = rules[0][1];
  for (const [start, off] of rules) {
    if (start > utcS) break;
    offset = off;
  }
  return offset;
}

/** `YYYY-MM-DD` of the instant `utcS` seen at `offsetS` east of UTC. */
export function dateAtOffset(utcS: number, offsetS: number): string {
  return new Date((utcS + offsetS) * 1000).toISOString().slice(0, 10);
}

/** UTC seconds of the local midnight that starts the day holding `utcS`, for an offset function of UTC time. */
export function midnightBefore(utcS: number, offsetAt: (utcS: number) => number): number {
  const local = utcS + offsetAt(utcS);
  const localMidnight = local - (((local % DAY_S) + DAY_S) % DAY_S);
  // The offset at midnight may differ from the one now (a DST change during the night): take the one in force then.
  let midnight = localMidnight - offsetAt(utcS);
  midnight = localMidnight - offsetAt(midnight);
  return midnight;
}

/** Names already checked. Building an Intl.DateTimeFormat costs about a millisecond; each plug asks every 5 minutes. */
const knownZones = new Map<string, boolean>();

/** Whether `name` is an IANA time zone this Node.js knows (its ICU data). */
export function isTimeZone(name: string): boolean {
  if (!name || name.length > 64) return false;
  let known = knownZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      known = true;
    } catch {
      known = false;
    }
    // A hostile plug could send endless made-up names; a few hundred real zones exist.
    if (knownZones.size < 1000) knownZones.set(name, known);
  }
  return known;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The offset east of UTC, in seconds, of IANA zone `zone` at `utcS`. Throws RangeError for an unknown zone. */
export function zoneOffsetAt(zone: string, utcS: number): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, f);
  }
  const name = f.formatToParts(new Date(utcS * 1000)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT(?:([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/.exec(name);
  if (!m || !m[1]) return 0;
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return m[1] === '-' ? -seconds : seconds;
}

/**
 * The `timeRule` list to send with `Appliance.System.Time` SET for `zone` at `nowS`: the rule in force now and the
 * transitions of the next `years` years, as the Meross app fills it (meross_lan sends only the current and the next
 * one and re-checks; a longer list lets a plug that is not re-checked keep the right offset). A zone without daylight
 * saving gets one rule. `isDst` marks the offsets above the zone's lowest offset in that span.
 */
export function buildTimeRules(zone: string, nowS: number, years = 2): TimeRule[] {
  const end = nowS + Math.round(years * 365.25 * DAY_S);
  // Transitions are at least weeks apart; a 6-hour step finds each one, bisection pins it to the second.
  const step = 6 * 3600;
  let previous = findPreviousTransition(zone, nowS);
  const starts: Array<[number, number]> = [[previous, zoneOffsetAt(zone, nowS)]];
  let t = nowS;
  let offset = zoneOffsetAt(zone, t);
  while (t < end) {
    const next = Math.min(t + step, end);
    const nextOffset = zoneOffsetAt(zone, next);
    if (nextOffset !== offset) {
      previous = bisectTransition(zone, t, next);
      starts.push([previous, nextOffset]);
      offset = nextOffset;
    }
    t = next;
  }
  const lowest = Math.min(...starts.map(([, o]) => o));
  return starts.map(([start, o]) => [start, o, o > lowest ? 1 : 0] as TimeRule);
}

/** The latest transition at or before `nowS` within the past year, or `nowS` itself for a zone without one. */
function findPreviousTransition(zone: string, nowS: number): number {
  const step = 6 * 3600;
  const offset = zoneOffsetAt(zone, nowS);
  for (let t = nowS; t > nowS - 366 * DAY_S; t -= step) {
    if (zoneOffsetAt(zone, t - step) !== offset) return bisectTransition(zone, t - step, t);
  }
  return nowS;
}

/** The first second in (lo, hi] whose offset differs from the one at `lo`. */
function bisectTransition(zone: string, lo: number, hi: number): number {
  const before = zoneOffsetAt(zone, lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}
