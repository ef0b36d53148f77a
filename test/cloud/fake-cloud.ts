/**
 * A fake Meross cloud over HTTPS on loopback, for the cloud, CLI and end-to-end tests. Two regional servers
 * (the "home" one the client is pointed at, and the account's region it gets redirected to), with the
 * protocol.md §5 rules: signed bodies (JSON, or form-encoded as MerossIot posts them), md5 passwords, 1030 region
 * redirect, 1033/1032 MFA, 1004 wrong password, 1035 locked, 1200 expired token, 1301 too many tokens, and
 * `/v1/Profile/Logout`, which ends a token. Its shapes follow the two peer clients' code (meross_lan's
 * merossclient/cloudapi.py, MerossIot's http_api.py), not ours: signIn needs no `Authorization` header (meross_lan
 * sends none, MerossIot sends "Basic"), its reply carries `mfaLockExpire` (MerossIot requires it), and calls made
 * with a token carry it as `Authorization: Basic <token>` (both). The certificate is self-signed and made by the
 * test with openssl.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET = '23x17ahWarFH6w29';
const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

export interface TestCert {
  /** Path to the PEM certificate: what NODE_EXTRA_CA_CERTS points at. */
  certPath: string;
  cert: string;
  key: string;
  cleanup(): void;
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid for two days. Needs the openssl binary. */
export function makeTestCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'meross-cloud-cert-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return {
    certPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface FakeDevice {
  uuid: string;
  devName: string;
  deviceType?: string;
  fmwareVersion?: string;
  hdwareVersion?: string;
  /**
   * The device list's `channels`, one entry per ToggleX channel; default `[{}]` (a single plug). A strip's entry 0 is
   * `{}` and the others name the outlets, as a real MSS425E listing does (MerossIot issue #9:
   * `[{}, {"type":"Switch","devName":"Switch 1","devIconId":"device001"}, …, {"type":"USB","devName":"USB",…}]`;
   * MerossIot `BaseDevice._parse_channels` reads `devName` (default "Main channel") and `type`, index 0 the master).
   * `stripChannelNames(outlets)` from the simulator builds the default naming; users rename outlets in the app.
   */
  channels?: Array<Record<string, unknown>>;
}

export interface FakeAccount {
  email: string;
  password: string;
  key: string;
  userId?: string;
  /** Which server the account lives on; sign-ins at the other one get 1030. Default 'region'. */
  region?: 'home' | 'region';
  mfaCode?: string;
  locked?: boolean;
  /** devList answers this status (e.g. 1043) to every token of the account. */
  devListStatus?: number;
  /** signIn answers 1301 (too many tokens) while the account has this many live tokens. */
  maxTokens?: number;
  devices: FakeDevice[];
}

export interface FakeRequest {
  server: 'home' | 'region';
  path: string;
  data: Record<string, unknown>;
  authorization: string | undefined;
  signOk: boolean;
  apiStatus: number;
}

type Reply = { apiStatus: number; data?: unknown; info?: string };

export class FakeCloud {
  readonly requests: FakeRequest[] = [];
  /** Every token issued; `dead` is the status calls with it get (1200 expired, or a status set by killTokens). */
  private readonly tokens = new Map<string, { email: string; dead?: number; loggedOut: boolean }>();
  private readonly servers: Record<'home' | 'region', { server?: Server; port: number; sockets: Set<Socket> }> = {
    home: { port: 0, sockets: new Set() },
    region: { port: 0, sockets: new Set() },
  };

  private constructor(
    readonly accounts: FakeAccount[],
    private readonly cert: TestCert,
  ) {}

  static async start(accounts: FakeAccount[], cert: TestCert): Promise<FakeCloud> {
    const cloud = new FakeCloud(accounts, cert);
    await cloud.up();
    return cloud;
  }

  /** The URL clients are configured with. */
  get url(): string {
    return `https://127.0.0.1:${this.servers.home.port}`;
  }

  /** Where 1030 sends them. */
  get regionUrl(): string {
    return `https://127.0.0.1:${this.servers.region.port}`;
  }

  /** Every token issued so far stops working (1200), as after the cloud's token lifetime. */
  expireTokens(): void {
    this.killTokens(1200);
  }

  /** Every live token issued so far now gets `status` (one of meross_lan's dead-token set: 1003, 1019, 1022, 1200, 1301). */
  killTokens(status: number): void {
    for (const t of this.tokens.values()) if (!t.loggedOut && t.dead === undefined) t.dead = status;
  }

  /** Every token ever issued, live or not (what the secret checks search logs for). */
  get issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Tokens that still work: issued, not logged out, not expired. */
  liveTokens(email?: string): string[] {
    return [...this.tokens.entries()]
      .filter(([, t]) => !t.loggedOut && t.dead === undefined && (email === undefined || t.email === email.toLowerCase()))
      .map(([token]) => token);
  }

  /** Tokens ended with /v1/Profile/Logout. */
  get loggedOutTokens(): string[] {
    return [...this.tokens.entries()].filter(([, t]) => t.loggedOut).map(([token]) => token);
  }

  /** Closes both servers (connections refused) until up() is called; the ports are kept. */
  async down(): Promise<void> {
    await Promise.all(
      Object.values(this.servers).map(async (s) => {
        const server = s.server;
        if (!server) return;
        s.server = undefined;
        const closed = once(server, 'close');
        server.close();
        for (const socket of s.sockets) socket.destroy();
        await closed;
      }),
    );
  }

  async up(): Promise<void> {
    for (const name of ['home', 'region'] as const) {
      const slot = this.servers[name];
      if (slot.server) continue;
      const server = createServer({ cert: this.cert.cert, key: this.cert.key }, (req, res) => void this.handle(name, req, res));
      server.on('connection', (socket: Socket) => {
        slot.sockets.add(socket);
        socket.on('close', () => slot.sockets.delete(socket));
      });
      server.listen(slot.port, '127.0.0.1');
      await once(server, 'listening');
      slot.port = (server.address() as AddressInfo).port;
      slot.server = server;
    }
  }

  async stop(): Promise<void> {
    await this.down();
  }

  private async handle(server: 'home' | 'region', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      // MerossIot posts the body form-encoded (aiohttp `data=`), meross_lan as JSON (`json=`).
      body = /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')
        ? Object.fromEntries(new URLSearchParams(text))
        : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      // answered below as a bad request
    }
    const { nonce, params, sign } = body as { nonce?: unknown; params?: unknown; sign?: unknown };
    const timestamp = typeof body.timestamp === 'string' && /^\d+$/.test(body.timestamp) ? Number(body.timestamp) : body.timestamp;
    const signOk =
      typeof timestamp === 'number' &&
      typeof nonce === 'string' &&
      nonce.length >= 16 &&
      typeof params === 'string' &&
      sign === md5(`${SECRET}${timestamp}${nonce}${params}`);
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(Buffer.from(String(params), 'base64').toString('utf8')) as Record<string, unknown>;
    } catch {
      // a bad body is refused below
    }
    const authorization = req.headers.authorization;
    const path = req.url ?? '';
    const reply: Reply = !signOk ? { apiStatus: 1022, info: 'sign error' } : this.route(server, path, data, authorization);
    this.requests.push({ server, path, data, authorization, signOk, apiStatus: reply.apiStatus });
    const answer = JSON.stringify({ apiStatus: reply.apiStatus, sysStatus: 0, data: reply.data ?? {}, info: reply.info ?? '', timeStamp: Date.now() });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(answer);
  }

  private route(server: 'home' | 'region', path: string, data: Record<string, unknown>, authorization: string | undefined): Reply {
    if (path === '/v1/Auth/signIn') return this.signIn(server, data);
    if (path === '/v1/Device/devList') return this.devList(server, authorization);
    // meross_lan calls `/v1/Profile/Logout`, MerossIot `/v1/Profile/logout`.
    if (path.toLowerCase() === '/v1/profile/logout') return this.logout(authorization);
    return { apiStatus: 20106, info: 'not found' };
  }

  private session(authorization: string | undefined): { token: string; email: string; dead?: number } | Reply {
    const token = /^Basic (.+)$/.exec(authorization ?? '')?.[1];
    const session = token ? this.tokens.get(token) : undefined;
    if (!token || !session || session.loggedOut) return { apiStatus: 1019, info: 'token invalid' };
    return { token, email: session.email, dead: session.dead };
  }

  private logout(authorization: string | undefined): Reply {
    const session = this.session(authorization);
    if ('apiStatus' in session) return session;
    if (session.dead !== undefined) return { apiStatus: session.dead, info: 'token expired' };
    const entry = this.tokens.get(session.token);
    if (entry) entry.loggedOut = true;
    return { apiStatus: 0, data: {} };
  }

  private signIn(server: 'home' | 'region', data: Record<string, unknown>): Reply {
    const email = String(data.email ?? '').toLowerCase();
    const account = this.accounts.find((a) => a.email.toLowerCase() === email);
    if (!account) return { apiStatus: 1008, info: 'email not registered' };
    const home = account.region ?? 'region';
    const domainOf = (s: 'home' | 'region'): string => (s === 'home' ? this.url : this.regionUrl);
    if (server !== home) return { apiStatus: 1030, data: { domain: domainOf(home), mqttDomain: 'mqtt.invalid' }, info: 'redirect' };
    if (account.locked) return { apiStatus: 1035, info: 'operation is locked' };
    if (data.password !== md5(account.password) || data.encryption !== 1) return { apiStatus: 1004, info: 'wrong password' };
    if (account.mfaCode !== undefined) {
      if (data.mfaCode === undefined) return { apiStatus: 1033, info: 'mfa required' };
      if (data.mfaCode !== account.mfaCode) return { apiStatus: 1032, info: 'wrong code' };
    }
    if (account.maxTokens !== undefined && this.liveTokens(email).length >= account.maxTokens) return { apiStatus: 1301, info: 'too many tokens' };
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, { email, loggedOut: false });
    return {
      apiStatus: 0,
      data: {
        userid: account.userId ?? '1234567',
        email: account.email,
        key: account.key,
        token,
        domain: domainOf(home),
        mqttDomain: 'mqtt.invalid',
        mfaLockExpire: 0,
      },
    };
  }

  private devList(server: 'home' | 'region', authorization: string | undefined): Reply {
    const session = this.session(authorization);
    if ('apiStatus' in session) return session;
    if (session.dead !== undefined) return { apiStatus: session.dead, info: 'token refused' };
    const account = this.accounts.find((a) => a.email.toLowerCase() === session.email);
    if (!account || server !== (account.region ?? 'region')) return { apiStatus: 1030, info: 'wrong region' };
    if (account.devListStatus !== undefined) return { apiStatus: account.devListStatus, info: 'refused' };
    return {
      apiStatus: 0,
      data: account.devices.map((d) => ({
        uuid: d.uuid,
        devName: d.devName,
        deviceType: d.deviceType ?? 'mss310',
        subType: 'eu',
        onlineStatus: 1,
        channels: d.channels ?? [{}],
        region: 'eu',
        fmwareVersion: d.fmwareVersion ?? '2.1.17',
        hdwareVersion: d.hdwareVersion ?? '2.0.0',
        domain: 'mqtt.invalid',
        reservedDomain: 'mqtt.invalid',
        bindTime: 1700000000,
        devIconId: 'device001',
      })),
    };
  }
}
