import { createHash, randomFillSync } from 'node:crypto';

/** Methods a Meross message header can carry (protocol.md §1.4). */
export type Method = 'GET' | 'SET' | 'PUSH' | 'GETACK' | 'SETACK' | 'ERROR';

export interface Header {
  messageId: string;
  namespace: string;
  method: Method;
  payloadVersion: number;
  from: string;
  timestamp: number;
  timestampMs: number;
  sign: string;
  triggerSrc?: string;
  uuid?: string;
}

export interface Message<P = Record<string, unknown>> {
  header: Header;
  payload: P;
}

/** md5(messageId + key + timestamp), lower-case hex (protocol.md §1.3). */
export function sign(messageId: string, key: string, timestamp: number): string {
  return createHash('md5').update(`${messageId}${key}${String(timestamp)}`, 'utf8').digest('hex');
}

/**
 * Random bytes for message ids, drawn 256 ids at a time: one `randomBytes(16)` per request was a system call and a
 * buffer each, among the larger costs of a poll with 140 plugs. Ids only need to be unique, as the firmware and
 * peers treat them (uuid4 in meross_lan, MerossIot); they are no secret, so a shared pool is fine.
 */
const ID_BYTES = 16;
const idPool = Buffer.alloc(ID_BYTES * 256);
let idOffset = idPool.length;

export function newMessageId(): string {
  if (idOffset >= idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

export interface BuildOptions {
  /** Unix time in ms; injectable so tests get exact headers. */
  now?: number;
  messageId?: string;
  from?: string;
}

/** A signed request envelope ready to be serialised. */
export function buildMessage<P>(
  namespace: string,
  method: Method,
  payload: P,
  key: string,
  options: BuildOptions = {},
): Message<P> {
  const now = options.now ?? Date.now();
  const messageId = options.messageId ?? newMessageId();
  const timestamp = Math.floor(now / 1000);
  return {
    header: {
      messageId,
      namespace,
      method,
      payloadVersion: 1,
      from: options.from ?? '/app/meross-lan/subscribe',
      timestamp,
      timestampMs: now % 1000,
      sign: sign(messageId, key, timestamp),
      triggerSrc: 'homebridge-meross-lan',
    },
    payload,
  };
}

/** True when the header carries a valid signature for `key`. */
export function verifySign(header: Pick<Header, 'messageId' | 'timestamp' | 'sign'>, key: string): boolean {
  return sign(header.messageId, key, header.timestamp) === String(header.sign).toLowerCase();
}

/** Replies name their sender as `/appliance/<uuid>/publish`; uuids are not always hex (protocol.md §1.4). */
export function uuidFromTopic(from: unknown): string | undefined {
  if (typeof from !== 'string') return undefined;
  const m = /^\/appliance\/([^/]+)\/publish$/.exec(from);
  return m?.[1];
}

export const ACK_FOR: Partial<Record<Method, Method>> = { GET: 'GETACK', SET: 'SETACK', PUSH: 'PUSH' };
