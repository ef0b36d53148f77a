import { describe, expect, it } from 'vitest';
import { decodeElectricity } from '../../src/meross/decode';
import { detectMatter, versionAtLeast, type MatterProbeApi } from '../../src/matter/support';
import { cumulativeEnergy, powerState, toMilliamps, toMillivolts, toMilliwattHours, toMilliwatts } from '../../src/matter/units';
import type { PlugValues } from '../../src/plug/plug';

const values = (v: Partial<PlugValues>): PlugValues => ({ on: true, inUse: true, watts: 0, volts: 0, amps: 0, totalKWh: 0, lifetimeKWh: 0, resetTime: 0, ...v });

/** Just enough of api.matter for detection; the members are never called. */
const matterStub = (deviceTypes: Record<string, unknown> = { OnOffOutlet: {} }): NonNullable<MatterProbeApi['matter']> =>
  // Detection only looks at these members; the cast stands in for the rest of MatterAPI.
  ({ deviceTypes, registerPlatformAccessories: async () => undefined, updateAccessoryState: async () => undefined }) as unknown as NonNullable<MatterProbeApi['matter']>;

describe('Matter units', () => {
  it('turns the MSS310 electricity reply into mW, mV and mA (voltage is deci-volts: ×100, not ×1000)', () => {
    // A real Appliance.Control.Electricity payload shape: power mW, voltage dV, current mA.
    const e = decodeElectricity({ electricity: { channel: 0, power: 61_500, voltage: 2312, current: 270 } });
    expect(powerState(values(e), true)).toEqual({ activePower: 61_500, voltage: 231_200, activeCurrent: 270 });
  });

  it('rounds to whole milli-units without float noise and never goes negative', () => {
    expect(toMilliwatts(0.1 + 0.2)).toBe(300);
    expect(toMillivolts(238.7)).toBe(238_700);
    expect(toMilliamps(0.27)).toBe(270);
    expect(toMilliwattHours(10.621)).toBe(10_621_000);
    expect(toMilliwatts(-1)).toBe(0);
    expect(toMilliwatts(Number.NaN)).toBe(0);
  });

  it('reports no measurement (null) while the plug is unreachable', () => {
    expect(powerState(values({ watts: 5, volts: 230, amps: 0.02 }), false)).toEqual({ activePower: null, voltage: null, activeCurrent: null });
  });

  it('keeps cumulative energy from ever going down, and null until anything was metered', () => {
    expect(cumulativeEnergy(0, null)).toBeNull();
    expect(cumulativeEnergy(1.5, null)).toBe(1_500_000);
    expect(cumulativeEnergy(1.4, 1_500_000)).toBe(1_500_000);
    expect(cumulativeEnergy(0, 1_500_000)).toBe(1_500_000);
    expect(cumulativeEnergy(1.6, 1_500_000)).toBe(1_600_000);
  });
});

describe('Matter feature detection', () => {
  it('says no on Homebridge 1.x (no isMatterEnabled)', () => {
    const { support, reason } = detectMatter({ serverVersion: '1.11.4' });
    expect(support).toBeUndefined();
    expect(reason).toMatch(/1\.11\.4 has no Matter/);
  });

  it('says no when the bridge has no matter block, even on 2.4', () => {
    expect(detectMatter({ serverVersion: '2.4.0', isMatterEnabled: () => false }).reason).toMatch(/not enabled/);
    expect(detectMatter({ serverVersion: '2.4.0', isMatterEnabled: () => true }).reason).toMatch(/not enabled/);
  });

  it('says no without an outlet device type', () => {
    expect(detectMatter({ serverVersion: '2.4.0', isMatterEnabled: () => true, matter: matterStub({ OnOffLight: {} }) }).reason).toMatch(/no Matter outlet/);
  });

  it('publishes outlets from 2.x, with power and energy from 2.2.0 on', () => {
    const api = (serverVersion: string): MatterProbeApi => ({ serverVersion, isMatterEnabled: () => true, matter: matterStub() });
    expect(detectMatter(api('2.1.3')).support?.energy).toBe(false);
    expect(detectMatter(api('2.2.0-beta.4')).support?.energy).toBe(false);
    expect(detectMatter(api('2.2.0')).support?.energy).toBe(true);
    expect(detectMatter(api('2.4.0')).support?.energy).toBe(true);
    expect(detectMatter(api('2.10.1')).support?.energy).toBe(true);
  });

  it('compares versions numerically, as semver does', () => {
    expect(versionAtLeast('2.10.0', '2.2.0')).toBe(true);
    expect(versionAtLeast('2.1.99', '2.2.0')).toBe(false);
    expect(versionAtLeast('3.0.0-beta.1', '2.2.0')).toBe(true);
    expect(versionAtLeast('v2.2.0', '2.2.0')).toBe(true);
    expect(versionAtLeast('garbage', '2.2.0')).toBe(false);
  });
});
