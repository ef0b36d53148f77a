/**
 * The fuzz properties, shared by the quick runs in `npm test` (test/fuzz/*.test.ts) and the long run
 * (`npm run fuzz`, scripts/fuzz.ts). Each property says what must hold for *any* input: only the typed errors
 * (DecodeError from the decoders, MerossError subclasses from the client) ever escape, outputs are clean values,
 * no secret shows up in an error, and no case takes long (a hang or a super-linear blow-up fails the case).
 */
import fc from 'fast-check';
import { parseConfig } from '../../src/config';
import { verifyReply } from '../../src/meross/client';
import {
  DecodeError,
  decodeAbility,
  decodeConsumption,
  decodeElectricity,
  decodeSystemAll,
  decodeOverTemp,
  decodeRelays,
  decodeToggle,
  isObject,
  type Json,
} from '../../src/meross/decode';
import { sign, uuidFromTopic, type Method } from '../../src/meross/envelope';
import { DeviceError, MalformedReplyError, MerossError, WrongDeviceError, WrongKeyError } from '../../src/meross/errors';
import { parseHost } from '../../src/meross/host';
import { MESSAGES, PAYLOADS, type FixtureName } from '../fixtures/replies';
import { deepNest, jsonish, mutate, mutation, plugUuid, replaceAt, secretKey, signedReply, type Mutation } from './arbitraries';

/**
 * A synchronous case that burns more CPU than this counts as a hang. CPU time, not wall-clock time: a busy machine
 * (the quick runs share two cores with e2e tests) makes a case wait longer, never compute longer.
 */
export const CASE_LIMIT_MS = 1000;

export interface RunOptions {
  numRuns: number;
  seed?: number;
  /** Replays one failing case (fast-check's counterexample path). */
  path?: string;
}

export interface FuzzSpec {
  /** Test title and report row. */
  name: string;
  area: 'decode' | 'verify' | 'config' | 'client' | 'ledger';
  /** Cases in `npm test`: about a second's worth. */
  quickRuns: number;
  /** Cases in `npm run fuzz` (scaled by --scale). */
  longRuns: number;
  /** Runs the property (fc.assert); throws fast-check's report with the shrunk counterexample on failure. */
  run: (options: RunOptions) => void | Promise<void>;
}

/** Wraps a property of any argument types into a spec (fast-check's property types are invariant in them). */
export function defineSpec<Ts>(spec: Omit<FuzzSpec, 'run'> & { property: () => fc.IRawProperty<Ts> }): FuzzSpec {
  const { property, ...rest } = spec;
  return { ...rest, run: (options) => fc.assert(property(), options) };
}

/**
 * Fails the case if `fn` uses more than CASE_LIMIT_MS of this process's CPU: the closest a synchronous property gets
 * to "never hangs". Time the process spent waiting for a core does not count.
 */
export function timed<T>(what: string, fn: () => T): T {
  const started = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(started);
  const cpuMs = (used.user + used.system) / 1000;
  if (cpuMs > CASE_LIMIT_MS) throw new Error(`${what} used ${cpuMs.toFixed(0)} ms of CPU`);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders

type Decoded = ReturnType<(typeof DECODERS)[keyof typeof DECODERS]>;

const DECODERS = {
  ability: (p: unknown) => decodeAbility(p),
  systemAll: (p: unknown) => decodeSystemAll(p),
  toggleX: (p: unknown) => decodeToggle(p, 'Appliance.Control.ToggleX'),
  toggle: (p: unknown) => decodeToggle(p, 'Appliance.Control.Toggle'),
  electricity: (p: unknown) => decodeElectricity(p),
  consumption: (p: unknown) => decodeConsumption(p),
  relays: (p: unknown) => decodeRelays(p, 'Appliance.Control.ToggleX'),
  overTemp: (p: unknown) => decodeOverTemp(p),
} as const;

type DecoderName = keyof typeof DECODERS;

const DECODER_FOR: Record<string, DecoderName> = {
  'Appliance.System.Ability': 'ability',
  'Appliance.System.All': 'systemAll',
  'Appliance.Control.ToggleX': 'toggleX',
  'Appliance.Control.Toggle': 'toggle',
  'Appliance.Control.Electricity': 'electricity',
  'Appliance.Control.ConsumptionX': 'consumption',
  'Appliance.Control.OverTemp': 'overTemp',
};

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** What a decoder returned must be a clean value: the rest of the plugin never re-checks it. */
function checkDecoded(name: DecoderName, out: Decoded): void {
  const fail = (what: string): never => {
    throw new Error(`${name} returned ${what}: ${JSON.stringify(out, (_k, v: unknown) => (v instanceof Set ? [...v] : v))}`);
  };
  switch (name) {
    case 'ability': {
      const a = out as ReturnType<typeof decodeAbility>;
      if (![...a.namespaces].every((n) => typeof n === 'string')) fail('a non-string namespace');
      if (!Number.isInteger(a.multipleMax) || a.multipleMax < 0) fail('a bad multipleMax');
      if (a.multipleMax > 0 && !a.namespaces.has('Appliance.Control.Multiple')) fail('Multiple without listing it');
      if (![undefined, 'Appliance.Control.ToggleX', 'Appliance.Control.Toggle'].includes(a.toggle)) fail('a bad toggle namespace');
      for (const flag of [a.electricity, a.consumptionX, a.encrypted]) if (typeof flag !== 'boolean') fail('a non-boolean flag');
      return;
    }
    case 'systemAll': {
      const s = out as ReturnType<typeof decodeSystemAll>;
      for (const v of [s.uuid, s.mac, s.model, s.hardwareVersion, s.firmwareVersion]) if (typeof v !== 'string') fail('a non-string field');
      if (typeof s.on !== 'boolean') fail('a non-boolean relay');
      if (s.relays.size === 0 || [...s.relays].some(([c, on]) => !Number.isInteger(c) || c < 0 || typeof on !== 'boolean')) fail('bad relays');
      if (s.deviceTime !== undefined && !isFiniteNumber(s.deviceTime)) fail('a non-finite device time');
      return;
    }
    case 'toggleX':
    case 'toggle':
      if (typeof out !== 'boolean') fail('a non-boolean');
      return;
    case 'relays': {
      const r = out as ReturnType<typeof decodeRelays>;
      if (r.size === 0 || [...r].some(([c, on]) => !Number.isInteger(c) || c < 0 || typeof on !== 'boolean')) fail('bad relays');
      return;
    }
    case 'overTemp': {
      const t = out as ReturnType<typeof decodeOverTemp>;
      if (typeof t.hot !== 'boolean' || typeof t.cutOff !== 'boolean' || (t.cutOff && !t.hot)) fail('a bad over-temperature state');
      return;
    }
    case 'electricity': {
      const e = out as ReturnType<typeof decodeElectricity>;
      for (const v of [e.watts, e.volts, e.amps]) if (!isFiniteNumber(v) || v < 0) fail('a reading that is not a finite number ≥ 0');
      return;
    }
    case 'consumption': {
      const days = out as ReturnType<typeof decodeConsumption>;
      days.forEach((d, i) => {
        if (!DATE.test(d.date)) fail(`a bad date ${d.date}`);
        if (!isFiniteNumber(d.wh) || d.wh < 0) fail('a bad Wh value');
        if (!isFiniteNumber(d.time)) fail('a bad time');
        if (i > 0 && days[i - 1].date >= d.date) fail('days not sorted and unique');
      });
      return;
    }
  }
}

/** Runs one decoder: a clean value or a DecodeError; anything else fails the property. */
function decodeOrDecodeError(name: DecoderName, payload: unknown): 'ok' | 'DecodeError' {
  let out: Decoded;
  try {
    out = timed(name, () => DECODERS[name](payload));
  } catch (error) {
    if (error instanceof DecodeError) return 'DecodeError';
    throw error;
  }
  checkDecoded(name, out);
  return 'ok';
}

const fixtureName = fc.constantFrom(...(Object.keys(PAYLOADS) as FixtureName[]));

const decodeSpecs: FuzzSpec[] = [
  defineSpec({
    name: 'every decoder returns a clean value or throws DecodeError, for any JSON value',
    area: 'decode',
    quickRuns: 400,
    longRuns: 30_000,
    property: () =>
      fc.property(jsonish, (payload) => {
        for (const name of Object.keys(DECODERS) as DecoderName[]) decodeOrDecodeError(name, payload);
      }),
  }),
  defineSpec({
    name: 'every decoder copes with mutated real replies (wrong types, huge numbers, deletions, nesting)',
    area: 'decode',
    quickRuns: 600,
    longRuns: 40_000,
    property: () =>
      fc.property(fixtureName, fc.array(mutation, { minLength: 1, maxLength: 4 }), (name, mutations) => {
        const fixture = PAYLOADS[name];
        const payload = mutate(fixture.payload, mutations);
        const own = DECODER_FOR[fixture.namespace];
        if (own) decodeOrDecodeError(own, payload);
        // The other decoders on a foreign payload: the namespace in a reply is the device's word, not ours.
        for (const other of Object.keys(DECODERS) as DecoderName[]) if (other !== own) decodeOrDecodeError(other, payload);
      }),
  }),
  defineSpec({
    name: 'decoders survive 10 000 levels of nesting anywhere in a real reply',
    area: 'decode',
    quickRuns: 30,
    longRuns: 1_000,
    property: () =>
      fc.property(fixtureName, fc.nat(), fc.constantFrom('array' as const, 'object' as const), (name, at, kind) => {
        const fixture = PAYLOADS[name];
        const payload = replaceAt(fixture.payload, at, deepNest(10_000, kind));
        for (const decoder of Object.keys(DECODERS) as DecoderName[]) decodeOrDecodeError(decoder, payload);
      }),
  }),
];

/** The real fixtures must decode: otherwise the mutation properties would only ever test the first check. */
export function decodeRealFixtures(): Record<FixtureName, 'ok' | 'DecodeError'> {
  const out = {} as Record<FixtureName, 'ok' | 'DecodeError'>;
  for (const name of Object.keys(PAYLOADS) as FixtureName[]) {
    const decoder = DECODER_FOR[PAYLOADS[name].namespace];
    if (decoder) out[name] = decodeOrDecodeError(decoder, PAYLOADS[name].payload);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Envelope verifier

const hex32 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 });
const LABEL = '192.0.2.10';

type HeaderChange =
  | 'messageId'
  | 'sign'
  | 'signUpper'
  | 'timestamp'
  | 'timestampString'
  | 'fromOther'
  | 'fromMissing'
  | 'fromNotTopic'
  | 'uuidOther'
  | 'methodError'
  | 'methodOther'
  | 'namespace'
  | 'error5001'
  | 'errorOther'
  | 'methodJunk'
  | 'namespaceJunk'
  | 'errorCodeJunk';

const HEADER_CHANGES: HeaderChange[] = [
  'messageId',
  'sign',
  'signUpper',
  'timestamp',
  'timestampString',
  'fromOther',
  'fromMissing',
  'fromNotTopic',
  'uuidOther',
  'methodError',
  'methodOther',
  'namespace',
  'error5001',
  'errorOther',
  'methodJunk',
  'namespaceJunk',
  'errorCodeJunk',
];

interface VerifyCase {
  key: string;
  uuid: string;
  otherUuid: string;
  uuidKnown: boolean;
  messageId: string;
  method: 'GET' | 'SET';
  fixture: FixtureName;
  changes: HeaderChange[];
  payloadMutations: Mutation[];
  /** Any JSON value, for the *Junk changes. */
  junk: unknown;
}

const verifyCase: fc.Arbitrary<VerifyCase> = fc.record({
  key: secretKey,
  uuid: plugUuid,
  otherUuid: plugUuid,
  uuidKnown: fc.boolean(),
  messageId: hex32,
  method: fc.constantFrom('GET' as const, 'SET' as const),
  fixture: fixtureName,
  changes: fc.uniqueArray(fc.constantFrom(...HEADER_CHANGES), { maxLength: 3 }),
  payloadMutations: fc.oneof({ weight: 3, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 1, arbitrary: fc.array(mutation, { maxLength: 3 }) }),
  junk: jsonish,
});

function buildReply(c: VerifyCase): { reply: Record<string, unknown>; namespace: string } {
  const namespace = PAYLOADS[c.fixture].namespace;
  const ack: Method = c.method === 'GET' ? 'GETACK' : 'SETACK';
  let payload: unknown = mutate(PAYLOADS[c.fixture].payload, c.payloadMutations);
  const reply = signedReply({ messageId: c.messageId, namespace }, payload, { key: c.key, uuid: c.uuid, method: ack });
  const h = reply.header as unknown as Record<string, unknown>;
  for (const change of c.changes) {
    switch (change) {
      case 'messageId':
        // Rotated with a changed last character: always a different id of the same shape.
        h.messageId = `${c.messageId.slice(1)}${c.messageId[0] === 'a' ? 'b' : 'a'}`;
        break;
      case 'sign':
        h.sign = sign(c.messageId, `${c.key}x`, Number(h.timestamp));
        break;
      case 'signUpper':
        h.sign = String(h.sign).toUpperCase();
        break;
      case 'timestamp':
        h.timestamp = Number(h.timestamp) + 1;
        break;
      case 'timestampString':
        h.timestamp = String(h.timestamp);
        break;
      case 'fromOther':
        h.from = `/appliance/${c.otherUuid}/publish`;
        break;
      case 'fromMissing':
        delete h.from;
        break;
      case 'fromNotTopic':
        h.from = 'http://192.0.2.10/config';
        break;
      case 'uuidOther':
        h.uuid = c.otherUuid;
        break;
      case 'methodError':
        h.method = 'ERROR';
        break;
      case 'methodOther':
        h.method = c.method === 'GET' ? 'SETACK' : 'GETACK';
        break;
      case 'namespace':
        h.namespace = `${namespace}X`;
        break;
      case 'error5001':
        h.method = 'ERROR';
        payload = { error: { code: 5001, detail: 'sign error' } };
        break;
      case 'errorOther':
        h.method = 'ERROR';
        payload = { error: { code: 5000 } };
        break;
      case 'methodJunk':
        h.method = c.junk;
        break;
      case 'namespaceJunk':
        h.namespace = c.junk;
        break;
      case 'errorCodeJunk':
        h.method = 'ERROR';
        payload = { error: { code: c.junk } };
        break;
    }
  }
  return { reply: { header: h, payload }, namespace };
}

/** A MerossError must name the host and never carry the key, not even in its stack. */
function checkSafeError(error: MerossError, key: string): void {
  if (!error.message.includes(LABEL)) throw new Error(`error without the host: ${error.message}`);
  for (const text of [error.message, String(error.stack), JSON.stringify(error)]) {
    if (text.includes(key)) throw new Error(`the key leaked into an error: ${text}`);
  }
}

const verifySpecs: FuzzSpec[] = [
  defineSpec({
    name: 'verifyReply returns a payload or throws a MerossError, for any JSON value',
    area: 'verify',
    quickRuns: 400,
    longRuns: 30_000,
    property: () =>
      fc.property(jsonish, jsonish, secretKey, fc.option(plugUuid, { nil: undefined }), (header, payload, key, uuid) => {
        for (const reply of [header, { header, payload }]) {
          try {
            timed('verifyReply', () => verifyReply(reply, { messageId: '0'.repeat(32), namespace: 'Appliance.System.All' }, 'GET', { label: LABEL, key, uuid }));
          } catch (error) {
            if (!(error instanceof MerossError)) throw error;
            checkSafeError(error, key);
          }
        }
      }),
  }),
  defineSpec({
    name: 'verifyReply accepts a reply only when messageId, signature, sender uuid, method and namespace all check out',
    area: 'verify',
    quickRuns: 800,
    longRuns: 40_000,
    property: () =>
      fc.property(verifyCase, (c) => {
        const { reply, namespace } = buildReply(c);
        let badSignatures = 0;
        let accepted: Json | undefined;
        let failure: MerossError | undefined;
        try {
          accepted = timed('verifyReply', () =>
            verifyReply(reply, { messageId: c.messageId, namespace }, c.method, {
              label: LABEL,
              key: c.key,
              uuid: c.uuidKnown ? c.uuid : undefined,
              onBadSignature: () => badSignatures++,
            }),
          );
        } catch (error) {
          if (!(error instanceof MerossError)) throw error;
          checkSafeError(error, c.key);
          failure = error;
        }
        const h = reply.header as Record<string, unknown>;
        const p = reply.payload;
        const idOk = h.messageId === c.messageId;
        const signOk = typeof h.timestamp === 'number' && typeof h.sign === 'string' && sign(c.messageId, c.key, h.timestamp) === h.sign.toLowerCase();
        const sender = uuidFromTopic(h.from) ?? (typeof h.uuid === 'string' ? h.uuid : undefined);
        const senderOk = !c.uuidKnown || sender === c.uuid;
        const ack = c.method === 'GET' ? 'GETACK' : 'SETACK';
        const is5001 = h.method === 'ERROR' && isObject(p) && isObject(p.error) && (p.error.code === 5001 || p.error.code === '5001');
        if (accepted !== undefined) {
          // Soundness: nothing is believed unless every check holds.
          if (!(idOk && signOk && senderOk && h.method === ack && h.namespace === namespace && isObject(p))) {
            throw new Error(`accepted a reply that should fail: ${JSON.stringify(h)}`);
          }
          if (accepted !== p) throw new Error('returned something other than the reply payload');
        } else if (idOk && signOk && senderOk && h.method === ack && h.namespace === namespace && isObject(p)) {
          // Completeness: a correct reply is never refused (else a healthy plug would look broken).
          throw new Error(`refused a correct reply (${failure?.message})`);
        }
        if (failure) {
          if (!idOk && !(failure instanceof MalformedReplyError)) throw new Error(`a reply to another message gave ${failure.name}`);
          if (idOk && is5001 && !(failure instanceof WrongKeyError)) throw new Error(`5001 gave ${failure.name}`);
          if (failure instanceof WrongDeviceError && (!c.uuidKnown || sender === c.uuid)) throw new Error('WrongDeviceError for the right device');
          if (failure instanceof DeviceError && !(signOk && h.method === 'ERROR')) throw new Error('DeviceError from an unsigned reply');
        }
        const signatureRefused = failure instanceof MalformedReplyError && failure.message.includes('invalid reply signature');
        if ((badSignatures === 1) !== signatureRefused || badSignatures > 1) throw new Error('onBadSignature out of step');
      }),
  }),
  defineSpec({
    name: 'verifyReply handles the real ERROR 5001 and unsynced-clock messages and deep nesting',
    area: 'verify',
    quickRuns: 40,
    longRuns: 1_000,
    property: () =>
      fc.property(fc.constantFrom('error5001' as const, 'systemAllUnsyncedClock' as const), fc.boolean(), fc.nat(), (name, sameId, at) => {
        const message = MESSAGES[name] as { header: Record<string, unknown>; payload: unknown };
        const messageId = sameId ? String(message.header.messageId) : '0'.repeat(32);
        const nested = replaceAt(message, at, deepNest(10_000, 'object'));
        for (const reply of [message, nested]) {
          try {
            verifyReply(reply, { messageId, namespace: 'Appliance.System.All' }, 'GET', { label: LABEL, key: 'SECRET-KEY-FIXTURE', uuid: undefined });
          } catch (error) {
            if (!(error instanceof MerossError)) throw error;
            checkSafeError(error, 'SECRET-KEY-FIXTURE');
          }
        }
      }),
  }),
];

// ---------------------------------------------------------------------------------------------------------------
// Config validation

const CONFIG_FIELDS = ['name', 'key', 'pollInterval', 'energyPollInterval', 'timeout', 'outletInUseWatts', 'devices', 'matter'];

const hostLike = fc.oneof(
  fc.ipV4(),
  fc.ipV4().map((ip) => `${ip}:${(ip.length * 97) % 65_536}`),
  fc.ipV6().map((ip) => `[${ip}]:8081`),
  fc.domain(),
  fc.string(),
  fc.constantFrom('', ' ', '256.1.1.1', 'plug.lan:0', 'plug.lan:99999', 'http://10.0.0.5/config', '[::1]', 'a:b:c', 'x'.repeat(300)),
);

const deviceEntry = fc.oneof(
  { weight: 3, arbitrary: fc.record({ host: fc.oneof(hostLike, jsonish), key: fc.oneof(fc.string(), jsonish), name: fc.oneof(fc.string(), jsonish), uuid: fc.oneof(plugUuid, jsonish) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: jsonish },
);

const rawConfig: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      {
        platform: fc.constant('MerossLan'),
        name: jsonish,
        key: fc.oneof(fc.string(), jsonish),
        pollInterval: fc.oneof(fc.double(), jsonish, fc.integer({ min: -10, max: 5000 }).map(String)),
        energyPollInterval: jsonish,
        timeout: fc.oneof(fc.double({ min: -1, max: 100 }), jsonish),
        outletInUseWatts: jsonish,
        matter: jsonish,
        devices: fc.oneof({ weight: 4, arbitrary: fc.array(deviceEntry, { maxLength: 8 }) }, { weight: 1, arbitrary: jsonish }),
      },
      { requiredKeys: [] },
    ),
  },
  // Whatever keys a hand-edited config.json may hold, __proto__ and constructor included.
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...CONFIG_FIELDS, '__proto__', 'constructor')), jsonish) },
);

/** Pulls `"field"` from the start of a problem line, e.g. `"devices[2].host"`. */
const PROBLEM_FIELD = /^"([A-Za-z_]+)(?:\[(\d+)\](?:\.([A-Za-z]+))?)?" /;

const configSpecs: FuzzSpec[] = [
  defineSpec({
    name: 'parseConfig never throws, names an existing field in every problem line and returns clean values',
    area: 'config',
    quickRuns: 600,
    longRuns: 30_000,
    property: () =>
      fc.property(rawConfig, (raw) => {
        // Through JSON, as Homebridge reads config.json: this is also how a `__proto__` key arrives.
        const input = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const { config, problems } = timed('parseConfig', () => parseConfig(input));
        for (const line of problems) {
          const m = PROBLEM_FIELD.exec(line);
          if (!m) throw new Error(`problem line without a field name: ${line}`);
          const [, field, index, sub] = m;
          if (!Object.prototype.hasOwnProperty.call(input, field)) throw new Error(`names "${field}", which is not in the config: ${line}`);
          if (index !== undefined) {
            const entry = (input[field] as unknown[])[Number(index)];
            if (sub !== undefined && !(isObject(entry) && Object.prototype.hasOwnProperty.call(entry, sub))) {
              throw new Error(`names "${field}[${index}].${sub}", which is not in the config: ${line}`);
            }
          }
          if (line.includes('\n')) throw new Error('a problem spans several lines');
        }
        for (const [field, min, max] of [
          [config.pollIntervalMs, 1000, 3_600_000],
          [config.energyPollIntervalMs, 1000, 86_400_000],
          [config.timeoutMs, 500, 60_000],
          [config.outletInUseWatts, 0, 4000],
        ] as const) {
          if (!isFiniteNumber(field) || field < min || field > max) throw new Error(`out-of-range value ${field}`);
        }
        if (typeof config.key !== 'string' || typeof config.name !== 'string' || config.name === '') throw new Error('bad key or name');
        const hosts = new Set<string>();
        const uuids = new Set<string>();
        for (const d of config.devices) {
          if (!d.host && !d.uuid) throw new Error('a device with neither host nor uuid');
          if (d.host !== undefined && !parseHost(d.host)) throw new Error(`an unusable host ${d.host}`);
          if (d.uuid !== undefined && !/^[0-9a-zA-Z]{32}$/.test(d.uuid)) throw new Error(`a bad uuid ${d.uuid}`);
          if (typeof d.key !== 'string') throw new Error('a device key that is not text');
          if (d.host) {
            if (hosts.has(d.host.toLowerCase())) throw new Error('a duplicate host');
            hosts.add(d.host.toLowerCase());
          }
          if (d.uuid) {
            if (uuids.has(d.uuid)) throw new Error('a duplicate uuid');
            uuids.add(d.uuid);
          }
        }
      }),
  }),
  defineSpec({
    name: 'parseConfig keeps every valid plug, whatever bad entries surround it',
    area: 'config',
    quickRuns: 300,
    longRuns: 15_000,
    property: () =>
      fc.property(
        fc.uniqueArray(fc.ipV4(), { minLength: 1, maxLength: 6 }),
        fc.array(fc.oneof(jsonish, fc.record({ host: fc.string(), uuid: jsonish }, { requiredKeys: [] })), { maxLength: 6 }),
        fc.nat(),
        (hosts, junk, seed) => {
          const good = hosts.map((host, i) => ({ host, key: `k${i}`, name: `Plug ${i}` }));
          // Junk entries whose host collides with a good one would legitimately take its place; keep them apart.
          const bad = junk.filter((j) => !(isObject(j) && typeof j.host === 'string' && hosts.includes(j.host.trim())));
          const devices: unknown[] = [...good];
          bad.forEach((j, i) => devices.splice((seed + i * 7) % (devices.length + 1), 0, j));
          const { config } = parseConfig(JSON.parse(JSON.stringify({ devices })) as Record<string, unknown>);
          const kept = config.devices.filter((d) => good.some((g) => g.host === d.host));
          if (kept.length !== good.length) throw new Error(`kept ${kept.length} of ${good.length} valid plugs`);
        },
      ),
  }),
];

export const SPECS: FuzzSpec[] = [...decodeSpecs, ...verifySpecs, ...configSpecs];
