import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { PlugDevice, type Outcome } from './device';
import { unwrapRequest } from './encrypted';
import { RequestReader, response, responseHead, type ReadResult } from './http';
import { formatAddress, isLoopback, macFromUuid, randomKey, randomMac, uuidForMac } from './identity';
import { SetupMode, SimulatedMqtt, splitHostPort, type MqttState } from './mqtt';
import { overTempEvent } from './overtemp';
import type { ConsumptionEntry, Fault, Firmware, MidnightMode, MqttSettings, OverTempState, OverTempType, Readings, RequestRecord, SimulatorOptions, ToggleEvent } from './types';
import { waitOr } from '../util/wait';
import { MODEL_PROFILES } from './profiles/family';

export interface SimulatedPlugEvents {
  /** A request was parsed; emitted before the plug acts on it or answers. */
  request: [RequestRecord];
  toggle: [ToggleEvent];
  /** setOverTemp() changed the over-temperature state. */
  overtemp: [OverTempState];
  /** MQTT mode: the session to the broker opened, ended or was refused. */
  mqtt: [MqttState];
  /** Setup mode ended with Config.Key and Config.Wifi; the plug now uses the new key (and broker, if one was set). */
  paired: [SetupMode];
}

const MAX_RECORDS = 1000;
/** A client that connects and sends nothing must not block the one-at-a-time queue forever. */
const READ_TIMEOUT_MS = 5000;
/** After our reply, a client that never closes its side is cut off. */
const LINGER_MS = 2000;
const DEFAULT_OVERSIZE = 1024 * 1024;

/**
 * A simulated MSS310 on a loopback TCP port: hand-written HTTP framing, one request at a time like the real
 * firmware, and switchable faults. The device logic itself lives in PlugDevice.
 */
export class SimulatedPlug extends EventEmitter<SimulatedPlugEvents> {
  readonly host: string;
  readonly uuid: string;
  readonly mac: string;
  readonly firmware: Firmware;
  readonly name: string;
  readonly requests: RequestRecord[] = [];
  /** MQTT mode (options.mqtt, or after pairing); undefined for an HTTP-only plug. */
  mqtt: SimulatedMqtt | undefined;
  /** Set while in setup (pairing) mode. */
  setupMode: SetupMode | undefined;

  private readonly device: PlugDevice;
  private readonly lfOnly: boolean;
  private _port: number;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** Serial queue: each connection is served only after the previous one is finished. */
  private queue: Promise<void> = Promise.resolve();
  /** Serialises listener changes so that quick setFault calls cannot interleave a close and a listen. */
  private listenerChain: Promise<void> = Promise.resolve();
  private currentFault: Fault | null = null;
  private everyOtherCount = 0;
  private hangReleases = new Set<() => void>();
  private stopped = false;

  private constructor(options: SimulatorOptions) {
    super();
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host)) throw new Error(`simulated plugs bind to loopback only, not ${host}`);
    this.host = host;
    this._port = options.port ?? 0;
    this.firmware = options.firmware ?? (options.model && options.model !== 'mss310' ? MODEL_PROFILES[options.model].generation : 2);
    this.mac = (options.mac ?? (options.uuid && macFromUuid(options.uuid)) ?? randomMac()).toLowerCase();
    this.uuid = options.uuid ?? uuidForMac(this.mac);
    this.name = options.name ?? `${options.model ?? 'mss310'}-${this.mac.slice(-5).replace(':', '')}`;
    this.lfOnly = options.lfOnly ?? false;
    this.device = new PlugDevice({
      firmware: this.firmware,
      model: options.model,
      withoutAbilities: options.withoutAbilities,
      uuid: this.uuid,
      mac: this.mac,
      key: options.key ?? randomKey(),
      host,
      on: options.on ?? false,
      readings: { watts: options.watts ?? 60.5, volts: options.volts ?? 230.1, amps: options.amps ?? 0.27 },
      maxReplyBytes: options.maxReplyBytes ?? 1850,
      now: options.now ?? Date.now,
      timezone: options.timezone,
      timeRule: options.timeRule,
      dayBooking: options.dayBooking,
      midnight: options.midnight,
      clockSkewMs: options.clockSkewMs,
      clockDriftPpm: options.clockDriftPpm,
      onToggle: (events) => {
        for (const event of events) this.emit('toggle', event);
        this.mqtt?.pushToggle(events.map((e) => e.channel));
      },
    });
    if (options.setup) {
      this.setupMode = new SetupMode();
      this.device.skipSignCheck = true;
    }
    if (options.mqtt) this.mqtt = this.mqttLink(options.mqtt);
  }

  /** The signing key (Appliance.Config.Key replaces it when the plug is paired). */
  get key(): string {
    return this.device.key;
  }

  private mqttLink(settings: MqttSettings): SimulatedMqtt {
    // Fails early on a bad address rather than on the first connection attempt.
    splitHostPort(settings.broker);
    const link = new SimulatedMqtt({ uuid: this.uuid, mac: this.mac, host: this.host, device: this.device, record: (r) => this.record(r) }, settings);
    link.on('state', (state) => this.emit('mqtt', state));
    return link;
  }

  private record(record: RequestRecord): void {
    this.requests.push(record);
    if (this.requests.length > MAX_RECORDS) this.requests.splice(0, this.requests.length - MAX_RECORDS);
    this.emit('request', record);
  }

  /** After Config.Wifi: out of setup mode, with the new key, and on to the broker Config.Key named. */
  private async leaveSetup(setup: SetupMode): Promise<void> {
    this.setupMode = undefined;
    this.device.skipSignCheck = false;
    if (setup.key !== undefined) this.device.setKey(setup.key);
    if (setup.gateway && setup.userId !== undefined) {
      await this.mqtt?.stop();
      this.mqtt = this.mqttLink({ broker: formatAddress(setup.gateway.host, setup.gateway.port), userId: setup.userId });
      await this.mqtt.start();
    }
    this.emit('paired', setup);
  }

  static async start(options: SimulatorOptions = {}): Promise<SimulatedPlug> {
    const plug = new SimulatedPlug(options);
    await plug.listen();
    await plug.mqtt?.start();
    return plug;
  }

  get port(): number {
    return this._port;
  }

  get address(): string {
    return formatAddress(this.host, this._port);
  }

  /** Relay state of channel 0 (a strip's master). (Not `on`: that name is EventEmitter's `on()` method.) */
  get isOn(): boolean {
    return this.device.relayOn;
  }

  /** Every ToggleX channel the device lists: `[0]` for a plug, `[0, 1, …, N]` for a strip (0 the master). */
  get channels(): number[] {
    return [...this.device.relays.channels];
  }

  /** Whether `channel` is on; throws RangeError for a channel the device does not have. */
  channelOn(channel: number): boolean {
    return this.device.relays.isOn(channel);
  }

  /** What Electricity would report right now: 0 W/0 A while off, all zeros with an unsynced clock. */
  get readings(): Readings {
    return this.device.readings();
  }

  setReadings(r: Partial<Readings>): void {
    this.device.setReadings(r);
  }

  /** The physical button of `channel` (default 0: the plug's button, a strip's master button). */
  press(channel = 0): void {
    this.device.setRelay(!this.device.relays.isOn(channel), 'button', channel);
  }

  /**
   * A change not caused by a request (e.g. a timer on the plug) on `channel` (default 0; on a strip 0 switches every
   * outlet). Emits 'toggle' for each channel that changes, and nothing if none does.
   */
  setOn(on: boolean, channel = 0): void {
    this.device.setRelay(on, 'local', channel);
  }

  /** The over-temperature state the plug reports (models with Appliance.Control.OverTemp: mss305, mss110). */
  get overTemp(): OverTempState {
    return { ...this.device.overTemp };
  }

  /**
   * The plug reports an over temperature (`active`) or its end, of `type` 'early-warning' (default) or
   * 'shutoff-relay' (the firmware cut the power: every channel goes off). Pushed over MQTT in MQTT mode and answered
   * to GET; see overtemp.ts for the payload shapes and their sources. Throws for a model without over-temperature
   * protection.
   */
  setOverTemp(active: boolean, type: OverTempType = 'early-warning'): void {
    if (!this.device.profile.ability['Appliance.Control.OverTemp']) throw new Error(`${this.device.profile.type ?? 'mss310'} has no Appliance.Control.OverTemp`);
    const state = this.device.setOverTemp(active, type);
    this.emit('overtemp', { ...state });
    this.mqtt?.pushOverTemp(overTempEvent(state));
  }

  /** The daily ring buffer, unsorted; today's entry includes the energy used up to now. */
  get consumption(): ConsumptionEntry[] {
    return this.device.consumption();
  }

  set consumption(entries: ConsumptionEntry[]) {
    this.device.consumption();
    this.device.meter.entries = entries;
  }

  /** What the daily counter does at the plug's next midnights (consumption.ts). */
  get midnight(): MidnightMode {
    return this.device.meter.midnight;
  }

  set midnight(mode: MidnightMode) {
    this.device.consumption();
    this.device.meter.midnight = mode;
  }

  /** The plug's clock, Unix ms. */
  get clock(): number {
    return this.device.deviceMs();
  }

  /** The plug's local day now, as its ConsumptionX books it. */
  get today(): string {
    return this.device.meter.dayOf(this.device.deviceMs());
  }

  /** The time zone the plug reports. */
  get timezone(): string {
    return this.device.timezone;
  }

  /** The plug's clock minus the host's, ms. */
  get clockSkewMs(): number {
    return this.device.clockSkewMs;
  }

  /** Sets the plug's clock `skewMs` off the host's; forward, nothing is used in the skipped time but midnights pass. */
  setClockSkew(skewMs: number): void {
    this.device.setClockSkew(skewMs);
  }

  /** Moves the plug's clock forward by `ms` (see setClockSkew): a test crosses the plug's midnight in an instant. */
  fastForward(ms: number): void {
    this.device.setClockSkew(this.device.clockSkewMs + ms);
  }

  get fault(): Fault | null {
    return this.currentFault;
  }

  async setFault(fault: Fault | null): Promise<void> {
    const wasOffline = this.currentFault?.type === 'offline';
    this.currentFault = fault;
    this.everyOtherCount = 0;
    this.releaseHangs();
    this.device.unsynced = fault?.type === 'unsynced-clock';
    if (fault?.type === 'wrong-uuid') {
      const mac = (fault.uuid && macFromUuid(fault.uuid)) || randomMac();
      this.device.impostor = { uuid: fault.uuid ?? uuidForMac(mac), mac };
    } else {
      this.device.impostor = undefined;
    }
    await this.syncListener();
    // A plug that is off the network is off its broker too, and back on it when it returns.
    const offline = fault?.type === 'offline';
    if (this.mqtt && offline !== wasOffline) await (offline ? this.mqtt.stop() : this.mqtt.start());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.releaseHangs();
    await this.mqtt?.stop();
    await this.syncListener();
  }

  private syncListener(): Promise<void> {
    const step = this.listenerChain.then(async () => {
      const wanted = !this.stopped && this.currentFault?.type !== 'offline';
      if (wanted && !this.server) await this.listen();
      else if (!wanted && this.server) await this.close();
    });
    // A failed reopen (port taken meanwhile) is reported to that caller only; later calls may try again.
    this.listenerChain = step.catch(() => undefined);
    return step;
  }

  private async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    server.listen({ host: this.host, port: this._port });
    await once(server, 'listening');
    const address = server.address();
    if (address && typeof address === 'object') this._port = address.port;
    this.server = server;
  }

  /** Closes the listening socket (new connections are refused) and drops every open connection. */
  private async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = once(server, 'close');
    server.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private releaseHangs(): void {
    for (const release of this.hangReleases) release();
    this.hangReleases.clear();
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // Resets and broken pipes from clients that gave up are normal here.
    socket.on('error', () => undefined);
    socket.pause();
    this.queue = this.queue.then(() => this.serve(socket)).catch(() => undefined);
  }

  private async serve(socket: Socket): Promise<void> {
    if (socket.destroyed) return;
    const read = await readRequest(socket);
    if (!read || read.state === 'more') return void socket.destroy();
    if (read.state === 'bad') {
      if (read.status) return this.send(socket, response(read.status, '', this.lfOnly, 'text/plain'));
      return void socket.destroy();
    }
    const { request } = read;
    if (request.path !== '/config') return this.send(socket, response(404, '', this.lfOnly, 'text/plain'));
    if (request.method !== 'POST') return this.send(socket, response(405, '', this.lfOnly, 'text/plain'));

    const body = request.body.toString('utf8');
    const wire = this.device.profile.encrypted ? unwrapRequest(body, { uuid: this.device.uuid, key: this.device.key, mac: this.device.mac }) : undefined;
    // Encrypted firmware resets a plain request other than Ability (meross_lan's emulator): a TCP RST, no reply.
    if (wire?.kind === 'reset') return void socket.resetAndDestroy();
    const parsed = this.device.parse(wire ? wire.text : body);
    if (parsed.kind === 'drop') return void socket.destroy();
    if (wire) parsed.record.encrypted = wire.kind === 'encrypted';
    this.record(parsed.record);
    // Network faults act after the plug has processed the request, as if only the answer were lost.
    const setup = this.setupMode;
    const outcome = setup?.handle(parsed, this.device) ?? this.device.execute(parsed);
    await this.answer(socket, wire?.kind === 'encrypted' && outcome.kind === 'reply' ? { kind: 'reply', body: wire.seal(outcome.body) } : outcome);
    // The real plug reboots after Config.Wifi, once its answer is out.
    if (setup?.done && this.setupMode === setup) await this.leaveSetup(setup);
  }

  private async answer(socket: Socket, outcome: Outcome): Promise<void> {
    const fault = this.currentFault;
    if (fault?.type === 'hang') {
      await this.hang(socket);
      return void socket.destroy();
    }
    if (fault?.type === 'every-other' && ++this.everyOtherCount % 2 === 1) return void socket.destroy();
    if (fault?.type === 'delay') {
      await waitOrClose(socket, fault.ms);
      if (socket.destroyed) return;
    }
    if (outcome.kind === 'drop') return void socket.destroy();
    const body = Buffer.from(outcome.body, 'utf8');
    switch (fault?.type) {
      case 'garbage':
        // Truncated JSON, as firmwares that cannot fit a reply in their buffer send it (protocol.md §2.3).
        return this.send(socket, response(200, body.subarray(0, Math.floor(body.length * 0.6)), this.lfOnly));
      case 'reset':
        return this.resetMidBody(socket, body);
      case 'oversize':
        return this.send(socket, response(200, padded(outcome.body, fault.bytes ?? DEFAULT_OVERSIZE), this.lfOnly));
      default:
        return this.send(socket, response(200, body, this.lfOnly));
    }
  }

  /** Resolves when the client gives up, the fault is cleared or the plug stops. */
  private hang(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      if (socket.destroyed) return resolve();
      const release = (): void => {
        this.hangReleases.delete(release);
        socket.off('close', release);
        socket.off('end', release);
        resolve();
      };
      this.hangReleases.add(release);
      socket.once('close', release);
      // An aborted client may only half-close; without reading we would never see its FIN.
      socket.once('end', release);
      socket.resume();
    });
  }

  private async send(socket: Socket, bytes: Buffer): Promise<void> {
    if (socket.destroyed) return;
    socket.end(bytes);
    await Promise.race([once(socket, 'finish'), once(socket, 'close')]).catch(() => undefined);
    socket.resume();
    socket.setTimeout(LINGER_MS, () => socket.destroy());
  }

  private async resetMidBody(socket: Socket, body: Buffer): Promise<void> {
    const part = body.subarray(0, Math.floor(body.length / 2));
    const bytes = Buffer.concat([responseHead(200, body.length, this.lfOnly), part]);
    await new Promise<void>((resolve) => socket.write(bytes, () => resolve()));
    // Give the client a moment to read the partial reply before the RST discards what it has not read.
    await waitOrClose(socket, 20);
    if (!socket.destroyed) socket.resetAndDestroy();
  }
}

function readRequest(socket: Socket): Promise<ReadResult | null> {
  return new Promise((resolve) => {
    const reader = new RequestReader();
    const finish = (result: ReadResult | null): void => {
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.setTimeout(0);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      const result = reader.push(chunk);
      if (result.state !== 'more') finish(result);
    };
    const onGone = (): void => finish(null);
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.setTimeout(READ_TIMEOUT_MS, onGone);
    socket.resume();
  });
}

function waitOrClose(socket: Socket, ms: number): Promise<void> {
  return waitOr(ms, (done) => {
    socket.once('close', done);
    return () => socket.off('close', done);
  });
}

/** The real reply with a long string member added, so the body stays valid JSON of exactly `bytes` bytes. */
function padded(body: string, bytes: number): Buffer {
  const prefix = `${body.slice(0, -1)},"padding":"`;
  const suffix = '"}';
  const fill = Math.max(0, bytes - Buffer.byteLength(prefix) - suffix.length);
  return Buffer.from(prefix + 'x'.repeat(fill) + suffix, 'utf8');
}
