import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ACK_FOR, buildMessage, newMessageId, sign, uuidFromTopic, verifySign } from '../../src/meross/envelope';

describe('sign', () => {
  it('matches the worked example of protocol.md §1.3', () => {
    expect(sign('0123456789abcdef0123456789abcdef', 'test_key', 1700000000)).toBe('1c402b529fa2a5385268d697703793d5');
  });

  it('matches the second vector: empty id, empty key, timestamp 0 = md5("0")', () => {
    expect(sign('', '', 0)).toBe('cfcd208495d565ef66e7dff9f98764da');
  });

  it('is plain md5 of the concatenation, utf-8 encoded', () => {
    const expected = createHash('md5').update('abcschlüssel42', 'utf8').digest('hex');
    expect(sign('abc', 'schlüssel', 42)).toBe(expected);
  });
});

describe('newMessageId', () => {
  it('is 32 lower-case hex chars and fresh each time', () => {
    // Past the 256 ids one refill of the pool gives, so a refill that repeated the previous ids would show.
    const ids = new Set(Array.from({ length: 600 }, () => newMessageId()));
    expect(ids.size).toBe(600);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('buildMessage', () => {
  it('fills every header field from an injected clock and id', () => {
    const m = buildMessage('Appliance.Control.ToggleX', 'SET', { togglex: { channel: 0, onoff: 1 } }, 'test_key', {
      now: 1_700_000_000_123,
      messageId: '0123456789abcdef0123456789abcdef',
    });
    expect(m.header).toMatchObject({
      messageId: '0123456789abcdef0123456789abcdef',
      namespace: 'Appliance.Control.ToggleX',
      method: 'SET',
      payloadVersion: 1,
      timestamp: 1700000000,
      timestampMs: 123,
      sign: '1c402b529fa2a5385268d697703793d5',
    });
    expect(typeof m.header.from).toBe('string');
    expect(m.payload).toEqual({ togglex: { channel: 0, onoff: 1 } });
  });

  it('defaults to a random 32-hex messageId, the current time in seconds and a valid sign', () => {
    const before = Date.now();
    const m = buildMessage('Appliance.System.All', 'GET', {}, 'k');
    const after = Date.now();
    expect(m.header.messageId).toMatch(/^[0-9a-f]{32}$/);
    expect(Number.isInteger(m.header.timestamp)).toBe(true);
    expect(m.header.timestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(m.header.timestamp).toBeLessThanOrEqual(Math.floor(after / 1000));
    expect(m.header.timestampMs).toBeGreaterThanOrEqual(0);
    expect(m.header.timestampMs).toBeLessThan(1000);
    expect(m.header.sign).toBe(sign(m.header.messageId, 'k', m.header.timestamp));
    expect(m.header.sign).toMatch(/^[0-9a-f]{32}$/);
  });

  it('serialises to a JSON object with header and payload only', () => {
    const m = buildMessage('Appliance.System.Ability', 'GET', {}, 'k', { now: 5_000, messageId: 'a'.repeat(32) });
    const parsed: unknown = JSON.parse(JSON.stringify(m));
    expect(Object.keys(parsed as object).sort()).toEqual(['header', 'payload']);
    expect(m.header.timestamp).toBe(5);
    expect(m.header.timestampMs).toBe(0);
  });
});

describe('verifySign', () => {
  const header = { messageId: '0123456789abcdef0123456789abcdef', timestamp: 1700000000, sign: '1c402b529fa2a5385268d697703793d5' };

  it('accepts the right key', () => {
    expect(verifySign(header, 'test_key')).toBe(true);
  });

  it('accepts an upper-case sign', () => {
    expect(verifySign({ ...header, sign: header.sign.toUpperCase() }, 'test_key')).toBe(true);
  });

  it('rejects another key, another timestamp, another id, a tampered sign', () => {
    expect(verifySign(header, 'other_key')).toBe(false);
    expect(verifySign(header, '')).toBe(false);
    expect(verifySign({ ...header, timestamp: 1700000001 }, 'test_key')).toBe(false);
    expect(verifySign({ ...header, messageId: 'f'.repeat(32) }, 'test_key')).toBe(false);
    expect(verifySign({ ...header, sign: '0'.repeat(32) }, 'test_key')).toBe(false);
  });

  it('round-trips with buildMessage', () => {
    const m = buildMessage('Appliance.System.All', 'GET', {}, 'meross');
    expect(verifySign(m.header, 'meross')).toBe(true);
    expect(verifySign(m.header, 'Meross')).toBe(false);
  });
});

describe('uuidFromTopic', () => {
  it('extracts the uuid from /appliance/<uuid>/publish', () => {
    expect(uuidFromTopic('/appliance/11111111111111111111111111111111/publish')).toBe('11111111111111111111111111111111');
  });

  it('accepts a uuid that is not hex (the 2.1.17 unit has an "h")', () => {
    // uuid derived from krahabb/meross_lan traces (MIT)
    expect(uuidFromTopic('/appliance/20091131118061251h5748e1e9334e2b/publish')).toBe('20091131118061251h5748e1e9334e2b');
  });

  it('returns undefined for anything else', () => {
    for (const v of [
      undefined,
      null,
      42,
      {},
      '',
      '/appliance//publish',
      '/appliance/abc/subscribe',
      '/app/123-abc/subscribe',
      'http://192.0.2.10/config',
      '/appliance/a/b/publish',
      'x/appliance/abc/publish',
    ]) {
      expect(uuidFromTopic(v)).toBeUndefined();
    }
  });
});

describe('ACK_FOR', () => {
  it('maps requests to their acknowledgements', () => {
    expect(ACK_FOR).toMatchObject({ GET: 'GETACK', SET: 'SETACK', PUSH: 'PUSH' });
  });
});
