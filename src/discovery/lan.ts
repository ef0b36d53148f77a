import type { NetworkInterfaceInfo } from 'node:os';
import { parseHost } from '../meross/host';
import type { Found, ProbeOptions } from './probe';
import { scan, type ScanTarget } from './scan';
import { expandRanges, parseIPv4, rangeContains, resolveSubnets, type AddressRange } from './subnets';

export interface DiscoveryLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export interface LanDiscoveryOptions extends ProbeOptions {
  /** `discovery.subnets`; empty or absent: MEROSS_LAN_SUBNETS, else the host's interfaces. */
  subnets?: readonly string[];
  /** Port probed on every address (plugs listen on 80). */
  port: number;
  env: Readonly<Record<string, string | undefined>>;
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Keys to try, in order. Read at each scan: the cloud may have supplied one meanwhile. */
  keys: () => readonly string[];
  /** `host[:port]` of plugs online right now: known already, and not to be disturbed mid-poll. */
  busy?: () => ReadonlySet<string>;
  log: DiscoveryLogger;
  concurrency?: number;
}

/** Where a lost plug was last seen, to narrow a follow-up scan. Undefined: never placed. */
export type LastAddress = string | undefined;

/** The platform's scanner: resolves where to look, probes, reports. One call is one scan. */
export class LanDiscovery {
  private reportedProblems = false;

  constructor(private readonly options: LanDiscoveryOptions) {}

  /**
   * Scans the subnets. With `lastAddresses` (a scan to find lost plugs), the ports are those the plugs used and,
   * when the subnets come from the host's interfaces, only interface subnets holding one of those addresses are
   * scanned: a plug that left 192.168.1.x is looked for in 192.168.1.0/24, and one never on this host's LAN
   * (a loopback test plug, a routed subnet) sends no probe anywhere.
   */
  async scan(reason: string, lastAddresses?: readonly LastAddress[]): Promise<Found[]> {
    const o = this.options;
    const resolved = resolveSubnets({ configured: o.subnets, env: o.env, interfaces: o.interfaces });
    if (!this.reportedProblems) {
      this.reportedProblems = true;
      for (const p of resolved.problems) o.log.warn(`LAN discovery: ${p}`);
    }
    let ranges: AddressRange[] = resolved.ranges;
    let ports = [o.port];
    if (lastAddresses && lastAddresses.length > 0) {
      const parsed = lastAddresses.map((a) => (a === undefined ? undefined : parseHost(a)));
      ports = [...new Set(parsed.map((a) => a?.port ?? o.port))];
      // Only a plug that never had an address may be looked for on every interface subnet. One known by IP is
      // looked for where it was; one known by host name is left to DNS (its name follows it, and we cannot tell
      // which network it is on).
      const neverPlaced = parsed.some((a) => a === undefined);
      if (resolved.source === 'interfaces' && !neverPlaced) {
        const ips = parsed.flatMap((a) => (a && parseIPv4(a.hostname) !== undefined ? [a.hostname] : []));
        ranges = ranges.filter((r) => ips.some((ip) => rangeContains(r, ip)));
        if (ranges.length === 0) {
          const where = lastAddresses.join(', ');
          o.log.debug(`LAN discovery (${reason}): no subnet of this host's network holds ${where}; nothing scanned.`);
          return [];
        }
      }
    }
    if (ranges.length === 0) {
      o.log.debug(`LAN discovery (${reason}): no subnet to scan (source: ${resolved.source}).`);
      return [];
    }
    const busy = o.busy?.() ?? new Set<string>();
    const targets: ScanTarget[] = [];
    for (const host of expandRanges(ranges)) {
      for (const port of ports) {
        if (!busy.has(port === 80 ? host : `${host}:${port}`)) targets.push({ host, port });
      }
    }
    const started = Date.now();
    o.log.debug(
      `LAN discovery (${reason}): probing ${targets.length} address${targets.length === 1 ? '' : 'es'} in ${ranges.map((r) => r.label).join(', ')} ` +
        `(${resolved.source}) on port ${ports.join(', ')}.`,
    );
    const found = await scan({
      targets,
      keys: o.keys(),
      concurrency: o.concurrency,
      connectTimeoutMs: o.connectTimeoutMs,
      replyTimeoutMs: o.replyTimeoutMs,
    });
    o.log.debug(`LAN discovery (${reason}): done in ${((Date.now() - started) / 1000).toFixed(1)} s, ${found.length} Meross plug${found.length === 1 ? '' : 's'} answered.`);
    return found;
  }
}
