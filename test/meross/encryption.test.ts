import { describe, expect, it } from 'vitest';
import { deriveEncryptionKey, DecryptError, macFromUuidTail, MessageCipher } from '../../src/meross/encryption';

/*
 * Worked vectors derived from krahabb/meross_lan's own code, not from ours. The derivation, run with Python 3 and
 * `cryptography` 48 (its helpers retyped one to one):
 *
 *   # merossclient/protocol/__init__.py
 *   def md5hexdigest(*args): return md5("".join(args).encode()).hexdigest()
 *   class AESCipher(Cipher):
 *       IV = "0000000000000000".encode()
 *       def __init__(self, k): super().__init__(algorithms.AES(k), modes.CBC(self.IV))
 *       def encript_text(self, text):
 *           buffer = text.encode(); buffer += bytes(16 - (len(buffer) % 16))
 *           e = self.encryptor(); return b2a_base64(e.update(buffer) + e.finalize()).decode()
 *       def decript(self, data):
 *           d = self.decryptor(); return (d.update(a2b_base64(data)) + d.finalize()).rstrip(bytes(1))
 *   # merossclient/client/http.py: HttpClient.Cipher
 *   key = md5hexdigest(uuid[3:22], key[1:9], mac, key[10:28]).encode()
 *   # merossclient/__init__.py: get_macaddress_from_uuid
 *   mac = ":".join(re.findall("..", uuid[-12:].lower()))
 *
 * with uuid = "2011061237014329088148e1e9a1b2c3", device key = "0123456789abcdef0123456789abcdef":
 *   mac                     = "48:e1:e9:a1:b2:c3"
 *   uuid[3:22]              = "1061237014329088148"
 *   key[1:9]                = "12345678"
 *   key[10:28]              = "abcdef0123456789ab"
 *   concatenation           = "10612370143290881481234567848:e1:e9:a1:b2:c3abcdef0123456789ab"
 *   md5 hex (the AES key)   = "2924b8988386123f086fc97e2c1935de"
 *   encript_text('{"a":1}')            = "ncQNBFgkchgHwUKz+h6geA==\n"                      (7 bytes → 9 NULs)
 *   encript_text('0123456789abcdef')   = "pSlSWI9IsSETM/z04qxL3hK5R1pavdkphehy44wyjqg=\n"  (16 bytes → a whole NUL block)
 *   a 130-byte System.All request       → the 176-char body in LONG below
 * with device key "meross" (shorter than the slices): concatenation "1061237014329088148eross48:e1:e9:a1:b2:c3",
 *   AES key "e1970a6828a3ab4262903705d4f56a72", encript_text('{"a":1}') = "LTRH9eYwI0BWSftRbePl+g==\n";
 * with the empty key: AES key "275056a614f393552685e40183b8cea8".
 */
const UUID = '2011061237014329088148e1e9a1b2c3';
const KEY = '0123456789abcdef0123456789abcdef';
const MAC = '48:e1:e9:a1:b2:c3';
const LONG_TEXT =
  '{"header":{"messageId":"0123456789abcdef0123456789abcdef","namespace":"Appliance.System.All","method":"GET"},"payload":{"all":{}}}';
const LONG =
  'XSL6NS5GN67ZMGHnD4JYfydxv5WBeL6YEEkFG1rTZ0m4a4u0dlS/TskAapwVpCMDoxw5SOdZ3Ig1svVDPLR1EvTtgtdIJCkKdyoqgFYe68NqmMy35DHbsCXqNy0p6LpppKFQk+L35kGCybfa6IIsGfwJwmIRwWCEiAYncNs5cKGgZ05RPnGdnzbetLpfi/P9\n';

describe('macFromUuidTail', () => {
  it('reads the MAC from the last 12 hex digits, lower case, as meross_lan does', () => {
    expect(macFromUuidTail(UUID)).toBe(MAC);
    expect(macFromUuidTail('2011061237014329088148E1E9A1B2C3')).toBe(MAC);
  });

  it('gives up on a tail that is not hex', () => {
    expect(macFromUuidTail('20091131118061251h5748e1e9a1b2cz')).toBeUndefined();
    expect(macFromUuidTail('abc')).toBeUndefined();
  });
});

describe('deriveEncryptionKey', () => {
  it('is the md5 hex of uuid[3:22] + key[1:9] + mac + key[10:28], as 32 ASCII bytes', () => {
    const key = deriveEncryptionKey(UUID, KEY, MAC);
    expect(key.length).toBe(32);
    expect(key.toString('latin1')).toBe('2924b8988386123f086fc97e2c1935de');
  });

  it('clips slices past the end of a short key like Python does', () => {
    expect(deriveEncryptionKey(UUID, 'meross', MAC).toString('latin1')).toBe('e1970a6828a3ab4262903705d4f56a72');
    expect(deriveEncryptionKey(UUID, '', MAC).toString('latin1')).toBe('275056a614f393552685e40183b8cea8');
  });
});

describe('MessageCipher', () => {
  const cipher = new MessageCipher(UUID, KEY, MAC);

  it('encrypts byte for byte like meross_lan AESCipher.encript_text, trailing newline included', () => {
    expect(cipher.encrypt('{"a":1}')).toBe('ncQNBFgkchgHwUKz+h6geA==\n');
    expect(cipher.encrypt(LONG_TEXT)).toBe(LONG);
    expect(new MessageCipher(UUID, 'meross', MAC).encrypt('{"a":1}')).toBe('LTRH9eYwI0BWSftRbePl+g==\n');
  });

  it('adds a whole block of NULs to text that is already a multiple of 16 bytes', () => {
    expect(cipher.encrypt('0123456789abcdef')).toBe('pSlSWI9IsSETM/z04qxL3hK5R1pavdkphehy44wyjqg=\n');
  });

  it('decrypts the vectors back, stripping the NULs, with or without the newline', () => {
    expect(cipher.decrypt('ncQNBFgkchgHwUKz+h6geA==\n')).toBe('{"a":1}');
    expect(cipher.decrypt('pSlSWI9IsSETM/z04qxL3hK5R1pavdkphehy44wyjqg=')).toBe('0123456789abcdef');
    expect(cipher.decrypt(LONG)).toBe(LONG_TEXT);
  });

  it('round-trips multi-byte text', () => {
    const text = '{"name":"Küche ☕","payload":{}}';
    expect(cipher.decrypt(cipher.encrypt(text))).toBe(text);
  });

  it('refuses bodies that are not base64 of whole AES blocks, without naming the key', () => {
    for (const bad of ['{"header":{}}', '', 'ncQNBFgkchgHwUKz', 'not base64!']) {
      let caught: unknown;
      try {
        cipher.decrypt(bad);
      } catch (error) {
        caught = error;
      }
      expect(caught, bad).toBeInstanceOf(DecryptError);
      expect(String((caught as Error).message)).not.toContain(KEY);
      expect(String((caught as Error).message)).not.toContain('2924b898');
    }
  });
});
