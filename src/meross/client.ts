import { ACK_FOR, buildMessage, uuidFromTopic, verifySign, type Header, type Message, type Method } from './envelope';
import {
  ConnectionDroppedError,
  DeviceError,
  MalformedReplyError,
  MerossError,
  ReplyTooLargeError,
  UnsupportedError,
  WrongDeviceError,
  WrongKeyError,
} from './errors';
import { macFromUuidTail, MessageCipher } from './encryption';
import { formatHost, parseHost, type HostAddress } from './host';
import { SerialQueue } from './queue';
import { postConfig } from './transport';
import type { TimeRule } from './time';
import {
  DecodeError,
  decodeAbility,
  decodeConsumption,
  decodeLedOn,
  decodeOverTemp,
  decodeWifiSignal,
  decodeElectricity,
  decodeSystemAll,
  decodeRelays,
  decodeToggle,
  isObject,
  type Abilities,
  type DailyEnergy,
  type Electricity,
  type Json,
  type OverTemp,
  type SystemInfo,
} from './decode';
import { CONSUMPTIONX, DNDMODE, ELECTRICITY, MULTIPLE, OVERTEMP, RUNTIME, SYSTEM_ABILITY, SYSTEM_ALL, SYSTEM_TIME, TOGGLE, TOGGLEX } from './namespaces';

export interface ClientOptions {
  /** `host[:port]`. */
  host: string;
  key: string;
  /** Expected device uuid; replies from any other device raise WrongDeviceError. Learned by `systemAll()` if unset. */
  uuid?: string;
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Extra attempts for a failed GET (never for SET). Default 1. */
  retries?: number;
  /** Largest reply accepted. Real replies stay under ~3 kB; default 64 KiB leaves room and still bounds memory. */
  maxReplyBytes?: number;
  /** Debug sink (never receives the key). */
  debug?: (message: string) => void;
  /**
   * One line for the user's log, said at most once by this client: that the plug encrypts its messages and what of
   * that could not be checked without hardware. Never receives the key.
   */
  notice?: (message: string) => void;
}

/**
 * Another way to reach the plug (local MQTT push, src/push), tried before HTTP while `available`. A failure there
 * falls back to HTTP for that request; the reply is verified the same way whichever way it came.
 */
export interface AlternateTransport {
  readonly available: boolean;
  /** For debug lines, e.g. "MQTT". */
  readonly kind: string;
  /** Sends the signed message; resolves with the parsed reply envelope. */
  send(message: Message<Json>, timeoutMs: number): Promise<unknown>;
}

export interface Command {
  namespace: string;
  method: Method;
  payload: Json;
}

export interface RequestOptions {
  /** Put the request ahead of queued routine ones (user toggles). */
  urgent?: boolean;
}

export interface PollResult {
  /** Channel 0: the plug's relay, or a strip's master. */
  on: boolean;
  /** Every channel the reply named, with its state (only channel 0 on a single plug). */
  relays: ReadonlyMap<number, boolean>;
  electricity?: Electricity;
}

export interface PollOptions {
  /**
   * Read every relay of a multi-channel plug (a strip) from System.All's digest, which lists all channels on every
   * firmware peers have seen, instead of a ToggleX GET. Costs a larger reply; single plugs never need it.
   */
  allChannels?: boolean;
}

export interface SwitchOptions extends RequestOptions {
  /** Which relay (ToggleX `channel`): 0, the default, is a single plug's relay or a strip's master. */
  channel?: number;
}

/**
 * Reply size budget for one `Multiple` batch. The 2.1.17 trace shows every reply above ≈1.85 kB dropped
 * (protocol.md §2.3), so estimates per inner reply keep each batch under 1.8 kB and at most two commands.
 */
const MULTIPLE_REPLY_BUDGET = 1800;
const MULTIPLE_MAX_ITEMS = 2;
const MULTIPLE_OUTER_OVERHEAD = 300;
const REPLY_ESTIMATE: Record<string, number> = {
  [TOGGLEX]: 350,
  [TOGGLE]: 330,
  [ELECTRICITY]: 420,
  'Appliance.System.DNDMode': 320,
  'Appliance.System.Runtime': 330,
  [SYSTEM_ALL]: 1200,
  [CONSUMPTIONX]: 1900,
};
/** After this many dropped batches in a row the client stops batching for good (until restart). */
const MULTIPLE_DROP_LIMIT = 3;

export class MerossClient {
  readonly address: HostAddress;
  /** `host[:port]` as shown in logs and errors. */
  readonly label: string;
  uuid: string | undefined;
  abilities: Abilities | undefined;
  /** Counters worth surfacing in debug logs and benchmarks. */
  readonly stats = { requests: 0, badSignatures: 0, multipleDrops: 0 };
  /** Device clock from the last reply header (Unix seconds); tiny values mean an unsynced clock. */
  lastDeviceTime: number | undefined;
  /** Set by the plug model while the plug is also reachable another way (MQTT). */
  transport: AlternateTransport | undefined;

  private readonly key: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxReplyBytes: number;
  private readonly debug: (message: string) => void;
  private readonly notice: (message: string) => void;
  private readonly queue = new SerialQueue();
  /** Set once the Ability list names Appliance.Encrypt.ECDHE: every HTTP body is then encrypted (encryption.ts). */
  private cipher: MessageCipher | undefined;
  /** Sender uuid of the last verified reply (its `from`), which an encrypted plug's key is derived from. */
  private lastSender: string | undefined;
  private multipleDropsInARow = 0;

  constructor(options: ClientOptions) {
    const address = parseHost(options.host);
    if (!address) throw new TypeError(`"${options.host}" is not a valid host (expected an IP address or name, optionally :port)`);
    this.address = address;
    this.label = formatHost(address);
    this.key = options.key;
    this.uuid = options.uuid;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = options.retries ?? 1;
    this.maxReplyBytes = options.maxReplyBytes ?? 64 * 1024;
    this.debug = options.debug ?? (() => undefined);
    this.notice = options.notice ?? (() => undefined);
  }

  /** Requests waiting or on the wire for this plug. */
  get pending(): number {
    return this.queue.pending;
  }

  /** One verified request; GETs are retried on transient failures, SETs never (a retry could repeat a toggle). */
  async request(namespace: string, method: Method, payload: Json, options: RequestOptions = {}): Promise<Json> {
    const attempts = method === 'GET' ? 1 + this.retries : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        // Each attempt queues anew, so an urgent toggle can go between a failed poll and its retry.
        return await this.queue.push(() => this.once(namespace, method, payload), options.urgent);
      } catch (error) {
        if (attempt >= attempts || !(error instanceof MerossError) || !error.retryable) throw error;
        this.debug(`${this.label}: ${method} ${namespace} attempt ${attempt} failed (${error.code}), retrying`);
      }
    }
  }

  private async once(namespace: string, method: Method, payload: Json): Promise<Json> {
    const message = buildMessage(namespace, method, payload, this.key);
    this.stats.requests++;
    const reply = await this.exchange(message);
    const answer = this.verify(reply, message.header, method);
    this.lastSender = senderOf(reply);
    return answer;
  }

  /** Over the alternate transport while it is up, else (or when it fails) over HTTP; returns the parsed reply. */
  private async exchange(message: Message<Json>): Promise<unknown> {
    const alternate = this.transport;
    if (alternate?.available) {
      try {
        return await alternate.send(message, this.timeoutMs);
      } catch (error) {
        const why = error instanceof MerossError ? error.code : error instanceof Error ? error.message : String(error);
        this.debug(`${this.label}: ${message.header.namespace} over ${alternate.kind} failed (${why}); using HTTP`);
      }
    }
    const cipher = this.httpCipher();
    const text = JSON.stringify(message);
    const body = await postConfig(this.address, cipher ? cipher.encrypt(text) : text, {
      timeoutMs: this.timeoutMs,
      maxReplyBytes: this.maxReplyBytes,
      contentType: cipher ? 'application/octet-stream' : undefined,
    });
    let clear = body;
    if (cipher) {
      try {
        clear = cipher.decrypt(body);
      } catch {
        throw new MalformedReplyError(this.label, body.length === 0 ? 'empty body' : 'an encrypted reply that does not decrypt');
      }
    }
    try {
      return JSON.parse(clear) as unknown;
    } catch {
      throw new MalformedReplyError(this.label, body.length === 0 ? 'empty body' : 'not JSON');
    }
  }

  /** Checks a reply envelope against the request it answers; returns its payload. */
  private verify(reply: unknown, sent: Pick<Header, 'messageId' | 'namespace'>, method: Method): Json {
    return verifyReply(reply, sent, method, {
      label: this.label,
      key: this.key,
      uuid: this.uuid,
      onBadSignature: () => {
        this.stats.badSignatures++;
        this.debug(`${this.label}: reply signature invalid (${this.stats.badSignatures} so far)`);
      },
      onDeviceTime: (seconds) => {
        this.lastDeviceTime = seconds;
      },
    });
  }

  private decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof DecodeError) throw new MalformedReplyError(this.label, error.message);
      throw error;
    }
  }

  async ability(): Promise<Abilities> {
    const payload = await this.request(SYSTEM_ABILITY, 'GET', {});
    const abilities = this.decode(() => decodeAbility(payload));
    if (abilities.encrypted && !this.cipher) {
      this.cipher = this.newCipher(this.uuid ?? this.lastSender);
      // The key came from the uuid in that (verified) reply: from now on only that plug is believed here.
      this.uuid ??= this.lastSender;
      this.notice(
        'this firmware encrypts its local messages (Appliance.Encrypt.ECDHE); using the per-plug key meross_lan derives ' +
          "from the plug's uuid, MAC and device key, without a key exchange. Checked against meross_lan's emulator only, " +
          'not a real plug: if it stops answering, please report its model and firmware.',
      );
    }
    this.abilities = abilities;
    return abilities;
  }

  /**
   * The cipher for HTTP bodies, or undefined for a plug that takes plain JSON. A client handed the abilities of an
   * encrypted plug (a plug that moved to another address) derives it from the uuid it was given.
   */
  private httpCipher(): MessageCipher | undefined {
    if (!this.cipher && this.abilities?.encrypted) this.cipher = this.newCipher(this.uuid);
    return this.cipher;
  }

  /** meross_lan's static key (encryption.ts), from the uuid and the MAC its last 12 digits spell. */
  private newCipher(uuid: string | undefined): MessageCipher {
    if (uuid === undefined) {
      throw new UnsupportedError(this.label, 'this plug encrypts its messages, but its reply named no uuid to derive the key from');
    }
    const mac = macFromUuidTail(uuid);
    if (!mac) throw new UnsupportedError(this.label, "this plug encrypts its messages, but its uuid does not end with the MAC the key is derived from");
    return new MessageCipher(uuid, this.key, mac);
  }

  private async requireAbilities(): Promise<Abilities> {
    return this.abilities ?? (await this.ability());
  }

  /** System.All; learns the uuid if none was given, otherwise checks it. */
  async systemAll(): Promise<SystemInfo> {
    let payload: Json;
    try {
      payload = await this.request(SYSTEM_ALL, 'GET', { all: {} });
    } catch (error) {
      // Encrypted firmware resets every plain request but System.Ability (protocol.md §3.13), as meross_lan found: ask
      // that, and if it names ECDHE, ask again encrypted. Only for a client that knows nothing of the plug yet, and
      // only after a close without any reply (not one broken mid-reply, which is a plain plug's trouble).
      const closedUnanswered = error instanceof ConnectionDroppedError && error.message === new ConnectionDroppedError(this.label).message;
      if (this.abilities || this.cipher || !closedUnanswered) throw error;
      if (!(await this.ability()).encrypted) throw error;
      payload = await this.request(SYSTEM_ALL, 'GET', { all: {} });
    }
    const info = this.decode(() => decodeSystemAll(payload));
    if (this.uuid === undefined) this.uuid = info.uuid;
    else if (info.uuid !== this.uuid) throw new WrongDeviceError(this.label, this.uuid, info.uuid);
    return info;
  }

  private async toggleNamespace(): Promise<NonNullable<Abilities['toggle']>> {
    const ns = (await this.requireAbilities()).toggle;
    if (!ns) throw new UnsupportedError(this.label, 'the plug lists neither ToggleX nor Toggle');
    return ns;
  }

  private toggleGet(ns: NonNullable<Abilities['toggle']>): Command {
    return ns === TOGGLEX
      ? { namespace: ns, method: 'GET', payload: { togglex: [] } }
      : { namespace: ns, method: 'GET', payload: { toggle: [] } };
  }

  /**
   * Switches a relay with ToggleX (fw 2.x/6.x) or Toggle (fw 1.1.x), as the ability list says. Urgent unless told
   * otherwise: a user is waiting. Toggle has no channels; only channel 0 can be switched there.
   */
  async setOn(on: boolean, options: SwitchOptions = {}): Promise<void> {
    const ns = await this.toggleNamespace();
    const onoff = on ? 1 : 0;
    const channel = options.channel ?? 0;
    if (ns !== TOGGLEX && channel !== 0) throw new UnsupportedError(this.label, `the plug has no channel ${channel} (it speaks Toggle, one relay)`);
    const payload = ns === TOGGLEX ? { togglex: { channel, onoff } } : { toggle: { onoff } };
    await this.request(ns, 'SET', payload, { urgent: options.urgent ?? true });
  }

  async getOn(): Promise<boolean> {
    const ns = await this.toggleNamespace();
    const cmd = this.toggleGet(ns);
    const payload = await this.request(cmd.namespace, cmd.method, cmd.payload);
    return this.decode(() => decodeToggle(payload, ns));
  }

  async electricity(): Promise<Electricity> {
    const payload = await this.request(ELECTRICITY, 'GET', { electricity: {} });
    return this.decode(() => decodeElectricity(payload));
  }

  /**
   * Tells the plug its time zone: the IANA name and the UTC offsets it should apply (`timeRule`, see time.ts), as
   * meross_lan does (`Appliance.System.Time` SET, protocol.md §3.3). The plug then books its days in that zone.
   */
  async setTimeZone(timezone: string, timeRule: readonly TimeRule[]): Promise<void> {
    await this.request(SYSTEM_TIME, 'SET', { time: { timezone, timeRule: timeRule.map((r) => [...r]) } });
  }

  /** Whether the status LED is on (`Appliance.System.DNDMode`, where the plug lists it). */
  async ledOn(): Promise<boolean> {
    const payload = await this.request(DNDMODE, 'GET', { DNDMode: {} });
    return this.decode(() => decodeLedOn(payload));
  }

  /** Turns the status LED on or off (DNDMode `mode` 0 or 1). */
  async setLed(on: boolean): Promise<void> {
    await this.request(DNDMODE, 'SET', { DNDMode: { mode: on ? 0 : 1 } });
  }

  /**
   * The over-temperature state (`Appliance.Control.OverTemp`), asked for channel 0 as Doekse/node-meross-sdk does: the
   * mss305 and mss110 traces show the firmware dropping the connection for `{"overTemp":[]}` and `{}`.
   */
  async overTemp(): Promise<OverTemp> {
    const payload = await this.request(OVERTEMP, 'GET', { overTemp: [{ channel: 0 }] });
    return this.decode(() => decodeOverTemp(payload));
  }

  /** The Wi-Fi signal in % (`Appliance.System.Runtime`). */
  async wifiSignal(): Promise<number> {
    const payload = await this.request(RUNTIME, 'GET', { runtime: {} });
    return this.decode(() => decodeWifiSignal(payload));
  }

  /** Daily Wh from ConsumptionX, sorted by date, one entry per day. */
  async consumption(): Promise<DailyEnergy[]> {
    const payload = await this.request(CONSUMPTIONX, 'GET', { consumptionx: [] });
    return this.decode(() => decodeConsumption(payload));
  }

  /** Relay state and (if the plug meters) electricity, batched in one Multiple where the plug supports it. */
  async poll(options: PollOptions = {}): Promise<PollResult> {
    const abilities = await this.requireAbilities();
    const ns = await this.toggleNamespace();
    const commands: Command[] = [options.allChannels ? { namespace: SYSTEM_ALL, method: 'GET', payload: { all: {} } } : this.toggleGet(ns)];
    if (abilities.electricity) commands.push({ namespace: ELECTRICITY, method: 'GET', payload: { electricity: {} } });
    const [toggle, electricity] = await this.batch(commands);
    const relays = this.decode(() => (options.allChannels ? decodeSystemAll(unwrap(toggle)).relays : decodeRelays(unwrap(toggle), ns)));
    return {
      on: relays.get(0) ?? [...relays.values()].some(Boolean),
      relays,
      electricity: electricity === undefined ? undefined : this.decode(() => decodeElectricity(unwrap(electricity))),
    };
  }

  /**
   * Runs commands, packed into `Appliance.Control.Multiple` batches that respect the firmware's limits where the
   * plug lists Multiple, else one by one. Returns, per command, its payload or the error it got. A batch the
   * plug drops is retried as single requests.
   */
  async batch(commands: Command[]): Promise<Array<Json | MerossError>> {
    const abilities = await this.requireAbilities();
    const results: Array<Json | MerossError> = [];
    for (const group of this.pack(commands, abilities)) {
      if (group.length > 1) {
        try {
          results.push(...(await this.multiple(group)));
          this.multipleDropsInARow = 0;
          continue;
        } catch (error) {
          if (!(error instanceof ConnectionDroppedError || error instanceof ReplyTooLargeError || error instanceof MalformedReplyError)) {
            throw error;
          }
          this.stats.multipleDrops++;
          this.multipleDropsInARow++;
          this.debug(`${this.label}: Multiple batch failed (${error.code}); sending its ${group.length} commands singly`);
        }
      }
      for (const cmd of group) {
        try {
          results.push(await this.request(cmd.namespace, cmd.method, cmd.payload));
        } catch (error) {
          if (!(error instanceof MerossError) || error instanceof WrongKeyError || error instanceof WrongDeviceError) throw error;
          results.push(error);
        }
      }
    }
    return results;
  }

  private pack(commands: Command[], abilities: Abilities): Command[][] {
    const maxItems = Math.min(MULTIPLE_MAX_ITEMS, abilities.multipleMax);
    if (maxItems < 2 || this.multipleDropsInARow >= MULTIPLE_DROP_LIMIT) return commands.map((c) => [c]);
    const groups: Command[][] = [];
    let group: Command[] = [];
    let size = MULTIPLE_OUTER_OVERHEAD;
    for (const cmd of commands) {
      const estimate = REPLY_ESTIMATE[cmd.namespace] ?? 600;
      if (group.length > 0 && (group.length >= maxItems || size + estimate > MULTIPLE_REPLY_BUDGET)) {
        groups.push(group);
        group = [];
        size = MULTIPLE_OUTER_OVERHEAD;
      }
      group.push(cmd);
      size += estimate;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  private async multiple(group: Command[]): Promise<Array<Json | MerossError>> {
    const inner = group.map((c) => buildMessage(c.namespace, c.method, c.payload, this.key));
    const payload = await this.request(MULTIPLE, 'SET', { multiple: inner });
    const list = payload.multiple;
    if (!Array.isArray(list)) throw new MalformedReplyError(this.label, 'Multiple reply without a list');
    return inner.map((sent) => {
      const reply: unknown = list.find((r) => isObject(r) && isObject(r.header) && r.header.messageId === sent.header.messageId);
      if (reply === undefined) return new MalformedReplyError(this.label, `Multiple reply lacks ${sent.header.namespace}`);
      try {
        return this.verify(reply, sent.header, sent.header.method);
      } catch (error) {
        if (error instanceof WrongKeyError || error instanceof WrongDeviceError || !(error instanceof MerossError)) throw error;
        return error;
      }
    });
  }
}

/** What a reply is checked against, besides the request it answers. */
export interface ReplyCheck {
  /** `host[:port]`, for error messages. */
  label: string;
  key: string;
  /** The plug's uuid once known; replies naming another device, or none, are refused. */
  uuid: string | undefined;
  /** Called for each reply whose signature does not check out (the client counts them for the debug log). */
  onBadSignature?: () => void;
  /** Called with the device clock of each correctly signed reply, ERROR replies included. */
  onDeviceTime?: (seconds: number) => void;
}

/**
 * Checks a reply envelope against the request it answers and returns its payload. No I/O and no state of its
 * own, so it can be fuzzed directly; anything wrong surfaces as a MerossError subclass.
 */
export function verifyReply(reply: unknown, sent: Pick<Header, 'messageId' | 'namespace'>, method: Method, check: ReplyCheck): Json {
  const { label } = check;
  if (!isObject(reply) || !isObject(reply.header) || !isObject(reply.payload)) {
    throw new MalformedReplyError(label, 'no header or payload');
  }
  const header = reply.header as Partial<Header>;
  const from = uuidFromTopic(header.from) ?? (typeof header.uuid === 'string' ? header.uuid : undefined);
  const payload = reply.payload;
  // Before anything else: a reply to another request (a late one, or a replay) says nothing about this one.
  if (header.messageId !== sent.messageId) throw new MalformedReplyError(label, 'reply to another message');
  // A 5001 reply is signed with the plug's key — the very key we lack — so recognise it before the sign check.
  if (header.method === 'ERROR') {
    if (errorCode(payload) === 5001) throw new WrongKeyError(label, from);
  }
  if (typeof header.timestamp !== 'number' || typeof header.sign !== 'string' || !verifySign(header as Header, check.key)) {
    check.onBadSignature?.();
    throw new MalformedReplyError(label, 'invalid reply signature');
  }
  // Plugs of one account share a key, so the sender's uuid is what tells them apart: it must be there and match.
  if (check.uuid !== undefined) {
    if (from === undefined) throw new MalformedReplyError(label, 'reply names no sender');
    if (from !== check.uuid) throw new WrongDeviceError(label, check.uuid, from);
  }
  check.onDeviceTime?.(header.timestamp);
  if (header.method === 'ERROR') throw new DeviceError(label, errorCode(payload), sent.namespace);
  if (header.method !== ACK_FOR[method]) {
    // Not String(): a JSON object with its own "toString" key would make that throw a TypeError.
    const got = typeof header.method === 'string' ? header.method.slice(0, 20) : typeof header.method;
    throw new MalformedReplyError(label, `method ${got} instead of ${ACK_FOR[method]}`);
  }
  if (header.namespace !== sent.namespace) throw new MalformedReplyError(label, 'namespace mismatch');
  return payload;
}

/** `payload.error.code` of an ERROR reply; Number() only on primitives, since any JSON value can arrive here. */
function errorCode(payload: Json): number | undefined {
  const code = isObject(payload.error) ? payload.error.code : undefined;
  return typeof code === 'number' || typeof code === 'string' ? Number(code) : undefined;
}

/** The uuid a reply names as its sender (`from` topic, or a `uuid` header). */
function senderOf(reply: unknown): string | undefined {
  if (!isObject(reply) || !isObject(reply.header)) return undefined;
  const { from, uuid } = reply.header;
  return uuidFromTopic(from) ?? (typeof uuid === 'string' ? uuid : undefined);
}

function unwrap(result: Json | MerossError | undefined): Json {
  if (result instanceof MerossError) throw result;
  if (result === undefined) throw new TypeError('missing batch result');
  return result;
}
