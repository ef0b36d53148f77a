import { describe, expect, it } from 'vitest';
import { formatHost, isLoopback, parseHost } from '../../src/meross/host';

describe('parseHost', () => {
  it.each([
    ['192.0.2.10', { hostname: '192.0.2.10', port: 80 }],
    ['127.0.0.1:8081', { hostname: '127.0.0.1', port: 8081 }],
    ['[::1]:8081', { hostname: '::1', port: 8081 }],
    ['[::1]', { hostname: '::1', port: 80 }],
    ['[fe80::1:2]:80', { hostname: 'fe80::1:2', port: 80 }],
    ['plug.lan', { hostname: 'plug.lan', port: 80 }],
    ['mss310-kitchen', { hostname: 'mss310-kitchen', port: 80 }],
    ['plug.lan:1', { hostname: 'plug.lan', port: 1 }],
    ['192.0.2.10:65535', { hostname: '192.0.2.10', port: 65535 }],
    ['  192.0.2.10  ', { hostname: '192.0.2.10', port: 80 }],
    ['http://192.0.2.10/config', { hostname: '192.0.2.10', port: 80 }],
    ['http://192.0.2.10:8080/', { hostname: '192.0.2.10', port: 8080 }],
  ])('accepts %j', (input, expected) => {
    expect(parseHost(input)).toEqual(expected);
  });

  it.each([
    'a b',
    '1.2.3.4:0',
    '1.2.3.4:99999',
    '1.2.3.4:65536',
    '1.2.3.4:-1',
    '1.2.3.4:1.5',
    '1.2.3.4:',
    '1.2.3.4:abc',
    ':80',
    '',
    '   ',
    '::1',
    '[::1]:0',
    '[not-v6]:80',
    'plug_lan',
    '-plug.lan',
    'plug..lan',
    'a:b:c',
    'plug.lan/other',
  ])('rejects %j', (input) => {
    expect(parseHost(input)).toBeUndefined();
  });
});

describe('formatHost', () => {
  it('omits the default port and brackets IPv6', () => {
    expect(formatHost({ hostname: '192.0.2.10', port: 80 })).toBe('192.0.2.10');
    expect(formatHost({ hostname: '127.0.0.1', port: 8081 })).toBe('127.0.0.1:8081');
    expect(formatHost({ hostname: '::1', port: 8081 })).toBe('[::1]:8081');
    expect(formatHost({ hostname: '::1', port: 80 })).toBe('[::1]');
  });

  it('round-trips through parseHost', () => {
    for (const text of ['192.0.2.10', '127.0.0.1:8081', '[::1]:8081', 'plug.lan']) {
      const parsed = parseHost(text);
      expect(parsed).toBeDefined();
      if (parsed) expect(formatHost(parsed)).toBe(text);
    }
  });
});

describe('parseHost rejects lookalike ports and brackets', () => {
  it.each(['1.2.3.4:0x50', '1.2.3.4:8e1', '1.2.3.4:+80', '1.2.3.4: 80', '[:]:80', '[...]'])('%s', (input) => {
    expect(parseHost(input)).toBeUndefined();
  });
});

describe('isLoopback', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::0:1', '0::1'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });
  it.each(['192.0.2.10', '::2', '[::1]', 'plug.lan', '128.0.0.1', '::ffff:192.0.2.1', ''])('%s is not', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
