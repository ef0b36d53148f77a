import { randomBytes, randomInt } from 'node:crypto';
import { isIP } from 'node:net';

export function randomMac(): string {
  const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['48', 'e1', 'e9', ...tail].join(':');
}

/**
 * Shaped like the 2.1.17 unit's uuid (`20091131118061251h57` + MAC): digits with a stray `h`, so clients
 * that wrongly validate uuids as hex fail against the simulator as they would against the real plug.
 */
export function uuidForMac(mac: string): string {
  const digits = (n: number): string => Array.from({ length: n }, () => String(randomInt(10))).join('');
  return `${digits(17)}h${digits(2)}${mac.replace(/:/g, '').toLowerCase()}`;
}

/** The MAC a uuid ends with, when its last 12 chars are hex. */
export { macFromUuid } from '../meross/mqtt';

export function randomKey(): string {
  return randomBytes(8).toString('hex');
}

/** The simulator must never be reachable from the LAN: it answers to anyone who knows the (fake) key. */
export { isLoopback } from '../meross/host';

export function formatAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
