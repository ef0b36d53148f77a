import type { PlugValues } from '../plug/plug';

/**
 * Matter's electrical clusters count in integer milli-units (mW, mV, mA, mWh); the plug model keeps SI units
 * (W, V, A, kWh). The model has already turned the MSS310's raw deci-volts into volts, so mV = V × 1000 here
 * (= raw dV × 100); multiplying raw dV by 1000, or passing it through, is the classic bug this file exists to avoid.
 */
const milli = (si: number, factor = 1000): number => (Number.isFinite(si) && si > 0 ? Math.round(si * factor) : 0);

export const toMilliwatts = (watts: number): number => milli(watts);
export const toMillivolts = (volts: number): number => milli(volts);
export const toMilliamps = (amps: number): number => milli(amps);
export const toMilliwattHours = (kWh: number): number => milli(kWh, 1_000_000);

/** ElectricalPowerMeasurement attributes; null is Matter's "no measurement" (used while the plug is unreachable). */
export interface PowerState {
  activePower: number | null;
  voltage: number | null;
  activeCurrent: number | null;
}

export function powerState(values: Readonly<PlugValues>, reachable: boolean): PowerState {
  if (!reachable) return { activePower: null, voltage: null, activeCurrent: null };
  return { activePower: toMilliwatts(values.watts), voltage: toMillivolts(values.volts), activeCurrent: toMilliamps(values.amps) };
}

/**
 * CumulativeEnergyImported in mWh. Matter requires it never to go down, so it is the plug's lifetime total (which
 * ignores Eve's Reset Total) held at or above what controllers have already seen. Null until anything was metered.
 */
export function cumulativeEnergy(lifetimeKWh: number, alreadyReported: number | null): number | null {
  const energy = toMilliwattHours(lifetimeKWh);
  if (alreadyReported !== null && alreadyReported >= energy) return alreadyReported;
  return energy > 0 ? energy : alreadyReported;
}
