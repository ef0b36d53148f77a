import { connect } from 'node:net';
import { MerossClient } from '../meross/client';
import type { SystemInfo } from '../meross/decode';
import { MerossError, WrongKeyError } from '../meross/errors';
import { formatHost } from '../meross/host';

/** One Meross plug seen on the LAN. The shape of `meross-lan discover --json` plus what the platform needs. */
export interface Found {
  /** IP address. */
  host: string;
  port: number;
  /** From System.All, or from the `from` of a 5001 reply; null only when a 5001 reply named no sender. */
  uuid: string | null;
  model: string | null;
  firmware: string | null;
  /** One of the keys we tried signs this plug's messages. */
  keyOk: boolean;
  /** Which of the given keys worked (an index, so results never carry a key). */
  keyIndex?: number;
  info?: SystemInfo;
}

export interface ProbeOptions {
  /** For the TCP handshake: absent hosts never answer, so this bounds most of a scan. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** For the signed System.All once connected; a busy plug may be slower than its handshake. Default 2500 ms. */
  replyTimeoutMs?: number;
}

/** `host:port` with formatHost's rules (port 80 left out). */
export function probeLabel(host: string, port: number): string {
  return formatHost({ hostname: host, port });
}

/**
 * Is there a Meross plug at host:port? A quick TCP handshake first, so an empty address costs one short timeout;
 * then a signed `GET Appliance.System.All` with each key until one is accepted. A 5001 reply still identifies a
 * Meross plug (its sender uuid); anything else that is not a verified Meross reply is "no plug here".
 * Serial per host, one connection at a time, as the firmware wants.
 */
export async function probe(host: string, port: number, keys: readonly string[], options: ProbeOptions = {}): Promise<Found | undefined> {
  if (!(await tcpOpen(host, port, options.connectTimeoutMs ?? 1000))) return undefined;
  const label = probeLabel(host, port);
  let wrongKeyUuid: string | null | undefined;
  const candidates = keys.length > 0 ? keys : [''];
  for (let i = 0; i < candidates.length; i++) {
    const client = new MerossClient({ host: label, key: candidates[i], timeoutMs: options.replyTimeoutMs ?? 2500, retries: 0 });
    try {
      const info = await client.systemAll();
      return { host, port, uuid: info.uuid, model: info.model, firmware: info.firmwareVersion, keyOk: true, keyIndex: i, info };
    } catch (error) {
      if (error instanceof WrongKeyError) {
        wrongKeyUuid = error.uuid ?? wrongKeyUuid ?? null;
        continue;
      }
      // Not (or no longer) answering like a Meross plug: a web server, a printer, a plug that went away.
      if (error instanceof MerossError) break;
      throw error;
    }
  }
  if (wrongKeyUuid === undefined) return undefined;
  return { host, port, uuid: wrongKeyUuid, model: null, firmware: null, keyOk: false };
}

/** True when something accepts TCP connections at host:port within the timeout. */
export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
