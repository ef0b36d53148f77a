import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The device side of Meross MQTT (protocol.md §4): topics, the firmware's broker login, and the session messages a
 * plug sends right after connecting. No I/O and no Homebridge: shared by the push hub, the simulator and `pair`, so
 * both sides of a session follow one rule.
 */

/** Where the plug listens for requests (and for answers to its session messages). */
export function subscribeTopic(uuid: string): string {
  return `/appliance/${uuid}/subscribe`;
}

/** Where the plug publishes PUSH notifications and session messages. */
export function publishTopic(uuid: string): string {
  return `/appliance/${uuid}/publish`;
}

/** The uuid in `/appliance/<uuid>/<kind>`, or undefined for any other topic (wildcards included). */
export function applianceTopic(topic: string): { uuid: string; kind: 'publish' | 'subscribe' } | undefined {
  const m = /^\/appliance\/([^/+#]+)\/(publish|subscribe)$/.exec(topic);
  return m ? { uuid: m[1], kind: m[2] as 'publish' | 'subscribe' } : undefined;
}

/**
 * A topic for replies to our requests, put in each request's `header.from` (the plug publishes its answer there).
 * The random part keeps two Homebridge instances on one broker apart; meross_lan uses the same `/app/<userId>-<id>`.
 */
export function appTopic(userId: string): string {
  return `/app/${userId}-${randomBytes(6).toString('hex')}/subscribe`;
}

/** The MAC a uuid ends with (its last 12 chars), lower case with colons; undefined when those are not hex. */
export function macFromUuid(uuid: string): string | undefined {
  const tail = uuid.slice(-12).toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(tail)) return undefined;
  return tail.replace(/(..)(?!$)/g, '$1:');
}

/** `AA-BB-…`/`aabb…` → `aa:bb:…`; undefined if it is not a MAC address. */
export function normaliseMac(text: string): string | undefined {
  const hex = text.toLowerCase().replace(/[:-]/g, '');
  return /^[0-9a-f]{12}$/.test(hex) ? hex.replace(/(..)(?!$)/g, '$1:') : undefined;
}

/** The password the firmware logs in with: `<userId>_` + md5_hex(MAC + key), MAC lower case with colons (§4.2). */
export function devicePassword(mac: string, key: string, userId: string): string {
  return `${userId}_${createHash('md5').update(`${mac.toLowerCase()}${key}`, 'utf8').digest('hex')}`;
}

/** Constant-time comparison, so a refused login says nothing about how close the password was. */
export function samePassword(given: Buffer | string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.isBuffer(given) ? given : Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A userId as Meross uses them (a whole number, as digits), else undefined. */
export function parseUserId(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  return typeof text === 'string' && /^\d{1,12}$/.test(text.trim()) ? text.trim() : undefined;
}

/** Client id of a plug's MQTT session: `fmware:<uuid>_<random>`. */
export function deviceClientId(uuid: string): string {
  return `fmware:${uuid}_${randomBytes(8).toString('hex')}`;
}

/** The uuid in a firmware client id, if it has that shape (used only to make log lines helpful). */
export function uuidFromClientId(clientId: string): string | undefined {
  return /^fmware:([0-9a-zA-Z]{32})_/.exec(clientId)?.[1];
}
