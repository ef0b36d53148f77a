/**
 * Payload encryption of the newest Meross firmware (MSS110 fw 7.3.x and siblings), as krahabb/meross_lan speaks it
 * (protocol.md §3.13): chosen by capability — only a plug whose Ability list names `Appliance.Encrypt.ECDHE` gets
 * it. Despite that name, meross_lan performs no key exchange (it never sends `Appliance.Encrypt.ECDHE`): the AES
 * key is static per plug, derived from its uuid, the device key and its MAC:
 *
 *   key  = utf8( md5_hex( uuid[3:22] + deviceKey[1:9] + mac + deviceKey[10:28] ) )   // 32 ASCII bytes → AES-256
 *   body = base64( AES-256-CBC( key, iv = "0000000000000000", plaintext + 1…16 NUL bytes ) ) + "\n"
 *
 * (Python slices: out-of-range ends are clipped, as JavaScript's `slice` does.) meross_lan's `AESCipher` always adds
 * `16 - len % 16` NULs — a whole block when the text is already aligned — and its base64 (`binascii.b2a_base64`)
 * ends with a newline; replies are decoded the other way round, trailing NULs stripped. The MQTT path is not
 * encrypted (meross_lan encrypts HTTP only).
 *
 * No Homebridge imports; the key never leaves this module in any message.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

export const ENCRYPTION_NAMESPACE = 'Appliance.Encrypt.ECDHE';

const IV = Buffer.from('0000000000000000', 'latin1');
const BLOCK = 16;

/** `aa:bb:cc:dd:ee:ff` from the uuid's last 12 hex digits (meross_lan `get_macaddress_from_uuid`), or undefined. */
export function macFromUuidTail(uuid: string): string | undefined {
  const tail = uuid.slice(-12).toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(tail)) return undefined;
  return tail.match(/../g)?.join(':');
}

/** The 32 ASCII bytes of the AES-256 key (meross_lan `compute_message_encryption_key`). */
export function deriveEncryptionKey(uuid: string, deviceKey: string, mac: string): Buffer {
  const material = `${uuid.slice(3, 22)}${deviceKey.slice(1, 9)}${mac}${deviceKey.slice(10, 28)}`;
  return Buffer.from(createHash('md5').update(material, 'utf8').digest('hex'), 'latin1');
}

export class DecryptError extends Error {}

/** One plug's cipher. Holds the derived key only; its methods never put the key in an error. */
export class MessageCipher {
  private readonly key: Buffer;

  constructor(uuid: string, deviceKey: string, mac: string) {
    this.key = deriveEncryptionKey(uuid, deviceKey, mac);
  }

  /** A request body: base64 of the NUL-padded ciphertext, with the trailing newline meross_lan sends. */
  encrypt(text: string): string {
    const plain = Buffer.from(text, 'utf8');
    const padded = Buffer.concat([plain, Buffer.alloc(BLOCK - (plain.length % BLOCK))]);
    const cipher = createCipheriv('aes-256-cbc', this.key, IV);
    cipher.setAutoPadding(false);
    return `${Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64')}\n`;
  }

  /** A reply body back to text; throws DecryptError for anything that is not base64 of whole AES blocks. */
  decrypt(body: string): string {
    const trimmed = body.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)) throw new DecryptError('not base64');
    const data = Buffer.from(trimmed, 'base64');
    if (data.length === 0 || data.length % BLOCK !== 0) throw new DecryptError(`ciphertext of ${data.length} bytes is not whole AES blocks`);
    const decipher = createDecipheriv('aes-256-cbc', this.key, IV);
    decipher.setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    return plain.subarray(0, end).toString('utf8');
  }
}
