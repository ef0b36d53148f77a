import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { newMessageId, sign, type Method } from '../meross/envelope';
import { deviceClientId, devicePassword, publishTopic, subscribeTopic } from '../meross/mqtt';
import { BIND, CLOCK, CONFIG_KEY, CONFIG_WIFI, CONSUMPTION_CONFIG, REPORT, TOGGLE, TOGGLEX } from '../meross/namespaces';
import type { Outcome, Parsed, PlugDevice } from './device';
import { hardwarePayload, firmwarePayload } from './system';
import type { MqttSettings, RequestRecord } from './types';

const OVERTEMP = 'Appliance.Control.OverTemp';

/**
 * The simulated plug's MQTT side (protocol.md §4): it logs in to its broker over TLS exactly as the firmware does
 * (user name = MAC, password = `<userId>_md5(MAC+key)`, certificate not checked), sends the session messages of
 * §4.3 and waits for their answers, pushes every relay change, and obeys requests on its topic like it does over
 * HTTP, answering to the request's `from` topic.
 */

export type MqttState = 'connected' | 'disconnected' | 'refused';

export interface SimulatedMqttEvents {
  state: [MqttState];
  /** A session message was answered the way the firmware expects (Clock, Bind, ConsumptionConfig). */
  session: [namespace: string];
}

/** What the link needs from the simulated plug it belongs to. */
export interface MqttHost {
  readonly uuid: string;
  readonly mac: string;
  /** Reported as the plug's LAN address (`innerIp`). */
  readonly host: string;
  readonly device: PlugDevice;
  /** Records an MQTT request like an HTTP one (plug.requests, 'request' event). */
  record(record: RequestRecord): void;
}

/** The firmware repeats an unanswered Clock push; this often here. */
const CLOCK_RETRY_MS = 2000;
const CLOCK_TRIES = 10;

export class SimulatedMqtt extends EventEmitter<SimulatedMqttEvents> {
  connected = false;
  /** Which session messages have been answered in the current session. */
  readonly session = { clock: false, bind: false, consumptionConfig: false };
  /** Receive requests but never answer them over MQTT: a link that is up yet useless (tests HTTP fallback). */
  mute = false;
  /** The PUSH form of ToggleX: fw 2.x sends a list; an object form is reported too (protocol.md §4.4). */
  togglexForm: 'list' | 'object' = 'list';
  private client: MqttClient | undefined;
  private sessionIds = new Map<string, string>();
  private clockTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly plug: MqttHost,
    readonly settings: MqttSettings,
  ) {
    super();
  }

  get broker(): string {
    return this.settings.broker;
  }

  /** Starts connecting, and keeps retrying like a plug does; resolves once the first attempt is under way. */
  async start(): Promise<void> {
    if (this.client) return;
    const { connect } = await import('mqtt');
    const { hostname, port } = splitHostPort(this.settings.broker);
    const { uuid, mac, device } = this.plug;
    const client = connect({
      protocol: 'mqtts',
      host: hostname,
      port,
      // Like the firmware: TLS is required, the certificate is not checked against any CA.
      rejectUnauthorized: false,
      protocolVersion: 4,
      clientId: deviceClientId(uuid),
      username: mac,
      password: devicePassword(mac, device.key, String(this.settings.userId)),
      clean: true,
      keepalive: 30,
      reconnectPeriod: this.settings.reconnectMs ?? 1000,
      reconnectOnConnackError: true,
      connectTimeout: 5000,
    });
    this.client = client;
    client.on('connect', () => void this.onConnect(client));
    client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      this.stopClock();
      this.emit('state', 'disconnected');
    });
    client.on('error', (error) => {
      // A CONNACK refusal (bad user name or password, not authorised); the client retries by itself.
      if ('code' in error && (error.code === 4 || error.code === 5)) this.emit('state', 'refused');
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /** Ends the session and stays off until start() (Wi-Fi gone, or the plug powered down). */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.stopClock();
    if (!client) return;
    const wasConnected = this.connected;
    this.connected = false;
    // force: no DISCONNECT packet, just gone, as when a plug loses power.
    await client.endAsync(true);
    if (wasConnected) this.emit('state', 'disconnected');
  }

  /**
   * Publishes a relay change the way the firmware does: fw 2.x and later a ToggleX PUSH in list form with the
   * channels that changed (protocol.md §4.4; on a strip a master switch lists the master and every outlet that
   * moved, an outlet lists itself and the master if that moved too — MerossIot `ToggleXMixin` takes "a list (power
   * strips)", Doekse/node-meross-sdk `decodeToggleXPush`: "PUSH is always an array"; whether a strip's firmware
   * lists only the changed channels or all of them is not captured anywhere, and a client that reads the items it
   * gets copes with both); fw 1.x a Toggle PUSH.
   */
  pushToggle(channels: readonly number[]): void {
    if (!this.connected || channels.length === 0) return;
    const { device } = this.plug;
    if (device.profile.ability[TOGGLEX]) {
      const items = channels.map((c) => device.toggleItem(c));
      this.publish(TOGGLEX, 'PUSH', { togglex: this.togglexForm === 'object' && items.length === 1 ? items[0] : items });
    } else {
      this.publish(TOGGLE, 'PUSH', { toggle: { onoff: device.relayOn ? 1 : 0, lmTime: device.lmTime } });
    }
  }

  /** Publishes an over-temperature change (overtemp.ts), where the model has the namespace. */
  pushOverTemp(payload: Record<string, unknown>): void {
    if (this.connected && this.plug.device.profile.ability[OVERTEMP]) this.publish(OVERTEMP, 'PUSH', payload);
  }

  private async onConnect(client: MqttClient): Promise<void> {
    try {
      await client.subscribeAsync(subscribeTopic(this.plug.uuid), { qos: 1 });
    } catch {
      return;
    }
    if (this.client !== client) return;
    this.connected = true;
    this.session.clock = this.session.bind = this.session.consumptionConfig = false;
    this.sessionIds.clear();
    this.emit('state', 'connected');
    const { device } = this.plug;
    this.sendClock(CLOCK_TRIES);
    const now = device.seconds();
    this.sessionIds.set(BIND, this.publish(BIND, 'SET', {
      bind: {
        bindTime: now,
        time: { timestamp: now, timezone: device.timezone, timeRule: device.timeRule },
        hardware: hardwarePayload(device.profile, this.plug.uuid, this.plug.mac),
        firmware: firmwarePayload(device.profile, this.plug.host),
      },
    }));
    if (device.profile.ability[CONSUMPTION_CONFIG]) {
      this.sessionIds.set(CONSUMPTION_CONFIG, this.publish(CONSUMPTION_CONFIG, 'PUSH', { config: { ...device.profile.calibration } }));
    }
    this.publish(REPORT, 'PUSH', { report: [{ type: '1', value: '0', timestamp: now }] });
  }

  private sendClock(triesLeft: number): void {
    if (!this.connected || this.session.clock || triesLeft <= 0) return;
    this.sessionIds.set(CLOCK, this.publish(CLOCK, 'PUSH', { clock: { timestamp: this.plug.device.seconds() } }));
    this.clockTimer = setTimeout(() => this.sendClock(triesLeft - 1), CLOCK_RETRY_MS);
    this.clockTimer.unref?.();
  }

  private stopClock(): void {
    if (this.clockTimer) clearTimeout(this.clockTimer);
    this.clockTimer = undefined;
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== subscribeTopic(this.plug.uuid)) return;
    const text = payload.toString('utf8');
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const header = isRecord(message) && isRecord(message.header) ? message.header : undefined;
    if (!header) return;
    if (this.sessionAnswer(header, isRecord(message) ? message.payload : undefined)) return;
    const { device } = this.plug;
    const parsed = device.parse(text);
    if (parsed.kind === 'drop') return;
    parsed.record.transport = 'mqtt';
    this.plug.record(parsed.record);
    const outcome: Outcome = device.execute(parsed);
    if (outcome.kind === 'drop' || this.mute) return;
    this.client?.publish(replyTopic(parsed, this.plug.uuid), outcome.body, { qos: 0 });
  }

  /** Answers to the plug's own session messages; true when `header` was one. */
  private sessionAnswer(header: Record<string, unknown>, payload: unknown): boolean {
    const { namespace, method, messageId } = header;
    if (typeof namespace !== 'string' || this.sessionIds.get(namespace) !== messageId) return false;
    let ok = false;
    if (namespace === CLOCK) {
      const clock = isRecord(payload) && isRecord(payload.clock) ? payload.clock : undefined;
      ok = method === 'PUSH' && typeof clock?.timestamp === 'number';
      if (ok) {
        this.session.clock = true;
        this.stopClock();
      }
    } else if (namespace === BIND) {
      ok = method === 'SETACK' && typeof header.sign === 'string' && sign(String(messageId), this.plug.device.key, Number(header.timestamp)) === header.sign;
      if (ok) this.session.bind = true;
    } else if (namespace === CONSUMPTION_CONFIG) {
      ok = method === 'PUSH';
      if (ok) this.session.consumptionConfig = true;
    }
    if (ok) this.emit('session', namespace);
    return true;
  }

  /** A message from the plug on its publish topic, signed with its key; returns the messageId. */
  private publish(namespace: string, method: Method, payload: unknown): string {
    const { device, uuid } = this.plug;
    const header = device.header(newMessageId(), namespace, method, true);
    this.client?.publish(publishTopic(uuid), JSON.stringify({ header, payload }), { qos: 0 });
    return header.messageId;
  }
}

/** Replies go where the request's `from` says; a `from` that is no topic (an HTTP URL) gets the publish topic. */
function replyTopic(parsed: Parsed, uuid: string): string {
  const from = parsed.header.raw.from;
  return typeof from === 'string' && from.startsWith('/') && !/[+#]/.test(from) ? from : publishTopic(uuid);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function splitHostPort(text: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not host:port`);
  return { hostname: m[1], port: Number(m[2]) };
}

/**
 * Setup (pairing) mode, as after a long press: the plug answers on its own access point at 10.10.10.1 without
 * checking signatures, takes a key, user id and broker with Appliance.Config.Key, then Wi-Fi credentials with
 * Appliance.Config.Wifi, and reboots onto the LAN and that broker (protocol.md §3.12).
 */
export class SetupMode {
  key: string | undefined;
  userId: string | undefined;
  gateway: { host: string; port: number } | undefined;
  wifi: { ssid: string; password: string } | undefined;

  /** The reply to a Config.Key/Config.Wifi SET, or undefined for anything else (the device answers that). */
  handle(parsed: Parsed, device: PlugDevice): Outcome | undefined {
    const { namespace, method, messageId } = parsed.header;
    if (method !== 'SET' || (namespace !== CONFIG_KEY && namespace !== CONFIG_WIFI)) return undefined;
    const payload = isRecord(parsed.payload) ? parsed.payload : {};
    if (namespace === CONFIG_KEY) {
      const k = isRecord(payload.key) ? payload.key : undefined;
      const gw = k && isRecord(k.gateway) ? k.gateway : undefined;
      const userId = typeof k?.userId === 'number' ? String(k.userId) : k?.userId;
      if (!k || typeof k.key !== 'string' || typeof userId !== 'string' || !gw || typeof gw.host !== 'string' || typeof gw.port !== 'number') {
        return { kind: 'drop', reason: 'malformed Config.Key' };
      }
      this.key = k.key;
      this.userId = userId;
      this.gateway = { host: gw.host, port: gw.port };
    } else {
      const w = isRecord(payload.wifi) ? payload.wifi : undefined;
      if (!w || typeof w.ssid !== 'string' || typeof w.password !== 'string') return { kind: 'drop', reason: 'malformed Config.Wifi' };
      this.wifi = { ssid: Buffer.from(w.ssid, 'base64').toString('utf8'), password: Buffer.from(w.password, 'base64').toString('utf8') };
    }
    return { kind: 'reply', body: JSON.stringify({ header: device.header(messageId, namespace, 'SETACK', true), payload: {} }) };
  }

  /** Wi-Fi set: the plug reboots out of setup mode. */
  get done(): boolean {
    return this.wifi !== undefined;
  }
}
