import { CloudError, cloudStatusError, cloudTokenStatusError } from './errors';
import { fetchTransport, type CloudTransport } from './http';
import { cloudRequestBody, md5Hex } from './sign';
import { checkCloudUrl } from './url';

/** What a successful sign-in gives: the token for later calls, the account-wide device key, the regional API host. */
export interface CloudSession {
  /** The API base to use from now on (`data.domain`, else the URL that answered). */
  domain: string;
  token: string;
  /** The account key: it signs every plug bound to this account (protocol.md §5). */
  key: string;
  userId: string;
  email: string;
}

/** One device of the account, as the plugin keeps it. No IP address: the cloud does not know it. */
export interface CloudDevice {
  uuid: string;
  name: string;
  /** `deviceType`, e.g. `mss310`. */
  type: string;
  subType?: string;
  firmware?: string;
  hardware?: string;
  /**
   * A strip's outlets as the Meross app names them (devList `channels`, indexed by channel: entry 0 is the master,
   * an empty object), with USB outlets marked (`type: "USB"`). Absent for single plugs.
   */
  channels?: CloudChannel[];
}

export interface CloudChannel {
  channel: number;
  name: string;
  usb: boolean;
}

export interface CloudApiOptions {
  /** Checked base URL (see resolveCloudUrl). */
  baseUrl: string;
  transport?: CloudTransport;
  /** Per request. */
  timeoutMs?: number;
  /** Injectable for exact test vectors. */
  now?: () => number;
}

export interface SignInOptions {
  email: string;
  /** In clear; only its md5 is sent, and nothing keeps it. */
  password: string;
  mfaCode?: string;
}

/** 1030 may point to another region once; more hops than this is a loop. */
const MAX_REGION_HOPS = 2;

/** The few Meross cloud calls this plugin needs: sign in, list devices, log out. Nothing is cached here. */
export class CloudApi {
  readonly baseUrl: string;
  private readonly transport: CloudTransport;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: CloudApiOptions) {
    this.baseUrl = options.baseUrl;
    this.transport = options.transport ?? fetchTransport;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * `/v1/Auth/signIn`, following the region redirect (1030) to `data.domain`. Throws CloudError: MFA_REQUIRED
   * (ask for a code and call again with it), WRONG_MFA_CODE, WRONG_PASSWORD, LOCKED, UNREACHABLE, …
   */
  async signIn(options: SignInOptions): Promise<CloudSession> {
    const data: Record<string, unknown> = {
      email: options.email,
      password: md5Hex(options.password),
      accountCountryCode: '--',
      encryption: 1,
      agree: 1,
    };
    // As meross_lan: the code is sent only when there is one (an empty `mfaCode` is not "no code" to the cloud).
    if (options.mfaCode) data.mfaCode = options.mfaCode;
    let base = this.baseUrl;
    for (let hop = 0; ; hop++) {
      const reply = await this.call(base, '/v1/Auth/signIn', data);
      if (reply.apiStatus === 1030) {
        const domain = this.domainFrom(reply.data);
        if (hop >= MAX_REGION_HOPS || domain === base) {
          throw new CloudError('BAD_REPLY', 'the Meross cloud keeps redirecting the sign-in to another region', 1030);
        }
        base = domain;
        continue;
      }
      if (reply.apiStatus !== 0) throw cloudStatusError(reply.apiStatus, reply.info);
      const d = reply.data;
      // meross_lan refuses a sign-in reply whose userid, email, key or token is missing or empty (an empty key
      // would sign nothing the plugs accept); the field is named, never its value.
      const fields = { userid: str(d.userid) ?? str(d.userId), email: str(d.email), key: str(d.key), token: str(d.token) };
      for (const [name, value] of Object.entries(fields)) {
        if (!value) throw new CloudError('BAD_REPLY', `the Meross cloud accepted the sign-in but sent ${value === '' ? 'an empty' : 'no'} "${name}"`);
      }
      return {
        domain: d.domain === undefined ? base : this.domainFrom(d),
        token: fields.token as string,
        key: fields.key as string,
        userId: fields.userid as string,
        email: fields.email as string,
      };
    }
  }

  /**
   * `/v1/Profile/Logout` with the token being dropped, at the host that issued it: the cloud then forgets the
   * token, so sign-ins do not pile up on the account (1301 "too many tokens"). Both peers log out tokens they drop.
   */
  async logout(session: Pick<CloudSession, 'domain' | 'token'>): Promise<void> {
    const reply = await this.call(session.domain, '/v1/Profile/Logout', {}, session.token);
    if (reply.apiStatus !== 0) throw cloudTokenStatusError(reply.apiStatus, reply.info);
  }

  /**
   * Logs out a token that is being dropped, as meross_lan's `async_logout_safe`: never throws. True when the
   * cloud confirmed it, or said the token was dead already.
   */
  async logoutQuietly(session: Pick<CloudSession, 'domain' | 'token'>): Promise<boolean> {
    try {
      await this.logout(session);
      return true;
    } catch (error) {
      return error instanceof CloudError && error.code === 'TOKEN_EXPIRED';
    }
  }

  /** `/v1/Device/devList`. TOKEN_EXPIRED (any of DEAD_TOKEN_STATUSES) means: sign in again. */
  async devices(session: Pick<CloudSession, 'domain' | 'token'>): Promise<CloudDevice[]> {
    const reply = await this.call(session.domain, '/v1/Device/devList', {}, session.token);
    if (reply.apiStatus !== 0) throw cloudTokenStatusError(reply.apiStatus, reply.info);
    const list: unknown = reply.raw.data;
    if (!Array.isArray(list)) throw new CloudError('BAD_REPLY', 'the Meross cloud sent a device list that is not a list');
    const devices: CloudDevice[] = [];
    for (const item of list) {
      if (typeof item !== 'object' || item === null) continue;
      const d = item as Record<string, unknown>;
      const uuid = str(d.uuid);
      // uuids are 32 chars but not always hex (protocol.md §1.4); anything else is not a device we can talk to.
      if (!uuid || !/^[0-9a-zA-Z]{32}$/.test(uuid)) continue;
      devices.push({
        uuid,
        name: str(d.devName)?.trim() || uuid,
        type: str(d.deviceType) ?? '',
        subType: str(d.subType),
        firmware: str(d.fmwareVersion),
        hardware: str(d.hdwareVersion),
        ...channelsOf(d.channels),
      });
    }
    return devices;
  }

  private domainFrom(data: Record<string, unknown>): string {
    const domain = str(data.domain);
    if (!domain) throw new CloudError('BAD_REPLY', 'the Meross cloud named no API host for this account');
    const checked = checkCloudUrl(domain);
    if ('error' in checked) {
      // The same rule as for configured URLs: never send the password hash or the token in clear over a LAN.
      throw new CloudError('BAD_REPLY', `the Meross cloud sent an unusable API host (it ${checked.error})`);
    }
    return checked.url;
  }

  private async call(
    base: string,
    path: string,
    data: unknown,
    token?: string,
  ): Promise<{ apiStatus: number; data: Record<string, unknown>; info?: string; raw: Record<string, unknown> }> {
    // Every host a token or password hash goes to passes the configured-URL rule, stored ones (cloud.json) too.
    const checked = checkCloudUrl(base);
    if ('error' in checked) throw new CloudError('BAD_REPLY', `the Meross cloud host is unusable (it ${checked.error})`);
    const url = new URL(`${checked.url}${path}`);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Authorization: token ? `Basic ${token}` : 'Basic',
      Vendor: 'meross',
      AppType: 'MerossIOT',
      AppVersion: '0.4.6.0',
    };
    const body = JSON.stringify(cloudRequestBody(data, { now: this.now() }));
    const reply = await this.transport(url, body, headers, this.timeoutMs);
    if (reply.status !== 200) throw new CloudError('BAD_REPLY', `${url.origin} answered HTTP ${reply.status}; is this the Meross cloud?`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.body);
    } catch {
      throw new CloudError('BAD_REPLY', `${url.origin} answered something that is not JSON; is this the Meross cloud?`);
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { apiStatus?: unknown }).apiStatus !== 'number') {
      throw new CloudError('BAD_REPLY', `${url.origin} answered without an apiStatus; is this the Meross cloud?`);
    }
    const raw = parsed as Record<string, unknown>;
    const d = raw.data;
    return {
      apiStatus: raw.apiStatus as number,
      data: typeof d === 'object' && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>) : {},
      info: str(raw.info),
      raw,
    };
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** The named outlets of devList's `channels` (MerossIot `HttpDeviceInfo.channels`): `[{}, {"devName": "Lamp", "type": "Switch"}, …]`. */
function channelsOf(raw: unknown): { channels?: CloudChannel[] } {
  if (!Array.isArray(raw)) return {};
  const channels: CloudChannel[] = [];
  raw.forEach((item: unknown, channel) => {
    if (typeof item !== 'object' || item === null) return;
    const c = item as Record<string, unknown>;
    const name = str(c.devName)?.trim();
    const usb = str(c.type)?.toUpperCase() === 'USB';
    if (name || usb) channels.push({ channel, name: name ?? '', usb });
  });
  return channels.length > 0 ? { channels } : {};
}
