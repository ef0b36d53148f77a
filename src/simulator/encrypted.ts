/**
 * How encrypted firmware (profiles/mss110.ts) treats an HTTP body, after meross_lan's emulator (`MerossEmulator`
 * `handle` and its `_cipher`, built from `HttpClient.Cipher`): a body that parses as JSON is a plain request, which
 * only `Appliance.System.Ability` may be (anything else: the firmware resets the TCP connection); any other body is
 * base64 of AES-256-CBC ciphertext, answered the same way. Written here from that code on its own, without the
 * client's encryption.ts, so a mistake in one is not mirrored in the other.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

export type Wire =
  /** A request in clear, answered in clear. */
  | { kind: 'plain'; text: string }
  /** Decrypted; the answer goes back encrypted with `seal`. */
  | { kind: 'encrypted'; text: string; seal: (reply: string) => string }
  /** What the firmware does with a plain request other than Ability, or a body it cannot decrypt. */
  | { kind: 'reset'; reason: string };

const ABILITY = 'Appliance.System.Ability';

/** The AES key: the 32 characters of md5_hex(uuid[3:22] + key[1:9] + mac + key[10:28]) (meross_lan). */
function aesKey(uuid: string, key: string, mac: string): Buffer {
  return Buffer.from(createHash('md5').update(uuid.slice(3, 22) + key.slice(1, 9) + mac + key.slice(10, 28)).digest('hex'));
}

const IV = Buffer.from('0000000000000000');

export function unwrapRequest(body: string, identity: { uuid: string; key: string; mac: string }): Wire {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    message = undefined;
  }
  if (message !== undefined) {
    const header = typeof message === 'object' && message !== null ? (message as { header?: unknown }).header : undefined;
    const namespace = typeof header === 'object' && header !== null ? (header as { namespace?: unknown }).namespace : undefined;
    return namespace === ABILITY ? { kind: 'plain', text: body } : { kind: 'reset', reason: `plain ${String(namespace)} on encrypted firmware` };
  }
  const key = aesKey(identity.uuid, identity.key, identity.mac);
  const data = Buffer.from(body, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) return { kind: 'reset', reason: 'not base64 of AES blocks' };
  const decipher = createDecipheriv('aes-256-cbc', key, IV).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  const text = plain.subarray(0, end).toString('utf8');
  const seal = (reply: string): string => {
    const bytes = Buffer.from(reply, 'utf8');
    const padded = Buffer.concat([bytes, Buffer.alloc(16 - (bytes.length % 16))]);
    const cipher = createCipheriv('aes-256-cbc', key, IV).setAutoPadding(false);
    return `${Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64')}\n`;
  };
  return { kind: 'encrypted', text, seal };
}
