// Address arithmetic only: these tests parse and expand subnet strings and never send a packet anywhere
// (documentation and benchmark ranges stand in for a home LAN).
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { expandRanges, formatIPv4, interfaceSubnets, parseIPv4, parseSubnet, rangeContains, resolveSubnets } from '../../src/discovery';

const nic = (address: string, cidr: string, internal = false): NetworkInterfaceInfo =>
  ({ address, netmask: '', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr }) as NetworkInterfaceInfo;

describe('subnets', () => {
  it('parses and formats IPv4 addresses strictly', () => {
    expect(formatIPv4(parseIPv4('198.51.100.200') as number)).toBe('198.51.100.200');
    for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5']) expect(parseIPv4(bad), bad).toBeUndefined();
  });

  it('understands CIDR, ranges and single addresses, without network and broadcast addresses', () => {
    const net = parseSubnet('198.51.100.0/24');
    expect(net).toMatchObject({ label: '198.51.100.0/24' });
    const all = expandRanges([net as never]);
    expect(all).toHaveLength(254);
    expect(all[0]).toBe('198.51.100.1');
    expect(all.at(-1)).toBe('198.51.100.254');
    expect(expandRanges([parseSubnet('203.0.113.5/24') as never])[0]).toBe('203.0.113.1');
    expect(expandRanges([parseSubnet('127.0.0.2-127.0.0.40') as never])).toHaveLength(39);
    expect(expandRanges([parseSubnet('127.0.0.2-4') as never])).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    expect(expandRanges([parseSubnet('192.0.2.7') as never, parseSubnet('192.0.2.6/31') as never])).toEqual(['192.0.2.7', '192.0.2.6']);
  });

  it('refuses what it cannot scan, in one sentence each', () => {
    expect(parseSubnet('203.0.0.0/16')).toEqual({ error: '"203.0.0.0/16" is too large to scan (at most a /22, 1024 addresses)' });
    expect(parseSubnet('203.0.112.0/22')).not.toHaveProperty('error');
    expect(parseSubnet('203.0.113.9-203.0.113.1')).toHaveProperty('error');
    expect(parseSubnet('fe80::/64')).toHaveProperty('error');
    expect(parseSubnet('my lan')).toHaveProperty('error');
  });

  it("caps the host's interfaces at a /24 and leaves out loopback, link-local and IPv6", () => {
    const ranges = interfaceSubnets({
      lo: [nic('127.0.0.1', '127.0.0.1/8', true)],
      eth0: [nic('198.18.30.40', '198.18.30.40/16'), { ...nic('fd00::2', 'fd00::2/64'), family: 'IPv6' } as NetworkInterfaceInfo],
      wlan0: [nic('198.51.101.9', '198.51.101.9/28'), nic('169.254.3.3', '169.254.3.3/16')],
      eth1: [nic('198.18.30.41', '198.18.30.41/24')],
    });
    expect(ranges.map((r) => r.label)).toEqual(['198.18.30.0/24', '198.51.101.0/28']);
    expect(expandRanges(ranges)).toHaveLength(254 + 14);
    expect(rangeContains(ranges[0], '198.18.30.200')).toBe(true);
    expect(rangeContains(ranges[0], '198.18.31.1')).toBe(false);
  });

  it('takes the config first, then MEROSS_LAN_SUBNETS, then the interfaces', () => {
    const interfaces = (): NodeJS.Dict<NetworkInterfaceInfo[]> => ({ eth0: [nic('198.51.100.5', '198.51.100.5/24')] });
    const env = { MEROSS_LAN_SUBNETS: '127.0.0.2-127.0.0.40, 127.0.1.0/30 ,' };
    expect(resolveSubnets({ configured: ['203.0.113.0/24'], env, interfaces })).toMatchObject({ source: 'discovery.subnets', ranges: [{ label: '203.0.113.0/24' }] });
    expect(resolveSubnets({ configured: [], env, interfaces })).toMatchObject({
      source: 'MEROSS_LAN_SUBNETS',
      ranges: [{ label: '127.0.0.2-127.0.0.40' }, { label: '127.0.1.0/30' }],
    });
    expect(resolveSubnets({ env: {}, interfaces })).toMatchObject({ source: 'interfaces', ranges: [{ label: '198.51.100.0/24' }] });
    const bad = resolveSubnets({ configured: ['203.0.0.0/8', '203.0.113.0/24'], env, interfaces });
    expect(bad.ranges).toHaveLength(1);
    expect(bad.problems).toEqual(['discovery.subnets: "203.0.0.0/8" is too large to scan (at most a /22, 1024 addresses); skipping it.']);
  });
});
