import { isIP } from 'node:net';
import { isEmailAddress } from './cloud/email';
import { checkCloudUrl } from './cloud/url';
import { parseSubnet } from './discovery/subnets';
import { parseHost } from './meross/host';
import { isTimeZone } from './meross/time';
import { parseUserId } from './meross/mqtt';
import type { PushConfig } from './push/target';

/** Validated platform config; every field has a clean value. */
export interface DeviceConfig {
  host?: string;
  key: string;
  name?: string;
  uuid?: string;
  /** IANA time zone to give the plug (Appliance.System.Time); undefined: the plug's zone is never changed. */
  timezone?: string;
  /** This plug's Outlet In Use threshold (W); undefined: the platform's `outletInUseWatts`. */
  outletInUseWatts?: number;
  /** The plug's status LED on or off (Appliance.System.DNDMode); undefined: left as the plug has it. */
  led?: boolean;
}

export interface MerossLanConfig {
  name: string;
  key: string;
  pollIntervalMs: number;
  energyPollIntervalMs: number;
  timeoutMs: number;
  outletInUseWatts: number;
  /** Also publish the plugs over Matter when this Homebridge bridge has Matter turned on (Homebridge 2.2+). */
  matter: boolean;
  devices: DeviceConfig[];
  /** Meross account sign-in, for the key and plug names only. Absent: no cloud at all. */
  cloud?: CloudConfig;
  discovery: DiscoveryConfig;
  /** Local MQTT push (README "Local push (MQTT)"); off unless asked for. */
  push: PushConfig;
}

export interface CloudConfig {
  email: string;
  /** Optional once `meross-lan login` (or the settings UI) stored a token. */
  password?: string;
  url?: string;
}

export interface DiscoveryConfig {
  /** Scan at start and every 30 min, and add plugs that answer with a known key. */
  enabled: boolean;
  /** Empty: MEROSS_LAN_SUBNETS, else the host's own networks (each capped at a /24). */
  subnets: string[];
  port: number;
  /** How long a plug may be unreachable before its address is searched for. */
  rescanAfterMs: number;
}

export const DISCOVERY_DEFAULTS = { port: 80, rescanAfter: 300 } as const;

export type { PushConfig };

export const PUSH_DEFAULTS = { port: 8883 } as const;

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
    cloud: parseCloud(raw.cloud, problems),
    discovery: parseDiscovery(raw.discovery, problems),
    push: parsePush(raw.push, problems),
    matter: true,
    devices: [],
  };
  if (raw.matter !== undefined && raw.matter !== null) {
    if (typeof raw.matter === 'boolean') config.matter = raw.matter;
    else problems.push('"matter" must be true or false; using the default true (publish over Matter when the bridge has it).');
  }

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
        problems.push(`"${where}.host" (${typeof d.host === 'string' ? `"${d.host}"` : typeof d.host}) is not an IP address or host name with an optional :port; skipping this plug.`);
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
      problems.push(`"${where}" needs a "host" (the plug's IP address) or a "uuid" (to find it on the LAN); skipping it.`);
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
    if (d.timezone !== undefined && d.timezone !== '') {
      if (typeof d.timezone === 'string' && isTimeZone(d.timezone.trim())) device.timezone = d.timezone.trim();
      else {
        const shown = typeof d.timezone === 'string' ? `"${d.timezone.slice(0, 40)}"` : typeof d.timezone;
        problems.push(`"${where}.timezone" (${shown}) is not a time zone name such as "Europe/Berlin"; the plug's own time zone is left as it is.`);
      }
    }
    if (d.outletInUseWatts !== undefined && d.outletInUseWatts !== null && d.outletInUseWatts !== '') {
      const w = d.outletInUseWatts;
      if (typeof w === 'number' && Number.isFinite(w) && w >= 0 && w <= 4000) device.outletInUseWatts = w;
      else problems.push(`"${where}.outletInUseWatts" must be a number of watts from 0 to 4000; using the platform's "outletInUseWatts" for this plug.`);
    }
    // "on"/"off" (what the settings form writes) or true/false (hand-written JSON); unset leaves the LED alone.
    if (d.led !== undefined && d.led !== null && d.led !== '') {
      if (typeof d.led === 'boolean') device.led = d.led;
      else if (d.led === 'on' || d.led === 'off') device.led = d.led === 'on';
      else problems.push(`"${where}.led" must be "on" or "off" (or true/false); the plug's LED is left as it is.`);
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

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `cloud`: one line per bad field. Values are never echoed: any of them may be a secret pasted in the wrong place. */
function parseCloud(raw: unknown, problems: string[]): CloudConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    problems.push('"cloud" must be an object such as { "email": …, "password": … }; cloud sign-in is off.');
    return undefined;
  }
  if (raw.email === undefined || raw.email === '') {
    // An empty block (as the settings form saves it) means "no cloud", not a mistake.
    if (raw.password !== undefined && raw.password !== '') problems.push('"cloud.email" is missing; cloud sign-in is off.');
    return undefined;
  }
  if (typeof raw.email !== 'string' || !isEmailAddress(raw.email)) {
    problems.push('"cloud.email" must be the email address of your Meross account; cloud sign-in is off.');
    return undefined;
  }
  const cloud: CloudConfig = { email: raw.email.trim() };
  if (raw.password !== undefined && raw.password !== '') {
    if (typeof raw.password === 'string') cloud.password = raw.password;
    else problems.push('"cloud.password" must be a text value; ignoring it.');
  }
  if (raw.url !== undefined && raw.url !== '') {
    const checked = typeof raw.url === 'string' ? checkCloudUrl(raw.url) : { error: 'must be a text value' };
    if ('url' in checked) cloud.url = checked.url;
    else problems.push(`"cloud.url" ${checked.error}; using the default.`);
  }
  return cloud;
}

function parseDiscovery(raw: unknown, problems: string[]): DiscoveryConfig {
  const discovery: DiscoveryConfig = { enabled: false, subnets: [], port: DISCOVERY_DEFAULTS.port, rescanAfterMs: DISCOVERY_DEFAULTS.rescanAfter * 1000 };
  if (raw === undefined || raw === null) return discovery;
  if (!isRecord(raw)) {
    problems.push('"discovery" must be an object such as { "enabled": true }; using the defaults.');
    return discovery;
  }
  if (raw.enabled !== undefined && raw.enabled !== null) {
    if (typeof raw.enabled === 'boolean') discovery.enabled = raw.enabled;
    else problems.push('"discovery.enabled" must be true or false; using false.');
  }
  if (raw.subnets !== undefined && raw.subnets !== null) {
    if (!Array.isArray(raw.subnets)) {
      problems.push('"discovery.subnets" must be a list such as ["192.168.1.0/24"]; using the host\'s own networks.');
    } else {
      raw.subnets.forEach((item: unknown, i) => {
        if (item === '') return;
        if (typeof item !== 'string') {
          problems.push(`"discovery.subnets[${i}]" is not a text value; skipping it.`);
          return;
        }
        const parsed = parseSubnet(item);
        if ('error' in parsed) problems.push(`"discovery.subnets[${i}]": ${parsed.error}; skipping it.`);
        else discovery.subnets.push(item.trim());
      });
    }
  }
  const whole = (field: 'port' | 'rescanAfter', min: number, max: number): number | undefined => {
    const v = raw[field];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    problems.push(`"discovery.${field}" must be a whole number from ${min} to ${max}; using the default ${DISCOVERY_DEFAULTS[field]}.`);
    return undefined;
  };
  discovery.port = whole('port', 1, 65_535) ?? discovery.port;
  const rescan = whole('rescanAfter', 5, 86_400);
  if (rescan !== undefined) discovery.rescanAfterMs = rescan * 1000;
  return discovery;
}

/** `push`: one line per bad field. The broker URL is never echoed: it may carry a password. */
function parsePush(raw: unknown, problems: string[]): PushConfig {
  const push: PushConfig = { enabled: false, port: PUSH_DEFAULTS.port };
  if (raw === undefined || raw === null) return push;
  if (!isRecord(raw)) {
    problems.push('"push" must be an object such as { "enabled": true }; local push is off.');
    return push;
  }
  if (raw.broker !== undefined && raw.broker !== '') {
    const url = typeof raw.broker === 'string' ? parseBrokerUrl(raw.broker.trim()) : undefined;
    if (url) push.broker = url;
    else problems.push('"push.broker" must be a broker address such as mqtts://192.168.1.2:8883; using the embedded broker instead.');
  }
  // A broker address alone means "use it": the issue's own example gives no "enabled".
  push.enabled = push.broker !== undefined;
  if (raw.enabled !== undefined && raw.enabled !== null) {
    if (typeof raw.enabled === 'boolean') push.enabled = raw.enabled;
    else problems.push(`"push.enabled" must be true or false; using ${push.enabled}.`);
  }
  if (raw.port !== undefined && raw.port !== null && raw.port !== '') {
    const n = typeof raw.port === 'string' ? Number(raw.port) : raw.port;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65_535) push.port = n;
    else problems.push(`"push.port" must be a whole number from 1 to 65535; using the default ${PUSH_DEFAULTS.port}.`);
  }
  if (raw.bind !== undefined && raw.bind !== null && raw.bind !== '') {
    if (typeof raw.bind === 'string' && isIP(raw.bind.trim()) !== 0) push.bind = raw.bind.trim();
    else problems.push('"push.bind" must be an IP address of this machine (such as 192.168.1.2); listening on every interface.');
  }
  if (raw.userId !== undefined && raw.userId !== null && raw.userId !== '') {
    const userId = parseUserId(raw.userId);
    if (userId !== undefined) push.userId = userId;
    else problems.push('"push.userId" must be a whole number (the user id the plugs were paired with); using the remembered one.');
  }
  return push;
}

/** `mqtt://` or `mqtts://` with a host; the port defaults to the scheme's (1883/8883). */
function parseBrokerUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'mqtts:' && url.protocol !== 'mqtt:') || !url.hostname) return undefined;
  if (url.pathname !== '' && url.pathname !== '/') return undefined;
  return text;
}
