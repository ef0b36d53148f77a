import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../storage/json-file';
import type { CloudDevice } from './api';

/**
 * `<storage>/meross-lan/cloud.json` (0600): what the cloud told us, so a restart without the cloud still knows
 * the key and the plugs. It holds the sign-in token and the account key — never the password — and is never
 * logged. The settings UI and `meross-lan login` write the same file.
 */
export const CLOUD_FILE = 'cloud.json';

export interface CloudCache {
  version: 1;
  /** Lower case; the cache belongs to this account only. */
  email: string;
  /** The base URL the token came from; a token is only sent back to the cloud that issued it. */
  base: string;
  /** Regional API host from the sign-in. */
  domain?: string;
  token?: string;
  userId?: string;
  key?: string;
  devices: CloudDevice[];
  /** When the device list was last fetched (ms since the epoch). */
  devicesAt?: number;
}

export function cloudCachePath(pluginDir: string): string {
  return join(pluginDir, CLOUD_FILE);
}

/**
 * Read synchronously: the platform needs the key and plug list while Homebridge is launching, and the file is
 * tiny and local. Undefined when missing; throws SyntaxError/TypeError for a corrupt file.
 */
export function readCloudCache(pluginDir: string): CloudCache | undefined {
  let text: string;
  try {
    text = readFileSync(cloudCachePath(pluginDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return toCache(JSON.parse(text));
}

export async function writeCloudCache(pluginDir: string, cache: CloudCache): Promise<void> {
  await writeJsonAtomic(cloudCachePath(pluginDir), cache);
}

function toCache(raw: unknown): CloudCache {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('not an object');
  const r = raw as Record<string, unknown>;
  if (r.version !== 1 || typeof r.email !== 'string' || typeof r.base !== 'string') throw new TypeError('unknown format');
  const opt = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const devices = Array.isArray(r.devices)
    ? r.devices.filter((d): d is CloudDevice => typeof d === 'object' && d !== null && typeof (d as CloudDevice).uuid === 'string' && typeof (d as CloudDevice).name === 'string')
    : [];
  return {
    version: 1,
    email: r.email,
    base: r.base,
    domain: opt(r.domain),
    token: opt(r.token),
    userId: opt(r.userId),
    key: opt(r.key),
    devices: devices.map((d) => ({ ...d, type: typeof d.type === 'string' ? d.type : '' })),
    devicesAt: typeof r.devicesAt === 'number' ? r.devicesAt : undefined,
  };
}
