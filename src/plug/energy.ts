import type { DailyEnergy } from '../meross/decode';

/**
 * Days a plug reports before its clock is set carry epoch dates (1970-…) and zeros (protocol.md §2.4);
 * counting them would invent energy, so they never count.
 */
export function isPlausibleDay(day: DailyEnergy): boolean {
  return day.date >= '2000-01-01' && day.wh >= 0;
}

/** Total of the plug's own meter over the days it still reports, in Wh. */
export function totalWh(days: readonly DailyEnergy[]): number {
  return days.filter(isPlausibleDay).reduce((sum, d) => sum + d.wh, 0);
}
