import { CloudApi, type CloudDevice, type CloudSession } from './api';
import { cloudCacheRecord, readCloudCache, updateCloudCache, type CloudCache } from './cache';
import { CloudError, cloudText } from './errors';
import type { CloudTransport } from './http';
import { logoutReplaced } from './sign-in';
import { describe } from '../util/describe';

export interface CloudLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export interface CloudAccountOptions {
  email: string;
  /** Optional once a token is stored (by `meross-lan login` or the settings UI). Never stored, never logged. */
  password?: string;
  /** Checked base URL (resolveCloudUrl). */
  baseUrl: string;
  /** `<storage>/meross-lan`. */
  pluginDir: string;
  /** The Homebridge storage folder, for the `meross-lan login -U …` hint. */
  storagePath: string;
  log: CloudLogger;
  transport?: CloudTransport;
  timeoutMs?: number;
}

export interface CloudState {
  /** The account key, from the cloud or the cache. */
  key: string | undefined;
  devices: CloudDevice[];
  /** `cloud`: fetched just now; `cache`: remembered from an earlier run; `none`: nothing known. */
  source: 'cloud' | 'cache' | 'none';
}

/**
 * The account as the platform sees it: the key and the device list, fetched from the cloud when it can be and
 * remembered in cloud.json for when it cannot. Never throws: a cloud failure is one log line, and the plugs keep
 * working from the cache (the cloud is for keys and names only; control is always local).
 */
export class CloudAccount {
  private readonly api: CloudApi;
  private readonly email: string;
  /** Problems already reported, so a daily refresh that fails the same way stays quiet. */
  private readonly reported = new Set<string>();
  private corruptReported = false;

  constructor(private readonly options: CloudAccountOptions) {
    this.email = options.email.trim().toLowerCase();
    this.api = new CloudApi({ baseUrl: options.baseUrl, transport: options.transport, timeoutMs: options.timeoutMs });
  }

  /** What the cache file knows about this account, without any network. */
  cached(): CloudState {
    const cache = this.readCache();
    if (!cache) return { key: undefined, devices: [], source: 'none' };
    return { key: cache.key, devices: cache.devices, source: 'cache' };
  }

  /**
   * Signs in if needed and fetches the device list; falls back to the cache on any failure. A stored token the
   * cloud calls dead (DEAD_TOKEN_STATUSES) is tried once, never again: the file is re-read first (another child
   * bridge sharing cloud.json may have signed in already, and its token is used), else the password signs in
   * again and the dead token is logged out. A fresh token the device list refuses is dropped and logged out too.
   */
  async refresh(): Promise<CloudState> {
    let cache = this.readCache();
    const password = this.options.password;
    try {
      // Every token tried in this refresh; one the cloud calls dead is never sent again.
      const tried = new Set<string>();
      let dead: CloudCache | undefined;
      for (;;) {
        const stored = this.usable(cache);
        if (!stored || tried.has(stored.token)) break;
        tried.add(stored.token);
        try {
          const devices = await this.api.devices(stored);
          return await this.listed(stored, devices);
        } catch (error) {
          if (!(error instanceof CloudError) || error.code !== 'TOKEN_EXPIRED') throw error;
          this.options.log.debug(`Meross cloud: the stored sign-in is no longer accepted (status ${error.apiStatus ?? '?'}).`);
          dead = cache;
          // Re-read: another bridge sharing cloud.json may have signed in already; its token is tried next.
          cache = this.readCache();
        }
      }
      if (dead) {
        const deadToken = dead.token;
        // Forget the dead token now (unless another process replaced it meanwhile), so no start tries it again.
        // (Same problem key as "not signed in": the next refresh finds no token, and one line about it is enough.)
        await this.update((current) => (current && current.token === deadToken ? { ...current, token: undefined } : undefined));
        if (!password) return this.fallback(this.readCache() ?? cache, 'login-needed', this.loginHint('the stored sign-in has expired'));
      }
      if (!password) return this.fallback(cache, 'login-needed', this.loginHint('not signed in yet'));
      return await this.signIn(password, tried, dead);
    } catch (error) {
      return this.fallback(this.readCache() ?? cache, ...this.describe(error, cache));
    }
  }

  /** The cached sign-in as a session, when it is this account's and from this cloud. */
  private usable(cache: CloudCache | undefined): CloudSession | undefined {
    if (!cache?.token || !cache.domain || cache.key === undefined || cache.email !== this.email || cache.base !== this.options.baseUrl) return undefined;
    return { domain: cache.domain, token: cache.token, key: cache.key, userId: cache.userId ?? '', email: this.email };
  }

  /**
   * Signs in with the password and stores the token, unless the file meanwhile holds a token this refresh has not
   * tried (another bridge signed in while this one did): that one is kept and used, and ours logged out. The token
   * the new one replaces is logged out. Then lists the devices.
   */
  private async signIn(password: string, tried: ReadonlySet<string>, dead: CloudCache | undefined): Promise<CloudState> {
    let session = await this.api.signIn({ email: this.options.email.trim(), password });
    let replaced: CloudCache | undefined;
    let theirs: CloudSession | undefined;
    await this.update((current) => {
      const other = this.usable(current);
      if (other && !tried.has(other.token)) {
        theirs = other;
        return undefined;
      }
      replaced = current;
      return cloudCacheRecord({ email: this.email, base: this.options.baseUrl, session, previous: current });
    });
    if (theirs) {
      await this.api.logoutQuietly(session);
      session = theirs;
    } else {
      await logoutReplaced(this.api, replaced, session.token);
      if (dead?.token !== replaced?.token) await logoutReplaced(this.api, dead, session.token);
    }
    let devices: CloudDevice[];
    try {
      devices = await this.api.devices(session);
    } catch (error) {
      if (error instanceof CloudError && error.code === 'TOKEN_EXPIRED') {
        // Refused right after the sign-in: never retry this token. The key stays; the next refresh signs in again.
        const refused = session.token;
        await this.update((current) => (current && current.token === refused ? { ...current, token: undefined } : undefined));
        await this.api.logoutQuietly(session);
      }
      throw error;
    }
    return this.listed(session, devices);
  }

  /** Stores a fresh device list without touching a token another process stored since. */
  private async listed(session: CloudSession, devices: CloudDevice[]): Promise<CloudState> {
    const devicesAt = Date.now();
    const saved = await this.update((current) =>
      current && current.email === this.email && current.token && current.token !== session.token
        ? { ...current, devices, devicesAt }
        : cloudCacheRecord({ email: this.email, base: this.options.baseUrl, session, devices, devicesAt, previous: current }),
    );
    if (this.reported.size > 0) this.options.log.info('Meross cloud: reachable again; keys and names are up to date.');
    this.reported.clear();
    return { key: saved?.key ?? session.key, devices, source: 'cloud' };
  }

  private describe(error: unknown, cache: CloudCache | undefined): [string, string, 'warn' | 'error'] {
    if (!(error instanceof CloudError)) {
      return ['bug', `Meross cloud: unexpected error (${describe(error)})`, 'error'];
    }
    switch (error.code) {
      case 'MFA_REQUIRED':
        return [
          error.code,
          `Meross cloud: MFA required: run \`meross-lan login --email ${this.options.email.trim()} -U ${this.options.storagePath}\` ` +
            'once in a terminal to finish signing in with your one-time code, then restart Homebridge.',
          'error',
        ];
      case 'WRONG_PASSWORD':
      case 'UNKNOWN_EMAIL':
        return [error.code, `Meross cloud: sign-in failed: ${error.message}. Check "cloud.email" and "cloud.password".`, 'error'];
      case 'LOCKED':
      case 'TOO_MANY_TOKENS':
      case 'TOO_FREQUENT':
        return [error.code, `Meross cloud: sign-in failed: ${error.message}.`, 'error'];
      case 'UNREACHABLE':
        return [error.code, `${cloudText(error.message)}.`, 'warn'];
      default:
        return [error.code, `${cloudText(error.message)}.`, cache ? 'warn' : 'error'];
    }
  }

  private loginHint(what: string): string {
    return `Meross cloud: ${what}; add "cloud.password" or run \`meross-lan login --email ${this.options.email.trim()} -U ${this.options.storagePath}\`.`;
  }

  /** Reports the problem once and answers from the cache. */
  private fallback(cache: CloudCache | undefined, problem: string, line: string, level: 'warn' | 'error' = 'warn'): CloudState {
    if (!this.reported.has(problem)) {
      this.reported.add(problem);
      const known = cache && cache.devices.length > 0;
      const since = cache?.devicesAt ? ` from ${new Date(cache.devicesAt).toISOString().slice(0, 10)}` : '';
      const tail = known
        ? ` Using the ${cache.devices.length} device${cache.devices.length === 1 ? '' : 's'} and the key remembered${since}; local control is not affected.`
        : ' Local control of configured plugs is not affected.';
      this.options.log[level](line + tail);
    }
    if (!cache) return { key: undefined, devices: [], source: 'none' };
    return { key: cache.key, devices: cache.devices, source: 'cache' };
  }

  private readCache(): CloudCache | undefined {
    let cache: CloudCache | undefined;
    try {
      cache = readCloudCache(this.options.pluginDir);
    } catch {
      if (!this.corruptReported) {
        this.corruptReported = true;
        this.options.log.warn('Meross cloud: the remembered sign-in (meross-lan/cloud.json) is unreadable; ignoring it.');
      }
      return undefined;
    }
    // Another account's key must never sign these plugs' messages.
    return cache && cache.email === this.email ? cache : undefined;
  }

  private async update(change: (current: CloudCache | undefined) => CloudCache | undefined): Promise<CloudCache | undefined> {
    try {
      return await updateCloudCache(this.options.pluginDir, change);
    } catch (error) {
      this.options.log.warn(`Meross cloud: cannot remember the sign-in (${(error as NodeJS.ErrnoException).code ?? 'write failed'}); it is asked again at the next start.`);
      return undefined;
    }
  }
}
