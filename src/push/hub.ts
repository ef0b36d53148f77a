import type { AlternateTransport } from '../meross/client';
import { isObject, type Json } from '../meross/decode';
import { buildMessage, verifySign, type Header, type Message } from '../meross/envelope';
import { TimeoutError, UnreachableError } from '../meross/errors';
import { EmbeddedBroker } from './broker';
import type { Bus, BusLogger, LoginResult } from './bus';
import { loadOrCreateCert } from './cert';
import { ExternalBroker } from './external';
import { applianceTopic, appTopic, devicePassword, macFromUuid, normaliseMac, publishTopic, samePassword, subscribeTopic, uuidFromClientId } from '../meross/mqtt';
import { BIND, CLOCK, CONSUMPTION_CONFIG, OVERTEMP, TOGGLE, TOGGLEX } from '../meross/namespaces';
import type { PushConfig, PushTarget } from './target';
import { resolveUserId, type UserIdSource } from './user-id';

export interface PushHubOptions {
  config: PushConfig;
  /** `<storage>/meross-lan`: the broker certificate and the remembered userId. */
  dir: string;
  log: BusLogger;
  /** The signed-in Meross account's userId (from the cloud cache), the first-use default; see resolveUserId. */
  accountUserId?: () => unknown;
  /** Unix ms; injectable for tests. */
  now?: () => number;
  /** Test seam: a CA to trust when connecting to an external broker over TLS. */
  ca?: string;
}

/** A healthy plug answers over MQTT in well under a second (protocol.md §8); HTTP takes over after this. */
export const MQTT_REPLY_TIMEOUT_MS = 2000;
/** After an unanswered MQTT request, HTTP carries the plug's traffic this long before MQTT is tried again. */
export const MQTT_RETRY_MS = 300_000;

interface Pending {
  link: PlugLink;
  resolve: (reply: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** One plug's side of the hub: the alternate transport its client uses, and what the hub knows about its session. */
class PlugLink implements AlternateTransport {
  readonly kind = 'MQTT';
  /** Embedded broker: the plug has a session open. External broker: the broker connection is up. */
  session = false;
  address: string | undefined;
  /** When a request over MQTT last went unanswered; cleared by any message from the plug. */
  failedAt: number | undefined;
  /** Whether "on local push" was logged (and "off" should be, when it ends). */
  announced = false;

  constructor(
    private readonly hub: PushHub,
    readonly plug: PushTarget,
    readonly uuid: string,
  ) {}

  get key(): string {
    return this.plug.key;
  }

  get mac(): string | undefined {
    return this.plug.info?.mac ?? macFromUuid(this.uuid);
  }

  get available(): boolean {
    return this.hub.isUp && this.session && (this.failedAt === undefined || this.hub.clock() - this.failedAt >= MQTT_RETRY_MS);
  }

  send(message: Message<Json>, timeoutMs: number): Promise<unknown> {
    return this.hub.request(this, message, Math.min(timeoutMs, MQTT_REPLY_TIMEOUT_MS));
  }
}

/**
 * Local MQTT push: the broker (embedded, or the user's own), each configured plug's link to it, the answers a plug
 * expects to its session messages (protocol.md §4.3), PUSH notifications to the plug model, and requests over MQTT
 * matched to their replies by messageId. Everything that fails here falls back to HTTP polling; nothing throws.
 */
export class PushHub {
  private bus: Bus | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private userId = '';
  private replyTopic = '';
  private readonly links = new Map<string, PlugLink>();
  /** Plugs added before their uuid is known (host-only entries); their MAC cannot be recognised yet. */
  private unidentified = 0;
  private readonly pending = new Map<string, Pending>();
  /** Refusals and oddities already logged, so a plug retrying every few seconds is one line. */
  private readonly reported = new Set<string>();
  private badSignatures = 0;
  private readonly now: () => number;

  constructor(private readonly options: PushHubOptions) {
    this.now = options.now ?? Date.now;
  }

  get isUp(): boolean {
    return this.bus?.up === true;
  }

  clock(): number {
    return this.now();
  }

  /** The embedded broker's port (tests listen on port 0), undefined with an external broker or before start. */
  get port(): number | undefined {
    return this.bus instanceof EmbeddedBroker ? this.bus.port : undefined;
  }

  /** Starts the broker or the connection to it. Never throws: a failure is one log line and the plugs keep polling. */
  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  /** A plug to serve; one whose uuid is not known yet is served from its first answer on. */
  add(plug: PushTarget): void {
    const uuid = plug.uuid;
    if (uuid === undefined) {
      this.unidentified++;
      plug.once('info', () => {
        this.unidentified--;
        this.add(plug);
      });
      return;
    }
    if (this.links.has(uuid)) return;
    const link = new PlugLink(this, plug, uuid);
    this.links.set(uuid, link);
    link.session = this.bus !== undefined && !this.bus.seesSessions;
    plug.attachPush(link);
  }

  /**
   * Stops serving a plug the platform will not run after all (another block runs it, or it duplicates a running
   * entry): its MAC no longer logs in here, and nothing is sent to it.
   */
  remove(plug: PushTarget): void {
    for (const [uuid, link] of this.links) {
      if (link.plug !== plug) continue;
      this.links.delete(uuid);
      link.session = false;
      this.lost(link, 'it is not run by this block');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    const bus = this.bus;
    this.bus = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new UnreachableError(p.link.plug.address, 'local push stopped'));
    }
    this.pending.clear();
    for (const link of this.links.values()) link.session = false;
    await bus?.close();
  }

  private async open(): Promise<void> {
    const { config, dir, log } = this.options;
    try {
      const { userId, source } = await resolveUserId(dir, config.userId, log, this.options.accountUserId);
      this.userId = userId;
      this.replyTopic = appTopic(userId);
      const topics = [publishTopic('+'), this.replyTopic];
      let bus: Bus;
      if (config.broker) {
        const external = new ExternalBroker({ url: config.broker, topics, log, ca: this.options.ca });
        await external.start();
        bus = external;
      } else {
        const tls = await loadOrCreateCert(dir, log);
        bus = await EmbeddedBroker.start({
          port: config.port,
          bind: config.bind,
          tls,
          topics,
          login: (username, password, clientId, address) => this.login(username, password, clientId, address),
          log,
        });
      }
      if (this.stopped) {
        await bus.close();
        return;
      }
      this.bus = bus;
      this.wire(bus);
      const how = bus.seesSessions ? `listening on ${bus.label} (TLS)` : `using the broker ${bus.label}`;
      log.info(`Local push: ${how}; plugs log in with user id ${userId} (${describeSource(source)}).`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? `port ${config.port} is already in use; set "push.port" to a free one and pair the plugs to it`
          : code === 'EADDRNOTAVAIL'
            ? `"push.bind" (${config.bind ?? ''}) is not an address of this machine`
            : error instanceof Error
              ? error.message
              : String(error);
      log.error(`Local push: cannot start (${why}); the plugs are polled over HTTP.`);
    }
  }

  private wire(bus: Bus): void {
    bus.on('message', (topic, payload) => this.onMessage(topic, payload));
    bus.on('device', (uuid, up, address) => {
      const link = this.links.get(uuid);
      if (!link) return;
      if (up) {
        this.change(link, () => {
          link.session = true;
          link.failedAt = undefined;
          link.address = address;
        });
        this.confirm(link);
      } else {
        this.change(link, () => (link.session = false));
        this.lost(link, 'it disconnected from the broker');
      }
    });
    bus.on('state', (up) => {
      for (const link of this.links.values()) {
        this.change(link, () => (link.session = up));
        if (!up) this.lost(link, 'the broker is gone');
      }
    });
    if (!bus.seesSessions && bus.up) for (const link of this.links.values()) this.change(link, () => (link.session = true));
  }

  /** Applies `mutate`; if that changes whether the link is usable, the plug re-reads its state the new way. */
  private change(link: PlugLink, mutate: () => void): void {
    const before = link.available;
    mutate();
    if (link.available !== before) link.plug.pushChanged();
  }

  /** The plug is known to be on push now (a session opened, or it was heard from): say so once. */
  private confirm(link: PlugLink): void {
    if (link.announced) return;
    link.announced = true;
    const from = link.address ? ` from ${link.address}` : '';
    this.options.log.info(`${link.plug.name}: connected over local MQTT${from}; its button presses now show at once.`);
  }

  private lost(link: PlugLink, why: string): void {
    for (const [id, p] of this.pending) {
      if (p.link !== link) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new UnreachableError(link.plug.address, why));
    }
    if (!link.announced) return;
    link.announced = false;
    this.options.log.info(`${link.plug.name}: off local MQTT (${why}); polling it over HTTP.`);
  }

  /** Exactly the firmware's login (protocol.md §4.2): user name = the plug's MAC, password from userId and key. */
  private login(username: string | undefined, password: Buffer | undefined, clientId: string, address: string | undefined): LoginResult {
    const result = this.decide(username, password, clientId);
    const { log } = this.options;
    if ('uuid' in result) {
      // Fixed: the next refusal, if any, is news again.
      this.reported.delete(`password:${result.uuid}`);
      this.reported.delete(`unknown:${normaliseMac(username ?? '')}`);
      return result;
    }
    const line = `Local push: refused a login from ${address ?? 'an unknown address'}: ${result.refused}.`;
    if (this.reported.has(result.key)) {
      // Not the raw user name: it is whatever the client sent.
      log.debug(`Local push: refused ${normaliseMac(username ?? '') ?? 'a login that is no plug'} again.`);
    } else if (result.key.startsWith('unknown:') && this.unidentified > 0) {
      // Maybe one of the plugs whose uuid is not known yet (host-only entries): not worth a warning yet.
      log.debug(line);
    } else {
      this.remember(result.key);
      log.warn(line);
    }
    return result;
  }

  private decide(username: string | undefined, password: Buffer | undefined, clientId: string): LoginResult {
    const mac = normaliseMac(username ?? '');
    if (!mac) return { refused: 'its user name is not a MAC address, so it is no Meross plug', key: `user:${username ?? ''}` };
    const link = [...this.links.values()].find((l) => l.mac === mac);
    if (!link) {
      const uuid = uuidFromClientId(clientId);
      const hint = uuid ? ` (uuid ${uuid}); add it to "devices" with its key to use it` : '';
      return { refused: `no configured plug has the MAC address ${mac}${hint}`, key: `unknown:${mac}` };
    }
    if (!samePassword(password, devicePassword(mac, link.key, this.userId))) {
      return {
        refused:
          `${link.plug.name} (${mac}) gave a wrong password: it was paired with another key or user id ` +
          `(this plugin expects its configured key and user id ${this.userId}, see "push.userId")`,
        key: `password:${link.uuid}`,
      };
    }
    return { uuid: link.uuid };
  }

  /** Sends a request to the plug's topic with our reply topic in `from`, and resolves with the matching reply. */
  request(link: PlugLink, message: Message<Json>, timeoutMs: number): Promise<unknown> {
    const bus = this.bus;
    const label = link.plug.address;
    if (!bus?.up) return Promise.reject(new UnreachableError(label, 'local push is not running'));
    const id = message.header.messageId;
    // `from` is not covered by the signature (protocol.md §1.3), so the signed message can be re-addressed as is.
    const sent: Message<Json> = { header: { ...message.header, from: this.replyTopic }, payload: message.payload };
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.change(link, () => (link.failedAt = this.now()));
        this.lost(link, 'it did not answer over MQTT');
        reject(new TimeoutError(label, timeoutMs));
      }, timeoutMs);
      timer.unref?.();
      this.pending.set(id, { link, resolve, reject, timer });
      bus.publish(subscribeTopic(link.uuid), JSON.stringify(sent));
    });
  }

  private onMessage(topic: string, raw: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(raw.toString('utf8'));
    } catch {
      this.options.log.debug(`Local push: ignored a message on ${topic} that is not JSON`);
      return;
    }
    if (!isObject(message) || !isObject(message.header)) return;
    const header = message.header as Partial<Header>;
    const payload = isObject(message.payload) ? message.payload : {};
    const waiting = typeof header.messageId === 'string' ? this.pending.get(header.messageId) : undefined;
    const from = applianceTopic(topic);
    if (waiting && header.method !== 'PUSH' && header.method !== 'GET' && header.method !== 'SET') {
      // On a plug's own topic, only that plug may answer; on our reply topic the client checks the sender uuid.
      if (from && from.uuid !== waiting.link.uuid) return;
      clearTimeout(waiting.timer);
      this.pending.delete(header.messageId as string);
      if (this.signed(header, waiting.link)) this.heard(waiting.link, true);
      waiting.resolve(message);
      return;
    }
    if (!from || from.kind !== 'publish') return;
    const link = this.links.get(from.uuid);
    if (!link) {
      // Only uuid-shaped names are repeated in the log: the topic is whatever some client published on.
      if (/^[0-9a-zA-Z]{32}$/.test(from.uuid)) {
        this.reportOnce(`stranger:${from.uuid}`, `Local push: messages from ${from.uuid}, which is not a configured plug; ignoring them.`);
      }
      return;
    }
    if (!this.signed(header, link)) {
      this.badSignatures++;
      this.options.log.debug(`${link.plug.name}: ignored an MQTT message with an invalid signature (${this.badSignatures} so far)`);
      return;
    }
    // A Clock push opens every session (protocol.md §4.3): the plug has just (re)subscribed, so it hears us again.
    this.heard(link, header.namespace === CLOCK);
    this.session(link, header as Header, payload);
  }

  private signed(header: Partial<Header>, link: PlugLink): boolean {
    return typeof header.messageId === 'string' && typeof header.timestamp === 'number' && typeof header.sign === 'string' && verifySign(header as Header, link.key);
  }

  /**
   * A correctly signed message from the plug: it is on the broker (with an external broker, the only way to know).
   * Only an answer, or a new session, shows that it also hears us again after a request went unanswered; a push
   * alone does not, or a plug that stopped listening would cost every command a wait for its MQTT timeout.
   */
  private heard(link: PlugLink, hearsUs: boolean): void {
    if (hearsUs) this.change(link, () => (link.failedAt = undefined));
    if (link.available) this.confirm(link);
  }

  /** What the plug says on its own: session messages get the answers it waits for, relay changes go to the model. */
  private session(link: PlugLink, header: Header, payload: Json): void {
    const { namespace, method } = header;
    const reply = (message: unknown): void => this.bus?.publish(subscribeTopic(link.uuid), JSON.stringify(message));
    if (namespace === CLOCK && method === 'PUSH') {
      // The plug keeps its clock from this answer; it reuses the plug's own header (protocol.md §4.3).
      reply({ header: { ...header, from: this.replyTopic }, payload: { clock: { timestamp: Math.floor(this.now() / 1000) } } });
    } else if (namespace === BIND && method === 'SET') {
      reply(buildMessage(BIND, 'SETACK', {}, link.key, { messageId: header.messageId, from: this.replyTopic, now: this.now() }));
    } else if (namespace === CONSUMPTION_CONFIG && method === 'PUSH') {
      // Echoed back, or some models drop the connection (meross_lan #346).
      reply({ header: { ...header, from: this.replyTopic }, payload });
    } else if ((namespace === TOGGLEX || namespace === TOGGLE) && method === 'PUSH') {
      link.plug.applyPush(namespace, payload);
    } else if (namespace === OVERTEMP && (method === 'PUSH' || method === 'SET')) {
      // Peers disagree on the method the firmware reports it with (simulator/overtemp.ts); either way it is news.
      link.plug.applyPush(namespace, payload);
    } else {
      this.options.log.debug(`${link.plug.name}: ${method} ${namespace} over MQTT (no action)`);
    }
  }

  private reportOnce(key: string, line: string): void {
    if (this.reported.has(key)) return;
    this.remember(key);
    this.options.log.info(line);
  }

  /** Bounded: a client trying one made-up user name after another must not grow it without end. */
  private remember(key: string): void {
    if (this.reported.size >= 1000) this.reported.clear();
    this.reported.add(key);
  }
}

function describeSource(source: UserIdSource): string {
  switch (source) {
    case 'config':
      return 'from "push.userId"';
    case 'cloud':
      return "the Meross account's, remembered";
    case 'generated':
      return 'made up on first start and remembered';
    case 'stored':
      return 'remembered';
  }
}

