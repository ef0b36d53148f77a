import { parseHost } from './meross/host';

/** Validated platform config; every field has a clean value. */
export interface DeviceConfig {
  host?: string;
  key: string;
  name?: string;
  uuid?: string;
}

export interface MerossLanConfig {
  name: string;
  key: string;
  pollIntervalMs: number;
  energyPollIntervalMs: number;
  timeoutMs: number;
  outletInUseWatts: number;
  devices: DeviceConfig[];
}

export const DEFAULTS = {
  name: 'Meross',
  pollInterval: 30,
  energyPollInterval: 300,
  timeout: 5,
  outletInUseWatts: 2,
} as const;

type Raw = Record<string, unknown>;

/**
 * Validates the platform block once at start. Each bad field gives one line naming it and what to do; the
 * plugin carries on with the valid rest (a bad device entry is skipped, a bad interval falls back to its default).
 */
export function parseConfig(raw: Raw): { config: MerossLanConfig; problems: string[] } {
  const problems: string[] = [];
  const seconds = (field: keyof typeof DEFAULTS, min: number, max: number): number => {
    const v = raw[field];
    const fallback = DEFAULTS[field] as number;
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
      problems.push(`"${field}" must be a number from ${min} to ${max}; using the default ${fallback}.`);
      return fallback;
    }
    return n;
  };
  const name = typeof raw.name === 'string' && raw.name.trim() ? raw.name.trim() : DEFAULTS.name;
  let key = '';
  if (raw.key !== undefined && typeof raw.key !== 'string') problems.push('"key" must be a text value; ignoring it.');
  else if (typeof raw.key === 'string') key = raw.key;

  const config: MerossLanConfig = {
    name,
    key,
    pollIntervalMs: seconds('pollInterval', 1, 3600) * 1000,
    energyPollIntervalMs: seconds('energyPollInterval', 1, 86_400) * 1000,
    timeoutMs: seconds('timeout', 0.5, 60) * 1000,
    outletInUseWatts: seconds('outletInUseWatts', 0, 4000),
    devices: [],
  };

  const devices = raw.devices ?? [];
  if (!Array.isArray(devices)) {
    problems.push('"devices" must be a list of plugs; no plugs configured.');
    return { config, problems };
  }
  const seenHosts = new Set<string>();
  const seenUuids = new Set<string>();
  devices.forEach((entry: unknown, i) => {
    const where = `devices[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`"${where}" is not a plug entry (expected { "host": …, "key": … }); skipping it.`);
      return;
    }
    const d = entry as Raw;
    const device: DeviceConfig = { key };
    if (d.host !== undefined && d.host !== '') {
      if (typeof d.host !== 'string' || !parseHost(d.host)) {
        problems.push(`"${where}.host" ("${String(d.host)}") is not an IP address or host name with an optional :port; skipping this plug.`);
        return;
      }
      device.host = d.host.trim();
    }
    if (d.uuid !== undefined && d.uuid !== '') {
      if (typeof d.uuid !== 'string' || !/^[0-9a-zA-Z]{32}$/.test(d.uuid.trim())) {
        problems.push(`"${where}.uuid" must be the plug's 32-character uuid; skipping this plug.`);
        return;
      }
      device.uuid = d.uuid.trim();
    }
    if (!device.host && !device.uuid) {
      problems.push(`"${where}" needs a "host" (the plug's IP address); skipping it.`);
      return;
    }
    if (d.key !== undefined && d.key !== '') {
      if (typeof d.key !== 'string') {
        problems.push(`"${where}.key" must be a text value; skipping this plug.`);
        return;
      }
      device.key = d.key;
    }
    if (d.name !== undefined) {
      if (typeof d.name === 'string' && d.name.trim()) device.name = d.name.trim();
      else problems.push(`"${where}.name" must be a non-empty text; using the plug's own name.`);
    }
    const hostId = device.host?.toLowerCase();
    if ((hostId && seenHosts.has(hostId)) || (device.uuid && seenUuids.has(device.uuid))) {
      problems.push(`"${where}" repeats a plug listed earlier (same ${hostId && seenHosts.has(hostId) ? 'host' : 'uuid'}); skipping the duplicate.`);
      return;
    }
    if (hostId) seenHosts.add(hostId);
    if (device.uuid) seenUuids.add(device.uuid);
    config.devices.push(device);
  });
  return { config, problems };
}
