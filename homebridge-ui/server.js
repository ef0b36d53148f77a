/**
 * The settings UI's server side, forked by homebridge-config-ui-x while the plugin's settings dialog is open.
 * It signs in to the Meross cloud, scans the subnets the user typed, and reads (or, once confirmed, switches) one
 * plug, always with the plugin's own compiled code so the UI and the running plugin agree. It talks only to the
 * addresses and cloud URL it is given, keeps no timers (it must exit with the dialog), and never stores, logs or
 * returns the password.
 */
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { HomebridgePluginUiServer, RequestError } from '@homebridge/plugin-ui-utils';

// The plugin is CommonJS (dist/); plugin-ui-utils 2.x is ESM only, hence an ESM server requiring CJS.
const require = createRequire(import.meta.url);
// Everything from the plugin comes through its one typed entry module for the UI (src/ui-entry.ts).
const {
  CloudApi,
  CloudError,
  cloudText,
  isEmailAddress,
  readCloudCache,
  resolveCloudUrl,
  signInWithDevices,
  storeSignIn,
  DEFAULT_CONCURRENCY,
  expandRanges,
  parseSubnet,
  probe,
  probeLabel,
  resolveSubnets,
  scan,
  MerossClient,
  MerossError,
  parseHost,
  pluginStorageDir,
} = require('../dist/ui-entry.js');

/** A few /22s at most: each Find is bounded like the plugin's own scans (a /24 in under 10 s). */
const MAX_SCAN_ADDRESSES = 2048;
const PLUG_TIMEOUT_MS = 5000;

/** What the page can act on for each cloud failure; `field` tells it which input to point at. */
const CLOUD_MESSAGES = {
  MFA_REQUIRED: ['This account uses two-step sign-in. Enter the current code from your authenticator app in "MFA code" and press Sign in again.', 'mfa'],
  WRONG_MFA_CODE: ['That MFA code was wrong or has expired. Enter the current code from your authenticator app and press Sign in again.', 'mfa'],
  WRONG_PASSWORD: ['Wrong email or password. Check both (the password is the one of the Meross app) and try again.', 'password'],
  UNKNOWN_EMAIL: ['There is no Meross account with this email address. Check it for typos.', 'email'],
};

class MerossUiServer extends HomebridgePluginUiServer {
  constructor() {
    super();
    this.onRequest('/state', () => this.state());
    this.onRequest('/sign-in', (body) => this.signIn(body));
    this.onRequest('/find', (body) => this.find(body));
    this.onRequest('/add', (body) => this.add(body));
    this.onRequest('/test', (body) => this.test(body));
    this.onRequest('/switch', (body) => this.switch(body));
    this.ready();
  }

  get pluginDir() {
    return pluginStorageDir(this.homebridgeStoragePath ?? '.');
  }

  /** Defaults for the page: the subnets a scan would use, and the account remembered by an earlier sign-in. */
  state() {
    const subnets = resolveSubnets({ env: process.env, interfaces: networkInterfaces });
    let account = null;
    try {
      const cache = readCloudCache(this.pluginDir);
      // Only a live sign-in counts: an expired one (token cleared by the plugin) means signing in again.
      if (cache?.token && cache.key !== undefined) account = { email: cache.email, key: cache.key, devices: cache.devices };
    } catch {
      // An unreadable cache is the same as none here; the plugin reports it in its own log.
    }
    return { subnets: subnets.ranges.map((r) => r.label), subnetSource: subnets.source, account };
  }

  async signIn(body) {
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const mfaCode = typeof body.mfaCode === 'string' && body.mfaCode.trim() ? body.mfaCode.replace(/\s+/g, '') : undefined;
    if (!isEmailAddress(email)) throw new RequestError('Enter the email address of your Meross account.', { field: 'email' });
    if (!password) throw new RequestError('Enter the password of your Meross account.', { field: 'password' });
    const url = resolveCloudUrl(process.env, typeof body.url === 'string' && body.url.trim() ? body.url : undefined);
    if ('error' in url) throw new RequestError(`The Meross cloud address is not usable: ${url.error}.`, { field: 'url' });

    const api = new CloudApi({ baseUrl: url.url });
    let session;
    let devices;
    try {
      // A device list refused right after the sign-in signs the new token out again (nothing would keep it).
      ({ session, devices } = await signInWithDevices(api, { email, password, mfaCode }));
    } catch (error) {
      throw cloudRequestError(error);
    }
    try {
      // Replaces cloud.json atomically and signs out the sign-in it held before (Meross limits how many an account may have).
      await storeSignIn({ api, pluginDir: this.pluginDir, email, base: url.url, session, devices });
    } catch (error) {
      // Signing in still gave the key and the list; only a later visit has to sign in again.
      console.error(`Could not remember the Meross sign-in (${error.code ?? 'write failed'}).`);
    }
    // The token stays on this server (cloud.json): the page needs the key and the list, not the token.
    return {
      email: session.email || email,
      key: session.key,
      devices,
      region: session.domain !== url.url ? new URL(session.domain).host : null,
    };
  }

  /** Scans the typed subnets (empty: the defaults) with every key the page knows. */
  async find(body) {
    const port = portOf(body.port);
    const items = String(body.subnets ?? '')
      .split(/[\s,;]+/)
      .filter((s) => s !== '');
    const problems = [];
    for (const item of items) {
      const r = parseSubnet(item);
      if ('error' in r) problems.push(r.error);
    }
    if (problems.length > 0) throw new RequestError(`Subnets: ${problems.join('; ')}.`, { field: 'subnets' });
    const resolved = resolveSubnets({ configured: items, env: process.env, interfaces: networkInterfaces });
    const addresses = expandRanges(resolved.ranges);
    if (addresses.length === 0) throw new RequestError('Subnets: nothing to scan. Enter your network, e.g. 192.168.1.0/24.', { field: 'subnets' });
    if (addresses.length > MAX_SCAN_ADDRESSES) {
      throw new RequestError(`Subnets: ${addresses.length} addresses is too many to scan at once (at most ${MAX_SCAN_ADDRESSES}).`, { field: 'subnets' });
    }
    const keys = keysOf(body.keys);
    const started = Date.now();
    const found = await scan({ targets: addresses.map((host) => ({ host, port })), keys, concurrency: DEFAULT_CONCURRENCY });
    return {
      scanned: resolved.ranges.map((r) => r.label),
      addresses: addresses.length,
      seconds: (Date.now() - started) / 1000,
      plugs: found.map((f) => row(f, keys)),
    };
  }

  /** The manual row: one address, probed like a scan would. */
  async add(body) {
    const address = typeof body.host === 'string' ? parseHost(body.host) : undefined;
    if (!address) throw new RequestError('Host: enter the plug\'s IP address, e.g. 192.168.1.50 (optionally with :port).', { field: 'host' });
    const keys = keysOf([body.key, ...(Array.isArray(body.keys) ? body.keys : [])]);
    const found = await probe(address.hostname, address.port, keys, { connectTimeoutMs: 2000 });
    if (!found) return { host: probeLabel(address.hostname, address.port), online: false };
    return row(found, keys);
  }

  /** Reads the plug's state and live power; never switches. */
  async test(body) {
    const client = plugClient(body);
    try {
      const info = await client.systemAll();
      const reading = { on: info.on, uuid: info.uuid, model: info.model, firmware: info.firmwareVersion };
      const abilities = await client.ability();
      if (abilities.electricity) Object.assign(reading, await client.electricity());
      return reading;
    } catch (error) {
      throw plugRequestError(error);
    }
  }

  /** Switches only with `confirm: true`, which the page sends after the user confirmed (a fridge may be on it). */
  async switch(body) {
    if (body.confirm !== true) throw new RequestError('Not switched: switching a plug needs your confirmation.', { field: 'confirm' });
    if (typeof body.on !== 'boolean') throw new RequestError('Not switched: say whether to switch on or off.');
    const client = plugClient(body);
    try {
      // Identity first: a SET is not undone by noticing afterwards that another device answered.
      await client.systemAll();
      await client.setOn(body.on);
      return { on: await client.getOn() };
    } catch (error) {
      throw plugRequestError(error);
    }
  }
}

function portOf(value) {
  if (value === undefined || value === null || value === '') return 80;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RequestError('Port: enter a whole number from 1 to 65535 (plugs use 80).', { field: 'port' });
  return port;
}

/** Distinct keys in the page's order; the empty key last, as self-paired plugs often use it. */
function keysOf(list) {
  const keys = [...new Set((Array.isArray(list) ? list : []).filter((k) => typeof k === 'string' && k !== ''))];
  return [...keys, ''];
}

/** A scan result as the page shows it, with the key that worked (the page saves it into the plug's entry). */
function row(found, keys) {
  return {
    host: probeLabel(found.host, found.port),
    uuid: found.uuid,
    model: found.model,
    firmware: found.firmware,
    keyOk: found.keyOk,
    key: found.keyOk && found.keyIndex !== undefined ? keys[found.keyIndex] : undefined,
    online: true,
  };
}

function plugClient(body) {
  const host = typeof body.host === 'string' ? body.host : '';
  if (!parseHost(host)) throw new RequestError('This plug has no usable address yet; find it on the network first.');
  const uuid = typeof body.uuid === 'string' && /^[0-9a-zA-Z]{32}$/.test(body.uuid) ? body.uuid : undefined;
  return new MerossClient({ host, key: typeof body.key === 'string' ? body.key : '', uuid, timeoutMs: PLUG_TIMEOUT_MS, retries: 0 });
}

function plugRequestError(error) {
  if (error instanceof MerossError) return new RequestError(error.message, { code: error.code });
  return error;
}

function cloudRequestError(error) {
  if (!(error instanceof CloudError)) return error;
  const known = CLOUD_MESSAGES[error.code];
  if (known) return new RequestError(known[0], { code: error.code, field: known[1] });
  if (error.code === 'UNREACHABLE') {
    return new RequestError(`Network error: ${error.message}. Check this Homebridge server's internet connection and try again.`, { code: error.code });
  }
  // A redirect loop (1030 again and again) or a regional host that is not https.
  if (error.code === 'BAD_REPLY' && (error.apiStatus === 1030 || /region|API host/.test(error.message))) {
    return new RequestError(`Region redirect failed: ${error.message}. Try again later, or set the cloud address of your region.`, { code: 'REGION' });
  }
  return new RequestError(`${cloudText(error.message)}.`, { code: error.code });
}

(() => new MerossUiServer())();
