import { describe, expect, it } from 'vitest';
import {
  applianceTopic,
  appTopic,
  deviceClientId,
  devicePassword,
  macFromUuid,
  normaliseMac,
  parseUserId,
  publishTopic,
  samePassword,
  subscribeTopic,
  uuidFromClientId,
} from '../../src/meross/mqtt';

describe('device MQTT protocol', () => {
  it('computes the firmware password as in protocol.md §4.2', () => {
    expect(devicePassword('34:29:8f:ff:ff:ff', 'testkey', '1234')).toBe('1234_5ac868a81f2f21b4a87f7d2bb3467cb5');
    expect(devicePassword('48:e1:e9:aa:bb:cc', 'test_key', '0')).toBe('0_90121b99e67815c5e2637eaf7eac67ac');
    // The MAC is hashed in lower case, whatever case it comes in.
    expect(devicePassword('48:E1:E9:AA:BB:CC', 'test_key', '0')).toBe('0_90121b99e67815c5e2637eaf7eac67ac');
  });

  it('compares passwords without caring how they are stored', () => {
    expect(samePassword(Buffer.from('1_ab'), '1_ab')).toBe(true);
    expect(samePassword('1_ab', '1_ab')).toBe(true);
    expect(samePassword('1_ac', '1_ab')).toBe(false);
    expect(samePassword('1_abc', '1_ab')).toBe(false);
    expect(samePassword(undefined, '1_ab')).toBe(false);
  });

  it('names topics and reads them back, refusing wildcards', () => {
    const uuid = '20091131118061251h5748e1e9aabbcc';
    expect(subscribeTopic(uuid)).toBe(`/appliance/${uuid}/subscribe`);
    expect(applianceTopic(publishTopic(uuid))).toEqual({ uuid, kind: 'publish' });
    expect(applianceTopic('/appliance/+/publish')).toBeUndefined();
    expect(applianceTopic('/app/1-x/subscribe')).toBeUndefined();
    expect(appTopic('42')).toMatch(/^\/app\/42-[0-9a-f]{12}\/subscribe$/);
    expect(appTopic('42')).not.toBe(appTopic('42'));
  });

  it('derives the MAC from a uuid (which need not be hex) and normalises MAC spellings', () => {
    expect(macFromUuid('20091131118061251h5748e1e9aabbcc')).toBe('48:e1:e9:aa:bb:cc');
    expect(macFromUuid('short-uuid-with-no-hex-tail-zzzz')).toBeUndefined();
    expect(normaliseMac('48-E1-E9-AA-BB-CC')).toBe('48:e1:e9:aa:bb:cc');
    expect(normaliseMac('48e1e9aabbcc')).toBe('48:e1:e9:aa:bb:cc');
    expect(normaliseMac('admin')).toBeUndefined();
  });

  it('builds and reads firmware client ids', () => {
    const uuid = '20091131118061251h5748e1e9aabbcc';
    expect(uuidFromClientId(deviceClientId(uuid))).toBe(uuid);
    expect(uuidFromClientId('mosquitto_sub')).toBeUndefined();
  });

  it('accepts user ids as numbers or digit strings only', () => {
    expect(parseUserId(1234567)).toBe('1234567');
    expect(parseUserId(' 42 ')).toBe('42');
    expect(parseUserId('0')).toBe('0');
    for (const bad of [-1, 1.5, 'abc', '', '12 34', {}, null, '1234567890123']) expect(parseUserId(bad), String(bad)).toBeUndefined();
  });
});
