/**
 * Power strips over Matter (issue #16): a real Homebridge 2.4 with Matter on loopback, a simulated MSS425E strip
 * (master 0, outlets 1..3, USB on 4) and a metering MSS305, and a real matter.js controller. The strip is one bridged
 * device composed of one on/off plug-in unit per outlet; each endpoint switches its own channel and shows its own
 * button presses; a restart keeps every endpoint. The MSS305 carries the power and energy clusters.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { furtherPolls } from './polls';
import { Descriptor, ElectricalEnergyMeasurement, ElectricalPowerMeasurement, OnOff } from '@matter/main/clusters';
import type { NodeId } from '@matter/main/types';
import type { PairedNode } from '@project-chip/matter.js/device';
import { SimulatedPlug } from '../../src/simulator';
import { freePort, Homebridge, makeTempDir, randomMac, type HomebridgeOptions } from './homebridge';
import { BRIDGED_NODE, ELECTRICAL_SENSOR, MatterController, ON_OFF_PLUG_IN_UNIT, waitForDevices, type BridgedDevice } from './matter';

const OUTLETS = [1, 2, 3, 4];
const ON_OFF_CLUSTER = OnOff.Complete.id;
const POWER_CLUSTER = ElectricalPowerMeasurement.Complete.id;
const ENERGY_CLUSTER = ElectricalEnergyMeasurement.Complete.id;
/** Without a cloud sign-in the outlets are called "Outlet N" (src/plug/outlets.ts); Homebridge tags each part with it. */
const label = (channel: number): string => `Outlet ${channel}`;

describe('a power strip (MSS425E) and an MSS305 over Matter (Homebridge 2.4)', () => {
  let strip: SimulatedPlug;
  let fridge: SimulatedPlug;
  let options: HomebridgeOptions;
  let hb: Homebridge;
  let controllerDir: string;
  let controller: MatterController;
  let nodeId: NodeId;
  let node: PairedNode;
  let devices: Map<string, BridgedDevice>;

  const isComposedStrip = (found: Map<string, BridgedDevice>): boolean => (found.get(strip.uuid)?.parts.size ?? 0) === OUTLETS.length && found.has(fridge.uuid);
  const part = (channel: number) => {
    const p = devices.get(strip.uuid)?.parts.get(label(channel));
    if (!p) throw new Error(`no Matter endpoint for outlet ${channel}`);
    return p;
  };
  const onOff = (channel: number) => part(channel).endpoint.getClusterClient(OnOff.Complete)!;
  const onTheStrip = (): Record<number, boolean> => Object.fromEntries(OUTLETS.map((c) => [c, strip.channelOn(c)]));
  const shown = async (): Promise<Record<number, boolean | undefined>> => {
    const out: Record<number, boolean | undefined> = {};
    for (const c of OUTLETS) out[c] = await onOff(c).attributes.onOff.get(true);
    return out;
  };
  /** Every OnOff report from now on, by endpoint number. */
  const recordOnOff = (): { reports: Array<{ endpoint: number; value: unknown }>; stop(): void } => {
    const reports: Array<{ endpoint: number; value: unknown }> = [];
    const listener = (data: { path: { endpointId: number; clusterId: number; attributeName: string }; value: unknown }): void => {
      if (Number(data.path.clusterId) === ON_OFF_CLUSTER && data.path.attributeName === 'onOff') reports.push({ endpoint: Number(data.path.endpointId), value: data.value });
    };
    node.events.attributeChanged.on(listener);
    return { reports, stop: () => node.events.attributeChanged.off(listener) };
  };
  /** The strip's next relay change on `channel` made by a request (not by a button). */
  const switchedByRequest = (channel: number, on: boolean) =>
    new Promise<void>((resolve) => {
      const listener = (e: { on: boolean; source: string; channel: number }): void => {
        if (e.source !== 'request' || e.on !== on || e.channel !== channel) return;
        strip.off('toggle', listener);
        resolve();
      };
      strip.on('toggle', listener);
    });

  beforeAll(async () => {
    [strip, fridge] = await Promise.all([
      SimulatedPlug.start({ model: 'mss425e', on: false }),
      SimulatedPlug.start({ model: 'mss305', on: true, watts: 5.3, volts: 233.1, amps: 0.029 }),
    ]);
    options = {
      version: 'v2',
      storageDir: makeTempDir('hb-strip-matter'),
      port: await freePort(),
      username: randomMac(),
      matter: { port: await freePort() },
      platform: {
        pollInterval: 1,
        energyPollInterval: 2,
        timeout: 1,
        devices: [
          // Known by uuid, never on Matter: published over Matter once it answered, as the strip it is (no one-outlet guess).
          { name: 'Strip', host: strip.address, key: strip.key, uuid: strip.uuid },
          { name: 'Fridge', host: fridge.address, key: fridge.key },
        ],
      },
    };
    hb = await Homebridge.start(options);
    const [code] = await Promise.all([
      hb.waitForLog(/Manual Pairing Code: (\d{4}-\d{3}-\d{4})/).then((m) => m[1]),
      hb.waitForLog(/Strip: added to Matter/),
      hb.waitForLog(/Fridge: added to Matter/),
    ]);
    // Never a one-outlet guess that controllers would see come and go.
    expect(hb.logs.filter((l) => /Registered Matter accessory: Strip /.test(l))).toHaveLength(1);
    expect(hb.logs.some((l) => /publishing it again over Matter|Unregistered Matter accessory/.test(l))).toBe(false);
    controllerDir = makeTempDir('matter-controller-strip');
    controller = await MatterController.start(controllerDir, await freePort());
    nodeId = await controller.commission(code, options.matter!.port);
    node = await controller.connect(nodeId);
    devices = await waitForDevices(node, isComposedStrip);
  }, 90_000);

  afterAll(async () => {
    await controller?.close();
    await hb?.stop();
    await Promise.all([strip, fridge].map((p) => p?.stop()));
    if (controllerDir) rmSync(controllerDir, { recursive: true, force: true });
  });

  it('publishes the strip as one bridged device composed of one on/off plug-in unit per outlet, without a meter', () => {
    const parent = devices.get(strip.uuid)!;
    expect(parent.deviceTypes).toContain(BRIDGED_NODE);
    // The parent is only the container: the master is not an outlet of its own.
    expect(parent.deviceTypes).not.toContain(ON_OFF_PLUG_IN_UNIT);
    expect(parent.endpoint.getClusterClient(OnOff.Complete)).toBeUndefined();
    expect([...parent.parts.keys()].sort()).toEqual(OUTLETS.map(label).sort());
    for (const c of OUTLETS) {
      expect(part(c).deviceTypes).toContain(ON_OFF_PLUG_IN_UNIT);
      expect(part(c).deviceTypes).not.toContain(ELECTRICAL_SENSOR);
      const servers = part(c).endpoint.getClusterClient(Descriptor.Complete)!.attributes.serverList.getLocal()!.map(Number);
      expect(servers).toContain(ON_OFF_CLUSTER);
      expect(servers).not.toContain(POWER_CLUSTER);
      expect(servers).not.toContain(ENERGY_CLUSTER);
    }
    // Exactly one endpoint per outlet; a left-over single-outlet shape would be a second device with the same serial.
    expect([...devices.keys()].sort()).toEqual([strip.uuid, fridge.uuid].sort());
  });

  it('switches exactly the outlet commanded, and no other', async () => {
    expect(await shown()).toEqual(onTheStrip());
    for (const [channel, command] of [
      [2, 'on'],
      [4, 'toggle'],
      [2, 'off'],
    ] as const) {
      const before = onTheStrip();
      const target = command === 'toggle' ? !before[channel] : command === 'on';
      const seen = switchedByRequest(channel, target);
      await onOff(channel).commands[command]();
      await seen;
      expect(onTheStrip(), `${command} on outlet ${channel}`).toEqual({ ...before, [channel]: target });
      expect(await shown()).toEqual(onTheStrip());
    }
    expect(onTheStrip()).toEqual({ 1: false, 2: false, 3: false, 4: true });
  });

  it('reports a button press on the outlet pressed, and on no other', async () => {
    const recorder = recordOnOff();
    const pressed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no report for outlet 3')), 5000);
      const check = (data: { path: { endpointId: number; clusterId: number }; value: unknown }): void => {
        if (Number(data.path.endpointId) !== part(3).number || Number(data.path.clusterId) !== ON_OFF_CLUSTER || data.value !== true) return;
        clearTimeout(timer);
        node.events.attributeChanged.off(check);
        resolve();
      };
      node.events.attributeChanged.on(check);
    });
    strip.press(3);
    await pressed;
    expect(onTheStrip()).toEqual({ 1: false, 2: false, 3: true, 4: true });
    // Two further polls of the strip (a report of their news would have come with the first): still nothing for any other outlet.
    await furtherPolls(strip, 2);
    recorder.stop();
    expect(recorder.reports).toEqual([{ endpoint: part(3).number, value: true }]);
    expect(await shown()).toEqual(onTheStrip());
  });

  it('gives the MSS305 on/off with power (mW, mV, mA) and energy (mWh)', async () => {
    const fridgeDevice = devices.get(fridge.uuid)!;
    expect(fridgeDevice.deviceTypes).toEqual(expect.arrayContaining([ON_OFF_PLUG_IN_UNIT, ELECTRICAL_SENSOR]));
    expect(fridgeDevice.parts.size).toBe(0);
    const endpoint = fridgeDevice.endpoint;
    expect(await endpoint.getClusterClient(OnOff.Complete)!.attributes.onOff.get(true)).toBe(true);
    const power = endpoint.getClusterClient(ElectricalPowerMeasurement.Complete)!.attributes;
    expect(await power.activePower.get(true)).toBe(5300);
    expect(await power.voltage.get(true)).toBe(233_100);
    expect(await power.activeCurrent.get(true)).toBe(29);
    const energy = endpoint.getClusterClient(ElectricalEnergyMeasurement.Complete)!;
    expect(energy.attributes.featureMap.getLocal()).toMatchObject({ importedEnergy: true, cumulativeEnergy: true });
    const imported = await energy.attributes.cumulativeEnergyImported.get(true);
    expect(Number(imported?.energy)).toBeGreaterThan(0);
  });

  it('comes back after a restart with the same endpoints, without re-registering, and still switches one outlet', { timeout: 60_000 }, async () => {
    const numbers = (found: Map<string, BridgedDevice>) =>
      Object.fromEntries([...found].map(([serial, d]) => [serial, [d.number, ...[...d.parts].sort(([a], [b]) => a.localeCompare(b)).map(([, p]) => p.number)]]));
    const before = numbers(devices);
    await controller.close();
    await hb.stop({ keepStorage: true });

    hb = await Homebridge.start(options);
    await Promise.all(['Strip', 'Fridge'].map((n) => hb.waitForLog(new RegExp(`Attached plugin registration to restored accessory ${n} `), 20_000)));
    expect(hb.logs.some((l) => /changed structure|Unregistered Matter accessory|publishing it again over Matter/.test(l))).toBe(false);

    controller = await MatterController.start(controllerDir, await freePort());
    node = await controller.connect(nodeId);
    devices = await waitForDevices(node, isComposedStrip);
    expect(numbers(devices)).toEqual(before);
    // The cached endpoint holds what the strip last showed.
    expect(await shown()).toEqual(onTheStrip());

    const seen = switchedByRequest(1, true);
    await onOff(1).commands.on();
    await seen;
    expect(onTheStrip()).toEqual({ 1: true, 2: false, 3: true, 4: true });
    expect(hb.logs.join('\n')).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
  });
});
