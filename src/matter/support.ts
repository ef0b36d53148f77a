import type { API, MatterAPI } from 'homebridge' with { 'resolution-mode': 'import' };

/**
 * The part of Homebridge's API that Matter detection looks at. Everything is optional because the plugin also runs on
 * Homebridge 1.x, whose API has neither `isMatterEnabled` nor `matter` (the types we compile against are 2.4's).
 */
export interface MatterProbeApi {
  readonly serverVersion?: string;
  readonly isMatterEnabled?: API['isMatterEnabled'];
  readonly matter?: Pick<MatterAPI, 'deviceTypes'> & Partial<MatterAPI>;
}

export interface MatterSupport {
  readonly matter: MatterAPI;
  /** Homebridge ≥ 2.2 composes the Electrical Power/Energy Measurement clusters for us; older 2.x cannot. */
  readonly energy: boolean;
}

/** The first Homebridge release with the electrical measurement clusters in its plugin Matter API. */
export const ENERGY_MIN_VERSION = '2.2.0';

export type MatterDetection = { support: MatterSupport; reason?: undefined } | { support?: undefined; reason: string };

/**
 * Decides whether this Homebridge can publish Matter outlets. Matter is opt-in per bridge: `api.matter` exists only
 * when this bridge's config has a `matter` block, even on 2.4. `reason` is a log line for when it cannot.
 */
export function detectMatter(api: MatterProbeApi): MatterDetection {
  if (typeof api.isMatterEnabled !== 'function') return { reason: `Homebridge ${api.serverVersion ?? '?'} has no Matter support` };
  if (!api.isMatterEnabled() || !api.matter) return { reason: 'Matter is not enabled for this bridge (no "matter" block in its bridge settings)' };
  const matter = api.matter;
  if (!matter.deviceTypes?.OnOffOutlet || typeof matter.registerPlatformAccessories !== 'function' || typeof matter.updateAccessoryState !== 'function') {
    return { reason: `Homebridge ${api.serverVersion ?? '?'} has no Matter outlet device type` };
  }
  // Checked above for the members this plugin calls; the rest of MatterAPI is only read through optional chaining.
  return { support: { matter: matter as MatterAPI, energy: versionAtLeast(api.serverVersion ?? '', ENERGY_MIN_VERSION) } };
}

/**
 * `version >= min` for plain semver strings, without a semver dependency. A pre-release of the minimum itself
 * (2.2.0-beta.1) counts as older, as in semver: betas before the release may not have the final API yet.
 */
export function versionAtLeast(version: string, min: string): boolean {
  const parse = (v: string): { nums: number[]; pre: boolean } | undefined => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+.*)?$/.exec(v.trim());
    return m ? { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] !== undefined } : undefined;
  };
  const a = parse(version);
  const b = parse(min);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) {
    if (a.nums[i] !== b.nums[i]) return a.nums[i] > b.nums[i];
  }
  return !a.pre || b.pre;
}
