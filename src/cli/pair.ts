import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeAbility, decodeSystemAll, isObject, type Json } from '../meross/decode';
import { ACK_FOR, buildMessage, type Method } from '../meross/envelope';
import { MerossError, MalformedReplyError } from '../meross/errors';
import { formatHost, parseHost, type HostAddress } from '../meross/host';
import { postConfig } from '../meross/transport';
import { parseUserId } from '../meross/mqtt';
import { resolveUserId } from '../push/user-id';
import { readCloudCache } from '../cloud';
import { isLoopback } from '../meross/host';
import { pluginStorageDir } from '../storage/json-file';
import { describeParseError } from './args';
import type { CliIo } from './io';
import { describe } from '../util/describe';
import { CONFIG_KEY, CONFIG_WIFI, CONFIG_WIFI_LIST, SYSTEM_ABILITY, SYSTEM_ALL } from '../meross/namespaces';

export const PAIR_USAGE = `Usage: meross-lan pair --broker HOST[:PORT] --ssid SSID [--password PW] [--key KEY] [options]

Sets up a factory-reset plug (long press until it blinks, then join its Wi-Fi "Meross_SW_xxxx") to join your
Wi-Fi and report to this plugin's local MQTT broker, without the Meross app or account (protocol: Config.Key,
then Config.Wifi). The plug then leaves the Meross cloud and app; a long press and the Meross app bring it back.
Prints the plug's uuid and key: add it to "devices" with them (and "push": { "enabled": true }).

  --host HOST[:PORT]  the plug in setup mode (default 10.10.10.1)
  --broker HOST[:PORT]  where the plug should connect: this machine's LAN address and "push.port"
                      (port 8883 unless given)
  --ssid SSID         the Wi-Fi network the plug should join (it must see it)
  --password PW       its password; or set MEROSS_WIFI_PASSWORD, which keeps it out of your shell history
                      (an empty value for an open network)
  --key KEY           the key the plug should sign with from now on; or set MEROSS_KEY
  --user-id N         the user id in the plug's MQTT login (default: the plugin's, see "push.userId")
  -U, --storage DIR   the Homebridge storage folder (default ~/.homebridge), for the plugin's user id
  --timeout S         seconds to wait for each reply (default 10; a Wi-Fi scan takes a few)
  --json              print one JSON object: {"uuid","key","mac","userId","broker"}
  -h, --help          show this help
`;

const OPTIONS = {
  host: { type: 'string' },
  broker: { type: 'string' },
  ssid: { type: 'string' },
  password: { type: 'string' },
  key: { type: 'string' },
  'user-id': { type: 'string' },
  storage: { type: 'string', short: 'U' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_HOST = '10.10.10.1';
const DEFAULT_BROKER_PORT = 8883;
const DEFAULT_TIMEOUT_S = 10;

class UsageProblem extends Error {}
class PairError extends Error {}

interface PairPlan {
  plug: HostAddress;
  broker: HostAddress;
  ssid: string;
  wifiPassword: string;
  key: string;
  userId: string | undefined;
  storage: string;
  timeoutMs: number;
  json: boolean;
}

/** `meross-lan pair`: Config.Key, then Config.Wifi, to a plug in setup mode. Never prints the Wi-Fi password. */
export async function pair(argv: readonly string[], io: CliIo): Promise<number> {
  let plan: PairPlan | 'help';
  try {
    plan = parsePair(argv, io.env);
  } catch (error) {
    const message = error instanceof UsageProblem ? error.message : describeParseError(error);
    io.stderr(`meross-lan: ${message} (see meross-lan pair --help)\n`);
    return 2;
  }
  if (plan === 'help') {
    io.stdout(PAIR_USAGE);
    return 0;
  }
  try {
    const result = await run(plan, io.signal);
    if (plan.json) io.stdout(`${JSON.stringify(result)}\n`);
    else {
      io.stdout(
        `Paired ${result.model.toUpperCase()} ${result.uuid} (MAC ${result.mac}).\n` +
          `  uuid: ${result.uuid}\n  key:  ${result.key}\n` +
          `It now joins "${plan.ssid}" and connects to the broker at ${result.broker} as user id ${result.userId}.\n` +
          `Add it to Homebridge: "devices": [{ "uuid": "${result.uuid}", "key": "<the key above>" }] and "push": { "enabled": true }.\n`,
      );
    }
    return 0;
  } catch (error) {
    if (io.signal?.aborted) return 130;
    const text = error instanceof MerossError || error instanceof PairError ? error.message : `unexpected error: ${describe(error)}`;
    io.stderr(`meross-lan: pairing failed: ${text}\n`);
    return 1;
  }
}

function parsePair(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): PairPlan | 'help' {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageProblem(`pair takes no arguments besides options (got ${positionals.length} more)`);
  const plug = parseHost(values.host ?? DEFAULT_HOST);
  if (!plug) throw new UsageProblem('--host must be the plug\'s address in setup mode, such as 10.10.10.1');
  if (values.broker === undefined) throw new UsageProblem('--broker is required: the address (and port) of this plugin\'s broker, as the plug will reach it');
  const brokerText = values.broker.trim();
  const broker = parseHost(/:\d+$/.test(brokerText) && !brokerText.endsWith(']') ? brokerText : `${brokerText}:${DEFAULT_BROKER_PORT}`);
  if (!broker) throw new UsageProblem('--broker must be HOST[:PORT], such as 192.168.1.2:8883');
  if (isLoopback(broker.hostname) && !isLoopback(plug.hostname)) {
    throw new UsageProblem('--broker is a loopback address, which the plug cannot reach: give this machine\'s LAN address');
  }
  if (!values.ssid) throw new UsageProblem('--ssid is required: the Wi-Fi network the plug should join');
  const wifiPassword = values.password ?? env.MEROSS_WIFI_PASSWORD;
  if (wifiPassword === undefined) throw new UsageProblem('no Wi-Fi password: pass --password PW or set MEROSS_WIFI_PASSWORD (empty for an open network)');
  const key = values.key ?? env.MEROSS_KEY;
  if (key === undefined) throw new UsageProblem('no key: pass --key KEY or set MEROSS_KEY (the key the plug will sign with)');
  let userId: string | undefined;
  if (values['user-id'] !== undefined) {
    userId = parseUserId(values['user-id']);
    if (userId === undefined) throw new UsageProblem('--user-id must be a whole number');
  }
  let timeoutMs = DEFAULT_TIMEOUT_S * 1000;
  if (values.timeout !== undefined) {
    const s = /^\d+(\.\d+)?$/.test(values.timeout) ? Number(values.timeout) : NaN;
    if (!(s >= 0.5 && s <= 120)) throw new UsageProblem('--timeout must be a number of seconds from 0.5 to 120');
    timeoutMs = Math.round(s * 1000);
  }
  const storage = resolve(values.storage ?? join(homedir(), '.homebridge'));
  return { plug, broker, ssid: values.ssid, wifiPassword, key, userId, storage, timeoutMs, json: values.json ?? false };
}

interface PairResult {
  uuid: string;
  key: string;
  mac: string;
  model: string;
  userId: string;
  broker: string;
}

async function run(plan: PairPlan, signal: AbortSignal | undefined): Promise<PairResult> {
  const ask = async (namespace: string, method: Method, payload: Json): Promise<Json> => {
    if (signal?.aborted) throw new PairError('interrupted');
    return setupRequest(plan.plug, namespace, method, payload, plan.timeoutMs);
  };
  const info = decodeSystemAll(await ask(SYSTEM_ALL, 'GET', {}));
  const abilities = decodeAbility(await ask(SYSTEM_ABILITY, 'GET', {}));
  if (abilities.encrypted) throw new PairError('this plug wants encrypted messages (ECDHE), which meross-lan does not speak yet');
  for (const ns of [CONFIG_KEY, CONFIG_WIFI]) {
    if (!abilities.namespaces.has(ns)) throw new PairError(`this plug does not list ${ns}, so it cannot be paired this way`);
  }
  const network = await findNetwork(await ask(CONFIG_WIFI_LIST, 'GET', {}), plan.ssid);
  const dir = pluginStorageDir(plan.storage);
  const account = (): unknown => readCloudCache(dir)?.userId;
  const userId = plan.userId ?? configuredUserId(plan.storage) ?? (await resolveUserId(dir, undefined, { warn: () => undefined }, account)).userId;
  const { hostname, port } = plan.broker;
  await ask(CONFIG_KEY, 'SET', {
    key: { gateway: { host: hostname, port, secondHost: hostname, secondPort: port, redirect: 1 }, key: plan.key, userId },
  });
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  // The plug reboots onto the Wi-Fi right after answering this one.
  await ask(CONFIG_WIFI, 'SET', { wifi: { ...network, ssid: b64(plan.ssid), password: b64(plan.wifiPassword) } });
  return { uuid: info.uuid, key: plan.key, mac: info.mac, model: info.model, userId, broker: formatHost({ hostname, port: port }) };
}

/** The scan entry for `ssid` (its BSSID, channel and security are part of Config.Wifi), or why not. */
function findNetwork(payload: Json, ssid: string): Json {
  const list = Array.isArray(payload.wifiList) ? payload.wifiList.filter(isObject) : [];
  const named = list.map((w) => ({ w, name: typeof w.ssid === 'string' ? Buffer.from(w.ssid, 'base64').toString('utf8') : '' }));
  const found = named.find((n) => n.name === ssid)?.w;
  if (!found) {
    const seen = [...new Set(named.map((n) => n.name).filter(Boolean))].slice(0, 10);
    throw new PairError(`the plug does not see the Wi-Fi "${ssid}"${seen.length ? ` (it sees: ${seen.map((s) => `"${s}"`).join(', ')})` : ''}; it needs a 2.4 GHz network`);
  }
  const { bssid, channel, encryption, cipher } = found;
  return { bssid, channel, encryption, cipher };
}

/**
 * One request to a plug in setup mode. Its replies cannot be verified: it signs with whatever key it had, which we
 * do not know (that is why pairing only talks to a plug on its own setup network). Matched by messageId and method.
 */
async function setupRequest(address: HostAddress, namespace: string, method: Method, payload: Json, timeoutMs: number): Promise<Json> {
  // The sign is not checked in setup mode (protocol.md §3.12); an empty key is what the usual tools send.
  const message = buildMessage(namespace, method, payload, '');
  const label = formatHost(address);
  const body = await postConfig(address, JSON.stringify(message), { timeoutMs, maxReplyBytes: 64 * 1024 });
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    throw new MalformedReplyError(label, 'not JSON');
  }
  if (!isObject(reply) || !isObject(reply.header) || !isObject(reply.payload)) throw new MalformedReplyError(label, 'no header or payload');
  const header = reply.header;
  if (header.messageId !== message.header.messageId) throw new MalformedReplyError(label, 'reply to another message');
  if (header.method === 'ERROR') throw new PairError(`${label} refused ${namespace} (is the plug in setup mode? long-press it until it blinks)`);
  if (header.method !== ACK_FOR[method]) throw new MalformedReplyError(label, `${namespace} answered with ${String(header.method).slice(0, 20)}`);
  return reply.payload;
}

/** "push.userId" from the Homebridge config, which wins over the remembered one there too. */
function configuredUserId(storage: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(storage, 'config.json'), 'utf8')) as { platforms?: Array<{ platform?: string; push?: { userId?: unknown } }> };
    return parseUserId(config.platforms?.find((p) => p.platform === 'MerossLan')?.push?.userId);
  } catch {
    return undefined;
  }
}
