import { EventEmitter } from 'node:events';
import { isIP, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Aedes, AuthenticateError, Client } from 'aedes' with { 'resolution-mode': 'import' };
import type { Bus, BusEvents, BusLogger, LoginResult } from './bus';
import type { TlsMaterial } from './cert';
import { applianceTopic, subscribeTopic } from '../meross/mqtt';

export interface EmbeddedBrokerOptions {
  port: number;
  /** Address to listen on; undefined: every interface. */
  bind?: string;
  tls: TlsMaterial;
  /** Topics the hub itself listens to. */
  topics: string[];
  /** Decides each login, exactly as the firmware logs in (protocol.md §4.2). */
  login: (username: string | undefined, password: Buffer | undefined, clientId: string, address: string | undefined) => LoginResult;
  log: BusLogger;
}

/** CONNACK return code 4: "bad user name or password". */
const BAD_CREDENTIALS = 4;

/**
 * An aedes broker behind a TLS listener, inside the plugin. Only plugs of the config get in, each may only
 * subscribe to its own request topic and may not publish on another plug's topics: plugs of one account share a
 * key, so without this one plug could speak for, or command, another.
 */
export class EmbeddedBroker extends EventEmitter<BusEvents> implements Bus {
  readonly seesSessions = true;
  readonly up = true;
  readonly label: string;
  /** The uuid each authenticated client logged in as. */
  private readonly clients = new WeakMap<Client, string>();
  /** The session that currently speaks for each plug (a reconnect can overlap the old session's end). */
  private readonly sessions = new Map<string, Client>();
  private readonly refusals = new WeakSet<Error>();
  /** Every open connection, logged in or not (see close()). */
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    private readonly options: EmbeddedBrokerOptions,
  ) {
    super();
    const host = options.bind ?? '0.0.0.0';
    this.label = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port}`;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    // aedes is an ES module; this plugin is CommonJS, and import() loads it on every supported Node version.
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker({
      // Plugs connect over Wi-Fi and may be slow to send CONNECT after the TLS handshake.
      connectTimeout: 15_000,
      drainTimeout: 10_000,
    });
    const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (socket) => broker.handle(socket));
    const embedded = new EmbeddedBroker(broker, server, options);
    embedded.wire();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: options.port, host: options.bind }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      throw error;
    }
    return embedded;
  }

  /** The port actually listened on (the configured one, or the one the OS chose for port 0 in tests). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  private wire(): void {
    const { broker, options } = this;
    const { log } = options;
    broker.authenticate = (client, username, password, done) => {
      const result = options.login(username, password, client.id, remoteAddress(client));
      if ('uuid' in result) {
        this.clients.set(client, result.uuid);
        done(null, true);
        return;
      }
      const error = new Error(result.refused) as AuthenticateError;
      error.returnCode = BAD_CREDENTIALS;
      this.refusals.add(error);
      done(error, false);
    };
    broker.authorizeSubscribe = (client, subscription, done) => {
      const uuid = this.clients.get(client);
      if (uuid !== undefined && subscription.topic === subscribeTopic(uuid)) return done(null, subscription);
      log.debug(`Local push: refused a subscription to ${subscription.topic} by ${client.id}`);
      // A negative SUBACK for that topic only; the session goes on.
      done(null, null);
    };
    broker.authorizePublish = (client, packet, done) => {
      const uuid = client ? this.clients.get(client) : undefined;
      const target = applianceTopic(packet.topic);
      if (client && (uuid === undefined || (target && target.uuid !== uuid))) {
        log.debug(`Local push: ${client.id} may not publish on ${packet.topic}; closing its session`);
        return done(new Error('not its topic'));
      }
      done(null);
    };
    broker.on('subscribe', (subscriptions, client) => {
      const uuid = this.clients.get(client);
      if (uuid === undefined || !subscriptions.some((s) => s.topic === subscribeTopic(uuid))) return;
      this.sessions.set(uuid, client);
      this.emit('device', uuid, true, remoteAddress(client));
    });
    broker.on('clientDisconnect', (client) => {
      const uuid = this.clients.get(client);
      if (uuid === undefined || this.sessions.get(uuid) !== client) return;
      this.sessions.delete(uuid);
      this.emit('device', uuid, false, remoteAddress(client));
    });
    broker.on('clientError', (client, error) => {
      // A refused login comes back here too; the hub has already reported it.
      if (!this.refusals.has(error)) log.debug(`Local push: ${client.id}: ${error.message}`);
    });
    broker.on('connectionError', (client, error) => log.debug(`Local push: connection from ${remoteAddress(client) ?? '?'}: ${error.message}`));
    // TLS handshakes that fail (port scanners, clients speaking plain MQTT) are not worth more than a debug line.
    this.server.on('tlsClientError', (error, socket) => log.debug(`Local push: TLS handshake from ${socket.remoteAddress ?? '?'} failed: ${error.message}`));
    for (const topic of options.topics) {
      broker.subscribe(
        topic,
        (packet, done) => {
          this.emit('message', packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          done();
        },
        () => undefined,
      );
    }
  }

  publish(topic: string, payload: string): void {
    this.broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload, 'utf8'), qos: 0, retain: false, dup: false }, (error) => {
      if (error) this.options.log.debug(`Local push: publish to ${topic} failed: ${error.message}`);
    });
  }

  /** Stops listening and ends every session; the plugs retry until a broker answers again. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    // The broker ends the sessions it knows; a plug that connected just now (in its TLS handshake, or before its
    // CONNECT) is none yet, and its socket would hold the server open for up to the 15 s connect timeout, past
    // Homebridge's 5 s shutdown limit. End those too.
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.sessions.clear();
  }
}

function remoteAddress(client: Client): string | undefined {
  return (client.conn as Partial<TLSSocket>).remoteAddress;
}
