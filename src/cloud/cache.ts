import { readFileSync } from 'node:fs';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../storage/json-file';
import type { CloudDevice, CloudSession } from './api';

/**
 * `<storage>/meross-lan/cloud.json` (0600): what the cloud told us, so a restart without the cloud still knows
 * the key and the plugs. It holds the sign-in token and the account key — never the password — and is never
 * logged. The settings UI and `meross-lan login` write the same file, and so do several child bridges (several
 * MerossLan blocks share `<storage>/meross-lan/`): every change goes through updateCloudCache, which re-reads the
 * file right before it writes and replaces it atomically, so a token another process just stored is kept.
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

export interface CloudRecordInput {
  /** As typed; stored in lower case. */
  email: string;
  /** The base URL the sign-in went to (checked). */
  base: string;
  session: CloudSession;
  /** The device list, when it was just fetched; else the previous record's list is kept. */
  devices?: CloudDevice[];
  /** When `devices` was fetched (default now). */
  devicesAt?: number;
  /** The record this one replaces, for its device list. */
  previous?: CloudCache;
}

/** The one way a sign-in becomes a cloud.json record (account refresh, `meross-lan login`, the settings UI). */
export function cloudCacheRecord(input: CloudRecordInput): CloudCache {
  const fresh = input.devices !== undefined;
  const previous = input.previous && input.previous.email === input.email.trim().toLowerCase() ? input.previous : undefined;
  return {
    version: 1,
    email: input.email.trim().toLowerCase(),
    base: input.base,
    domain: input.session.domain,
    token: input.session.token,
    userId: input.session.userId,
    key: input.session.key,
    devices: input.devices ?? previous?.devices ?? [],
    devicesAt: fresh ? (input.devicesAt ?? Date.now()) : previous?.devicesAt,
  };
}

/** Changes to one folder's file, one after the other within this process. */
const queues = new Map<string, Promise<unknown>>();

/** A lock older than this is left over from a process that died holding it. */
const STALE_LOCK_MS = 15_000;
/** How long a change waits for another process's lock before going ahead without it (never deadlock). */
const LOCK_WAIT_MS = 5_000;

/**
 * Read-modify-write of cloud.json: `change` gets the file as it is now (undefined when missing or unreadable)
 * and returns the record to write, or undefined to leave the file alone. Changes in this process run one at a
 * time; across processes (child bridges, `meross-lan login`, the settings UI) the read and the atomic replace run
 * under `cloud.json.lock`, an exclusively created file, so no process overwrites a token another one just stored.
 */
export function updateCloudCache(
  pluginDir: string,
  change: (current: CloudCache | undefined) => CloudCache | undefined,
): Promise<CloudCache | undefined> {
  const key = cloudCachePath(pluginDir);
  const run = async (): Promise<CloudCache | undefined> => {
    const unlock = await lock(`${key}.lock`);
    try {
      let current: CloudCache | undefined;
      try {
        current = readCloudCache(pluginDir);
      } catch {
        current = undefined;
      }
      const next = change(current);
      if (next === undefined) return current;
      await writeCloudCache(pluginDir, next);
      return next;
    } finally {
      await unlock();
    }
  };
  const previous = queues.get(key) ?? Promise.resolve();
  const result = previous.then(run, run);
  const settled = result.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return result;
}

async function lock(path: string): Promise<() => Promise<void>> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const since = await stat(path).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (since !== undefined && Date.now() - since > STALE_LOCK_MS) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) return () => Promise.resolve();
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Removes cloud.json; true when there was one. */
export async function removeCloudCache(pluginDir: string): Promise<boolean> {
  try {
    await unlink(cloudCachePath(pluginDir));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
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
