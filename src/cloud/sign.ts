import { createHash, randomInt } from 'node:crypto';

/**
 * The Meross app's public request secret (protocol.md §5). It is the same in every copy of the app, so it proves
 * nothing about us; the cloud still refuses requests whose `sign` does not match it.
 */
export const CLOUD_SECRET = '23x17ahWarFH6w29';

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 16 random alphanumerics, as the app sends. */
export function randomNonce(length = 16): string {
  let nonce = '';
  for (let i = 0; i < length; i++) nonce += NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)];
  return nonce;
}

/** `params` of a cloud request: the JSON of the call's data, base64 encoded. */
export function encodeParams(data: unknown): string {
  return Buffer.from(JSON.stringify(data), 'utf8').toString('base64');
}

/** md5_hex(secret + timestamp + nonce + params), timestamp in milliseconds (protocol.md §5). */
export function cloudSign(timestamp: number, nonce: string, params: string): string {
  return createHash('md5').update(`${CLOUD_SECRET}${String(timestamp)}${nonce}${params}`, 'utf8').digest('hex');
}

export interface CloudRequestBody {
  timestamp: number;
  nonce: string;
  params: string;
  sign: string;
}

/** The signed body of one cloud call. `now` and `nonce` are injectable so tests can check exact vectors. */
export function cloudRequestBody(data: unknown, options: { now?: number; nonce?: string } = {}): CloudRequestBody {
  const timestamp = options.now ?? Date.now();
  const nonce = options.nonce ?? randomNonce();
  const params = encodeParams(data);
  return { timestamp, nonce, params, sign: cloudSign(timestamp, nonce, params) };
}

/** The cloud wants the password as md5 hex, never in clear. */
export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
