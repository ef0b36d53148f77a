import type { NetworkInterfaceInfo } from 'node:os';

/** An inclusive IPv4 address range (as unsigned 32-bit numbers) with the text it came from. */
export interface AddressRange {
  first: number;
  last: number;
  label: string;
}

/** The largest range a user may list: a /22. Interfaces are capped harder, at a /24 (the rule). */
export const MAX_RANGE_ADDRESSES = 1024;
export const INTERFACE_PREFIX_CAP = 24;

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function cidrRange(base: number, prefix: number, label: string): AddressRange {
  const size = 2 ** (32 - prefix);
  const network = prefix === 0 ? 0 : (base & (~0 << (32 - prefix))) >>> 0;
  // Network and broadcast addresses hold no plug; /31 and /32 have none of either.
  if (prefix <= 30) return { first: network + 1, last: network + size - 2, label };
  return { first: network, last: network + size - 1, label };
}

/**
 * One subnet as users write it: `192.168.1.0/24`, a range `192.168.1.20-192.168.1.40` (or `192.168.1.20-40`),
 * or one address. Returns the range or a sentence saying what is wrong.
 */
export function parseSubnet(input: string): AddressRange | { error: string } {
  const text = input.trim();
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (cidr) {
    const base = parseIPv4(cidr[1]);
    const prefix = Number(cidr[2]);
    if (base === undefined || prefix > 32) return { error: `"${text}" is not an IPv4 subnet such as 192.168.1.0/24` };
    if (2 ** (32 - prefix) > MAX_RANGE_ADDRESSES) return { error: `"${text}" is too large to scan (at most a /22, 1024 addresses)` };
    return cidrRange(base, prefix, text);
  }
  const range = /^([\d.]+)\s*-\s*([\d.]+)$/.exec(text);
  if (range) {
    const first = parseIPv4(range[1]);
    let last = parseIPv4(range[2]);
    if (first !== undefined && last === undefined && /^\d{1,3}$/.test(range[2]) && Number(range[2]) <= 255) {
      last = ((first & 0xffffff00) | Number(range[2])) >>> 0;
    }
    if (first === undefined || last === undefined || last < first) return { error: `"${text}" is not an address range such as 192.168.1.20-192.168.1.40` };
    if (last - first + 1 > MAX_RANGE_ADDRESSES) return { error: `"${text}" is too large to scan (at most 1024 addresses)` };
    return { first, last, label: text };
  }
  const single = parseIPv4(text);
  if (single !== undefined) return { first: single, last: single, label: text };
  return { error: `"${text}" is not an IPv4 subnet (192.168.1.0/24), range (192.168.1.20-40) or address` };
}

/**
 * The host's own IPv4 networks, each capped at the /24 around the host's address: a /16 office network is not
 * 65 000 probes. Loopback, link-local (169.254/16) and IPv6 are left out: plugs live on the LAN.
 */
export function interfaceSubnets(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): AddressRange[] {
  const ranges: AddressRange[] = [];
  const seen = new Set<string>();
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4' || info.internal) continue;
      const address = parseIPv4(info.address);
      if (address === undefined || address >>> 16 === (169 << 8) + 254) continue;
      const prefixFromCidr = info.cidr ? Number(info.cidr.split('/')[1]) : NaN;
      const prefix = Number.isInteger(prefixFromCidr) ? prefixFromCidr : maskBits(info.netmask);
      const capped = Math.max(prefix, INTERFACE_PREFIX_CAP);
      const range = cidrRange(address, capped, '');
      const network = capped <= 30 ? range.first - 1 : range.first;
      const label = `${formatIPv4(network)}/${capped}`;
      if (seen.has(label)) continue;
      seen.add(label);
      ranges.push({ ...range, label });
    }
  }
  return ranges;
}

function maskBits(netmask: string): number {
  const n = parseIPv4(netmask);
  if (n === undefined) return 32;
  let bits = 0;
  for (let m = n; m & 0x80000000; m = (m << 1) >>> 0) bits++;
  return bits;
}

export type SubnetSource = 'discovery.subnets' | '--subnet' | 'MEROSS_LAN_SUBNETS' | 'interfaces';

export interface ResolvedSubnets {
  ranges: AddressRange[];
  source: SubnetSource;
  /** One sentence per entry that could not be used (already skipped). */
  problems: string[];
}

/**
 * Where to look, in the order: the configured list (or the CLI's --subnet), else MEROSS_LAN_SUBNETS (a
 * comma list; test suites point it at loopback ranges), else the host's own interfaces capped at /24. Never
 * anything else.
 */
export function resolveSubnets(options: {
  configured?: readonly string[];
  configuredSource?: 'discovery.subnets' | '--subnet';
  env: Readonly<Record<string, string | undefined>>;
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}): ResolvedSubnets {
  const parseAll = (items: readonly string[], source: SubnetSource): ResolvedSubnets => {
    const ranges: AddressRange[] = [];
    const problems: string[] = [];
    for (const item of items) {
      const r = parseSubnet(item);
      if ('error' in r) problems.push(`${source}: ${r.error}; skipping it.`);
      else ranges.push(r);
    }
    return { ranges, source, problems };
  };
  if (options.configured && options.configured.length > 0) return parseAll(options.configured, options.configuredSource ?? 'discovery.subnets');
  const env = options.env.MEROSS_LAN_SUBNETS?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (env && env.length > 0) return parseAll(env, 'MEROSS_LAN_SUBNETS');
  return { ranges: interfaceSubnets(options.interfaces()), source: 'interfaces', problems: [] };
}

export function rangeContains(range: AddressRange, address: string): boolean {
  const n = parseIPv4(address);
  return n !== undefined && n >= range.first && n <= range.last;
}

/** Every address of the ranges once, in order. */
export function expandRanges(ranges: readonly AddressRange[]): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  for (const r of ranges) {
    for (let n = r.first; n <= r.last; n++) {
      if (seen.has(n)) continue;
      seen.add(n);
      out.push(formatIPv4(n));
    }
  }
  return out;
}
