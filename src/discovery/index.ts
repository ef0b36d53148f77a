/** LAN discovery: probing subnets for Meross plugs and following plugs to new addresses. No Homebridge imports. */
export { LanDiscovery, type DiscoveryLogger, type LanDiscoveryOptions, type LastAddress } from './lan';
export { Locator, type Locatable, type LocatorOptions, type LostReason } from './locator';
export { probe, probeLabel, tcpOpen, type Found, type ProbeOptions } from './probe';
export { DEFAULT_CONCURRENCY, scan, type ScanOptions, type ScanTarget } from './scan';
export {
  expandRanges,
  formatIPv4,
  interfaceSubnets,
  MAX_RANGE_ADDRESSES,
  parseIPv4,
  parseSubnet,
  rangeContains,
  resolveSubnets,
  type AddressRange,
  type ResolvedSubnets,
  type SubnetSource,
} from './subnets';
export { UNPLACED_HOST, UnplacedClient } from './unplaced';
