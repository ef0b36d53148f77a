import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { loadOrCreateCert } from '../../src/push/cert';
import { publishTopic } from '../../src/meross/mqtt';

export interface Published {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/**
 * A bare MQTT broker on loopback (aedes behind TLS, anyone may log in) and a listener on one plug's publish topic:
 * enough to see what a simulated plug publishes, without the plugin's broker and its login rules.
 */
export class TestBroker {
  readonly messages: Published[] = [];
  private waiters: Array<{ accept: (m: Published) => boolean; resolve: (m: Published) => void }> = [];

  private client?: MqttClient;

  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<TLSSocket>,
    private readonly closeBroker: () => Promise<void>,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TestBroker> {
    const dir = mkdtempSync(join(tmpdir(), 'meross-sim-broker-'));
    const tls = await loadOrCreateCert(dir, { info: () => undefined, warn: () => undefined });
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker();
    const sockets = new Set<TLSSocket>();
    const server = createServer({ cert: tls.cert, key: tls.key }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, () => resolve()));
    return new TestBroker(server, sockets, () => new Promise((resolve) => aedes.close(() => resolve())), dir);
  }

  get address(): string {
    const a = this.server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  /** Starts recording what the plug `uuid` publishes (PUSHes and session messages). */
  async listen(uuid: string): Promise<void> {
    this.client ??= await this.connect();
    await this.client.subscribeAsync(publishTopic(uuid));
  }

  private async connect(): Promise<MqttClient> {
    const { connectAsync } = await import('mqtt');
    const [host, port] = this.address.split(':');
    const client = await connectAsync({ protocol: 'mqtts', host, port: Number(port), rejectUnauthorized: false, reconnectPeriod: 0 });
    client.on('message', (_topic, bytes) => {
      const message = JSON.parse(bytes.toString('utf8')) as Published;
      this.messages.push(message);
      const waiter = this.waiters.find((w) => w.accept(message));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      }
    });
    return client;
  }

  /** The first message (already seen or still to come) that `accept` takes. */
  next(accept: (m: Published) => boolean): Promise<Published> {
    const seen = this.messages.find(accept);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ accept, resolve }));
  }

  /** Forgets what was recorded so far. */
  clear(): void {
    this.messages.length = 0;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Plugs that are still connected (or reconnecting) must not keep the listener open.
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.closeBroker();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A PUSH of `namespace` whose payload `accept` takes. */
export function push(namespace: string, accept: (payload: Record<string, unknown>) => boolean = () => true): (m: Published) => boolean {
  return (m) => m.header.method === 'PUSH' && m.header.namespace === namespace && accept(m.payload);
}
