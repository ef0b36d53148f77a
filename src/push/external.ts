import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { Bus, BusEvents, BusLogger } from './bus';

export interface ExternalBrokerOptions {
  /** `mqtts://[user:password@]host[:port]` (or `mqtt://` for a plain listener on the LAN). */
  url: string;
  topics: string[];
  log: BusLogger;
  /** Extra CA to trust (tests); a user's own CA goes in NODE_EXTRA_CA_CERTS like for any Node program. */
  ca?: string;
}

/** How long to wait between attempts when the broker is down. */
const RECONNECT_MS = 5000;

/**
 * A client of a broker the user already runs (e.g. mosquitto with the plugs pointed at it). The broker does the
 * plugs' logins; this side only listens to `/appliance/+/publish` and its reply topic, and publishes requests. It
 * cannot see plugs connect or leave, only their messages.
 */
export class ExternalBroker extends EventEmitter<BusEvents> implements Bus {
  readonly seesSessions = false;
  readonly label: string;
  private client: MqttClient | undefined;
  private connected = false;
  private lastError = '';

  constructor(private readonly options: ExternalBrokerOptions) {
    super();
    this.label = redact(options.url);
  }

  get up(): boolean {
    return this.connected;
  }

  /**
   * Connects, and keeps reconnecting whenever the connection is lost. Resolves after the first attempt, whether it
   * worked or not: a broker that is down only delays push, it does not stop the plugin.
   */
  async start(): Promise<void> {
    const { connect } = await import('mqtt');
    const { log, topics } = this.options;
    const client = connect(this.options.url, {
      clientId: `meross-lan-${randomBytes(6).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: 10_000,
      reconnectOnConnackError: true,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    this.client = client;
    client.on('connect', () => {
      client.subscribe(topics, { qos: 0 }, (error) => {
        if (error) {
          log.error(`Local push: the broker ${this.label} refused the subscription (${error.message}).`);
          return;
        }
        this.connected = true;
        this.lastError = '';
        log.info(`Local push: connected to the broker ${this.label}.`);
        this.emit('state', true);
      });
    });
    client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      log.warn(`Local push: lost the broker ${this.label}; plugs are polled over HTTP until it is back.`);
      this.emit('state', false);
    });
    client.on('error', (error) => {
      // The client retries by itself; the same failure every few seconds is one line, not one per attempt.
      if (error.message === this.lastError) return;
      this.lastError = error.message;
      log.warn(`Local push: cannot use the broker ${this.label} (${error.message}); retrying every ${RECONNECT_MS / 1000} s.`);
    });
    client.on('message', (topic, payload) => this.emit('message', topic, payload));
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.off('state', done);
        client.off('error', done);
        client.off('close', done);
        resolve();
      };
      this.on('state', done);
      client.on('error', done);
      client.on('close', done);
    });
  }

  publish(topic: string, payload: string): void {
    this.client?.publish(topic, payload, { qos: 0 });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.connected = false;
    await client.endAsync(true);
  }
}

/** The URL without user name and password, for log lines. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'the configured broker';
  }
}
