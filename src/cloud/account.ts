import { CloudApi, type CloudDevice, type CloudSession } from './api';
import { readCloudCache, writeCloudCache, type CloudCache } from './cache';
import { CloudError } from './errors';
import type { CloudTransport } from './http';

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

  /** Signs in if needed and fetches the device list; falls back to the cache on any failure. */
  async refresh(): Promise<CloudState> {
    const cache = this.readCache();
    const password = this.options.password;
    try {
      let session: CloudSession | undefined;
      let devices: CloudDevice[] | undefined;
      if (cache?.token && cache.domain && cache.key !== undefined && cache.base === this.options.baseUrl) {
        const stored: CloudSession = { domain: cache.domain, token: cache.token, key: cache.key, userId: cache.userId ?? '', email: this.email };
        try {
          devices = await this.api.devices(stored);
          session = stored;
        } catch (error) {
          if (!(error instanceof CloudError) || error.code !== 'TOKEN_EXPIRED') throw error;
          this.options.log.debug('Meross cloud: the stored sign-in has expired.');
          // Forget the dead token now, so a later start does not try it again. (Same problem key as "not signed in":
          // the next refresh finds no token, and one line about it is enough.)
          await this.save({ ...cache, token: undefined });
          if (!password) return this.fallback(cache, 'login-needed', this.loginHint('the stored sign-in has expired'));
        }
      }
      if (!session) {
        if (!password) return this.fallback(cache, 'login-needed', this.loginHint('not signed in yet'));
        session = await this.api.signIn({ email: this.options.email.trim(), password });
        await this.save(this.fromSession(session, cache));
        devices = await this.api.devices(session);
      }
      const fresh: CloudCache = { ...this.fromSession(session, cache), devices: devices ?? [], devicesAt: Date.now() };
      await this.save(fresh);
      if (this.reported.size > 0) this.options.log.info('Meross cloud: reachable again; keys and names are up to date.');
      this.reported.clear();
      return { key: fresh.key, devices: fresh.devices, source: 'cloud' };
    } catch (error) {
      return this.fallback(this.readCache() ?? cache, ...this.describe(error, cache));
    }
  }

  private fromSession(session: CloudSession, previous: CloudCache | undefined): CloudCache {
    return {
      version: 1,
      email: this.email,
      base: this.options.baseUrl,
      domain: session.domain,
      token: session.token,
      userId: session.userId,
      key: session.key,
      devices: previous?.devices ?? [],
      devicesAt: previous?.devicesAt,
    };
  }

  private describe(error: unknown, cache: CloudCache | undefined): [string, string, 'warn' | 'error'] {
    if (!(error instanceof CloudError)) {
      return ['bug', `Meross cloud: unexpected error (${error instanceof Error ? error.message : String(error)})`, 'error'];
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
        return [error.code, `Meross cloud: ${error.message}.`, 'warn'];
      default:
        return [error.code, `Meross cloud: ${error.message}.`, cache ? 'warn' : 'error'];
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

  private async save(cache: CloudCache): Promise<void> {
    try {
      await writeCloudCache(this.options.pluginDir, cache);
    } catch (error) {
      this.options.log.warn(`Meross cloud: cannot remember the sign-in (${(error as NodeJS.ErrnoException).code ?? 'write failed'}); it is asked again at the next start.`);
    }
  }
}
