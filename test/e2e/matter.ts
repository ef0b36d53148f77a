/**
 * A real matter.js controller for the end-to-end tests: commissions Homebridge's Matter bridge over loopback and
 * finds the bridged outlets. Follows ../shared/matter-testing.md (own UDP port, Seconds() durations, known address).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment, Logger, Seconds } from '@matter/main';
import { BridgedDeviceBasicInformation, Descriptor, GeneralCommissioning } from '@matter/main/clusters';
import { ManualPairingCodeCodec, type NodeId } from '@matter/main/types';
import { CommissioningController } from '@project-chip/matter.js';
import type { Endpoint, PairedNode } from '@project-chip/matter.js/device';

/** Device type of a Matter on/off plug-in unit (Homebridge's OnOffOutlet). */
export const ON_OFF_PLUG_IN_UNIT = 0x010a;
export const ELECTRICAL_SENSOR = 0x0510;

export interface Outlet {
  endpoint: Endpoint;
  number: number;
  serial: string;
  deviceTypes: number[];
}

export class MatterController {
  private constructor(
    readonly controller: CommissioningController,
    readonly logFile: string,
  ) {}

  /**
   * Starts a controller whose fabric lives in `storageDir`. matter.js keeps process-wide settings in its default
   * environment, so this sets them there; the test process runs one controller at a time.
   */
  static async start(storageDir: string, localPort: number): Promise<MatterController> {
    const logFile = join(storageDir, 'matter-controller.log');
    Logger.format = 'plain';
    Logger.destinations.default.write = (text: string) => appendFileSync(logFile, `${text}\n`);
    const environment = Environment.default;
    environment.vars.set('storage.path', storageDir);
    // The same interface as the bridge's `bind`: nothing is multicast on real networks.
    environment.vars.set('mdns.networkInterface', 'lo');
    const controller = new CommissioningController({
      environment: { environment, id: 'meross-lan-e2e' },
      autoConnect: false,
      adminFabricLabel: 'meross-lan e2e',
      localPort,
    });
    await controller.start();
    return new MatterController(controller, logFile);
  }

  /** Commissions the bridge at [::1]:port with its manual pairing code; resolves with the node id. */
  async commission(manualPairingCode: string, port: number): Promise<NodeId> {
    const { passcode, shortDiscriminator } = ManualPairingCodeCodec.decode(manualPairingCode);
    return this.controller.commissionNode({
      passcode,
      commissioning: {
        regulatoryLocation: GeneralCommissioning.RegulatoryLocationType.IndoorOutdoor,
        regulatoryCountryCode: 'XX',
      },
      discovery: {
        identifierData: shortDiscriminator === undefined ? {} : { shortDiscriminator },
        knownAddress: { ip: '::1', port, type: 'udp' },
        timeout: Seconds(20),
      },
    });
  }

  /** Connects with an auto subscription that reports at once (minimum interval 0). */
  async connect(nodeId: NodeId): Promise<PairedNode> {
    const node = await this.controller.getNode(nodeId);
    node.connect({ autoSubscribe: true, subscribeMinIntervalFloorSeconds: 0, subscribeMaxIntervalCeilingSeconds: 30 });
    // Awaiting the event after it fired would hang, so look first.
    if (!node.remoteInitializationDone) await node.events.initializedFromRemote;
    return node;
  }

  async close(): Promise<void> {
    await this.controller.close();
  }
}

/** Every bridged on/off plug-in unit under the node, by serial number (the plug's uuid). */
export function outlets(node: PairedNode): Map<string, Outlet> {
  const found = new Map<string, Outlet>();
  const walk = (endpoint: Endpoint): void => {
    const types = endpoint.getClusterClient(Descriptor.Complete);
    const basic = endpoint.getClusterClient(BridgedDeviceBasicInformation.Complete);
    const deviceTypes = (types?.attributes.deviceTypeList.getLocal() ?? []).map((t) => Number(t.deviceType));
    const serial = basic?.attributes.serialNumber.getLocal();
    if (deviceTypes.includes(ON_OFF_PLUG_IN_UNIT) && serial) found.set(serial, { endpoint, number: Number(endpoint.getNumber()), serial, deviceTypes });
    for (const child of endpoint.getChildEndpoints()) walk(child);
  };
  const root = node.getRootEndpoint();
  if (root) walk(root);
  return found;
}

/**
 * Waits until the node's endpoint tree shows `count` outlets. The structure can trail the first report a little, and
 * the node reports every structure change, so this waits on those events rather than on time.
 */
export async function waitForOutlets(node: PairedNode, count: number, timeoutMs = 10_000): Promise<Map<string, Outlet>> {
  return waitForTree(node, () => outlets(node), (found) => found.size >= count, (found) => `only ${found.size} of ${count} Matter outlets appeared`, timeoutMs);
}

/** Device type of Matter's bridged node (the container Homebridge composes a device with parts under). */
export const BRIDGED_NODE = 0x0013;

export interface BridgedDevice {
  endpoint: Endpoint;
  number: number;
  serial: string;
  deviceTypes: number[];
  /** The composed device's child endpoints (a strip's outlets), by the label Homebridge tags each with. */
  parts: Map<string, { endpoint: Endpoint; number: number; deviceTypes: number[] }>;
}

const deviceTypesOf = (endpoint: Endpoint): number[] =>
  (endpoint.getClusterClient(Descriptor.Complete)?.attributes.deviceTypeList.getLocal() ?? []).map((t) => Number(t.deviceType));

/**
 * Every bridged device under the node (anything with a serial number in its Bridged Device Basic Information), with
 * its child endpoints. Homebridge tags each part with a Descriptor TagList entry whose label is the part's name.
 */
export function bridgedDevices(node: PairedNode): Map<string, BridgedDevice> {
  const found = new Map<string, BridgedDevice>();
  const walk = (endpoint: Endpoint): void => {
    const serial = endpoint.getClusterClient(BridgedDeviceBasicInformation.Complete)?.attributes.serialNumber.getLocal();
    if (serial) {
      const parts: BridgedDevice['parts'] = new Map();
      for (const child of endpoint.getChildEndpoints()) {
        const descriptor = child.getClusterClient(Descriptor.Complete);
        const tags = (descriptor?.attributes as { tagList?: { getLocal(): Array<{ label?: string | null }> | undefined } } | undefined)?.tagList?.getLocal() ?? [];
        const label = tags.find((t) => t.label)?.label ?? `endpoint ${child.getNumber()}`;
        parts.set(label, { endpoint: child, number: Number(child.getNumber()), deviceTypes: deviceTypesOf(child) });
      }
      found.set(serial, { endpoint, number: Number(endpoint.getNumber()), serial, deviceTypes: deviceTypesOf(endpoint), parts });
      return;
    }
    for (const child of endpoint.getChildEndpoints()) walk(child);
  };
  const root = node.getRootEndpoint();
  if (root) walk(root);
  return found;
}

/** Waits (on the node's structure and attribute reports, not on time) until `accept` holds for the bridged devices. */
export async function waitForDevices(node: PairedNode, accept: (found: Map<string, BridgedDevice>) => boolean, timeoutMs = 10_000): Promise<Map<string, BridgedDevice>> {
  const seen = (found: Map<string, BridgedDevice>): string =>
    [...found].map(([s, d]) => `${s}: ${d.deviceTypes.join('/')} parts ${[...d.parts.keys()].join(',')}`).join('; ');
  return waitForTree(node, () => bridgedDevices(node), accept, (found) => `the Matter devices did not reach the expected shape (seen: ${seen(found)})`, timeoutMs);
}

/** Reads the node's tree again on each structure or attribute report until `accept` holds; `why` words a timeout. */
function waitForTree<T>(node: PairedNode, read: () => T, accept: (found: T) => boolean, why: (found: T) => string, timeoutMs: number): Promise<T> {
  const now = read();
  if (accept(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      node.events.structureChanged.off(check);
      node.events.attributeChanged.off(check);
    };
    const check = (): void => {
      const found = read();
      if (!accept(found)) return;
      stop();
      resolve(found);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${why(read())} within ${timeoutMs} ms`));
    }, timeoutMs);
    node.events.structureChanged.on(check);
    node.events.attributeChanged.on(check);
  });
}
