import { buildTimeRules, type MerossClient, type SystemInfo } from '../meross';
import { PlugCalendar } from '../plug/calendar';

/** What `meross-lan time` reports: the plug's clock and zone, and when its energy day begins here. */
export interface TimeReport {
  host: string;
  /** The plug's clock, ISO 8601 UTC. */
  plugClock: string;
  /** Plug clock minus this computer's, seconds (positive: the plug is ahead). */
  offsetSeconds: number;
  timezone: string;
  /** The UTC offset the plug applies now, seconds east. */
  utcOffsetSeconds: number;
  /** When the plug's current local day began, as this computer's local time. */
  dayBegan: string;
  /** Set when --timezone was sent: the zone the plug had before. */
  changedFrom?: string;
}

/**
 * `meross-lan time [--timezone ZONE]`: reads the plug's clock and zone; with a zone, tells the plug that zone first
 * (Appliance.System.Time SET with its transition rules, as the plugin does for a configured `timezone`).
 */
export async function plugTime(c: MerossClient, timezone: string | undefined, hostNow: () => number): Promise<TimeReport> {
  let info: SystemInfo = await c.systemAll();
  let changedFrom: string | undefined;
  if (timezone !== undefined) {
    const deviceNow = info.deviceTime !== undefined && info.deviceTime > 1_000_000_000 ? info.deviceTime : Math.floor(hostNow() / 1000);
    await c.setTimeZone(timezone, buildTimeRules(timezone, deviceNow));
    changedFrom = info.timezone ?? '';
    info = await c.systemAll();
  }
  const now = hostNow();
  const calendar = new PlugCalendar();
  if (info.deviceTime !== undefined) calendar.observeClock(info.deviceTime, now);
  calendar.setZone(info.timezone, info.timeRules, now);
  const offsetMs = calendar.clockOffsetMs ?? 0;
  const began = calendar.midnightBefore(now);
  const utcOffsetSeconds = calendar.utcOffsetAt(now);
  const report: TimeReport = {
    host: c.label,
    plugClock: info.deviceTime !== undefined ? new Date(info.deviceTime * 1000).toISOString() : 'unknown',
    offsetSeconds: calendar.clockIsUnset ? Number.NaN : Math.round(offsetMs / 1000),
    timezone: info.timezone ?? '',
    utcOffsetSeconds,
    dayBegan: localStamp(began),
  };
  if (changedFrom !== undefined) report.changedFrom = changedFrom;
  return report;
}

export function formatTime(r: TimeReport): string {
  const offset = Number.isNaN(r.offsetSeconds)
    ? 'not set (the plug reports 0 W until it gets the time)'
    : `${r.offsetSeconds === 0 ? 'in step with' : `${Math.abs(r.offsetSeconds)} s ${r.offsetSeconds > 0 ? 'ahead of' : 'behind'}`} this computer`;
  const sign = r.utcOffsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(r.utcOffsetSeconds);
  const utc = `UTC${sign}${String(Math.floor(abs / 3600)).padStart(2, '0')}:${String(Math.floor((abs % 3600) / 60)).padStart(2, '0')}`;
  const lines = [
    `${r.host}:`,
    `  clock      ${r.plugClock} (${offset})`,
    `  time zone  ${r.timezone || 'none (the plug counts UTC days)'}, ${utc} now`,
    `  energy day began ${r.dayBegan} this computer's time`,
  ];
  if (r.changedFrom !== undefined) lines.push(`  time zone set to ${r.timezone} (it had ${r.changedFrom || 'none'})`);
  return `${lines.join('\n')}\n`;
}

function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
