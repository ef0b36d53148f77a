/**
 * Matter acceptance test: a real Homebridge 2.4 with Matter on loopback, simulated plugs of both firmware families,
 * a real matter.js controller that commissions the bridge, and a real HAP controller on the same bridge.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { BridgedDeviceBasicInformation, ElectricalEnergyMeasurement, ElectricalPowerMeasurement, OnOff } from '@matter/main/clusters';
import type { NodeId } from '@matter/main/types';
import type { PairedNode } from '@project-chip/matter.js/device';
import { SimulatedPlug } from '../../src/simulator';
import { freePort, Homebridge, makeTempDir, randomMac, type HomebridgeOptions } from './homebridge';
import { accessoryBySerial, nextEvent, readOne, TYPES, write, type AccessoryView } from './hap';
import { ELECTRICAL_SENSOR, MatterController, ON_OFF_PLUG_IN_UNIT, outlets, waitForOutlets, type Outlet } from './matter';

const POLL_S = 1;
const ON_OFF_CLUSTER = OnOff.Complete.id;
const BASIC_CLUSTER = BridgedDeviceBasicInformation.Complete.id;
const POWER_CLUSTER = ElectricalPowerMeasurement.Complete.id;

type Command = 'on' | 'off' | 'toggle';

describe('Homebridge 2.4 with Matter: MerossLan outlets', () => {
  let fw2: SimulatedPlug;
  let fw1: SimulatedPlug;
  let options: HomebridgeOptions;
  let hb: Homebridge;
  let hap: HttpClient;
  let views: Map<SimulatedPlug, AccessoryView>;
  let controllerDir: string;
  let controller: MatterController;
  let nodeId: NodeId;
  let node: PairedNode;
  let found: Map<string, Outlet>;

  const outlet = (plug: SimulatedPlug): Outlet => {
    const o = found.get(plug.uuid);
    if (!o) throw new Error(`no Matter outlet with serial ${plug.uuid}`);
    return o;
  };
  const onOff = (plug: SimulatedPlug) => outlet(plug).endpoint.getClusterClient(OnOff.Complete)!;
  const power = (plug: SimulatedPlug) => outlet(plug).endpoint.getClusterClient(ElectricalPowerMeasurement.Complete)!;
  const energy = (plug: SimulatedPlug) => outlet(plug).endpoint.getClusterClient(ElectricalEnergyMeasurement.Complete)!;
  const basic = (plug: SimulatedPlug) => outlet(plug).endpoint.getClusterClient(BridgedDeviceBasicInformation.Complete)!;

  /** Resolves with the first report for `plug`'s endpoint, cluster and attribute whose value `accept`s. */
  const nextReport = (plug: SimulatedPlug, clusterId: number, attribute: string, accept: (v: unknown) => boolean, timeoutMs: number) =>
    new Promise<{ value: unknown; at: number }>((resolve, reject) => {
      const endpoint = outlet(plug).number;
      const listener = (data: { path: { endpointId: number; clusterId: number; attributeName: string }; value: unknown }): void => {
        const { path, value } = data;
        if (Number(path.endpointId) !== endpoint || Number(path.clusterId) !== clusterId || path.attributeName !== attribute || !accept(value)) return;
        clearTimeout(timer);
        node.events.attributeChanged.off(listener);
        resolve({ value, at: performance.now() });
      };
      const timer = setTimeout(() => {
        node.events.attributeChanged.off(listener);
        reject(new Error(`no ${attribute} report for ${plug.uuid} within ${timeoutMs} ms`));
      }, timeoutMs);
      node.events.attributeChanged.on(listener);
    });

  /** The plug's next relay change caused by a request (not by its button). */
  const toggledByRequest = (plug: SimulatedPlug, on: boolean) =>
    new Promise<void>((resolve) => {
      const listener = (e: { on: boolean; source: string }): void => {
        if (e.source !== 'request' || e.on !== on) return;
        plug.off('toggle', listener);
        resolve();
      };
      plug.on('toggle', listener);
    });

  const totalWh = (plug: SimulatedPlug): number => plug.consumption.filter((d) => d.date >= '2000').reduce((s, d) => s + d.value, 0);

  beforeAll(async () => {
    [fw2, fw1] = await Promise.all([
      SimulatedPlug.start({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 }),
      SimulatedPlug.start({ firmware: 1, on: false, watts: 12.3, volts: 238.7, amps: 0.06 }),
    ]);
    options = {
      version: 'v2',
      storageDir: makeTempDir('hb-matter'),
      port: await freePort(),
      // Kept for the restart; random so that parallel runs never share a bridge identity.
      username: randomMac(),
      matter: { port: await freePort() },
      platform: {
        pollInterval: POLL_S,
        energyPollInterval: 2,
        timeout: 1,
        devices: [
          // One known by uuid (published before it answers), one by address only (published on first answer).
          { name: 'Desk lamp', host: fw2.address, key: fw2.key, uuid: fw2.uuid },
          { name: 'Old heater', host: fw1.address, key: fw1.key },
        ],
      },
    };
    hb = await Homebridge.start(options);
    const [code] = await Promise.all([
      hb.waitForLog(/Manual Pairing Code: (\d{4}-\d{3}-\d{4})/).then((m) => m[1]),
      hb.waitForLog(/Desk lamp: added to Matter/),
      hb.waitForLog(/Old heater: added to Matter/),
    ]);
    controllerDir = makeTempDir('matter-controller');
    controller = await MatterController.start(controllerDir, await freePort());
    nodeId = await controller.commission(code, options.matter!.port);
    node = await controller.connect(nodeId);
    found = await waitForOutlets(node, 2);
    hap = await hb.pair();
    views = new Map();
    for (const plug of [fw2, fw1]) views.set(plug, await accessoryBySerial(hap, plug.uuid));
  });

  afterAll(async () => {
    await controller?.close();
    await hap?.close();
    await hb?.stop();
    await Promise.all([fw2, fw1].map((p) => p?.stop()));
    if (controllerDir) rmSync(controllerDir, { recursive: true, force: true });
  });

  it('publishes each plug as an on/off plug-in unit with electrical sensing and the plug as serial number', async () => {
    expect([...found.keys()].sort()).toEqual([fw2.uuid, fw1.uuid].sort());
    for (const [plug, name] of [
      [fw2, 'Desk lamp'],
      [fw1, 'Old heater'],
    ] as const) {
      expect(outlet(plug).deviceTypes).toEqual(expect.arrayContaining([ON_OFF_PLUG_IN_UNIT, ELECTRICAL_SENSOR]));
      const info = basic(plug).attributes;
      expect(await info.nodeLabel.get(true)).toBe(name);
      expect(await info.vendorName.get(true)).toBe('Meross');
      expect(await info.productName.get(true)).toBe('MSS310');
      expect(await info.reachable.get(true)).toBe(true);
    }
    expect(await basic(fw1).attributes.softwareVersionString.get(true)).toBe('1.1.18');
    const features = power(fw2).attributes.featureMap.getLocal();
    expect(features).toMatchObject({ alternatingCurrent: true });
    expect(energy(fw2).attributes.featureMap.getLocal()).toMatchObject({ importedEnergy: true, cumulativeEnergy: true });
  });

  it('reports on/off, power, voltage, current and lifetime energy in cluster units (mW, mV, mA, mWh)', async () => {
    for (const plug of [fw2, fw1]) {
      const r = plug.readings;
      // What the plug's own Electricity reply carries: mW, deci-volts, mA.
      const raw = { power: Math.round(r.watts * 1000), voltage: Math.round(r.volts * 10), current: Math.round(r.amps * 1000) };
      expect(await onOff(plug).attributes.onOff.get(true)).toBe(plug.isOn);
      const p = power(plug).attributes;
      expect(await p.activePower.get(true)).toBe(raw.power);
      const mV = Number(await p.voltage.get(true));
      expect(mV).toBe(raw.voltage * 100);
      expect(mV / 1000).toBeGreaterThan(100);
      expect(mV / 1000).toBeLessThan(260);
      expect(await p.activeCurrent.get(true)).toBe(raw.current);
      const imported = await energy(plug).attributes.cumulativeEnergyImported.get(true);
      const mWh = Number(imported?.energy);
      // The meter keeps counting between the plugin's energy reads, by at most a Wh or two here.
      expect(mWh).toBeGreaterThan(0);
      expect(mWh).toBeLessThanOrEqual(totalWh(plug) * 1000);
      expect(mWh).toBeGreaterThanOrEqual((totalWh(plug) - 2) * 1000);
    }
    expect(await power(fw1).attributes.activePower.get(true)).toBe(0); // fw1 is off
  });

  it('switches the plug from Matter on, off and toggle, and HomeKit sees each change', async () => {
    const hapIds = [fw2, fw1].map((plug) => views.get(plug)!.id(TYPES.Outlet, TYPES.On));
    // One subscription for both: hap-controller 0.10.2 spins forever when one connection subscribes twice.
    await hap.subscribeCharacteristics(hapIds);
    for (const [plug, namespace] of [
      [fw2, 'Appliance.Control.ToggleX'],
      [fw1, 'Appliance.Control.Toggle'],
    ] as const) {
      const hapId = views.get(plug)!.id(TYPES.Outlet, TYPES.On);
      const afterToggle = !plug.isOn;
      const sequence: Command[] = ['toggle', afterToggle ? 'off' : 'on', afterToggle ? 'on' : 'off'];
      for (const command of sequence) {
        const target = command === 'toggle' ? !plug.isOn : command === 'on';
        const requests = plug.requests.length;
        const seen = toggledByRequest(plug, target);
        const homekit = nextEvent(hap, hapId, (v) => Boolean(v) === target, 3000);
        await onOff(plug).commands[command]();
        await seen;
        expect(plug.isOn, command).toBe(target);
        expect(plug.requests.slice(requests).some((r) => r.method === 'SET' && r.namespace === namespace)).toBe(true);
        expect(Boolean((await homekit).value)).toBe(target);
        expect(await onOff(plug).attributes.onOff.get(true)).toBe(target);
        // Switched off, the power drops to 0 at once (sent after the command, not from inside it).
        if (!target && power(plug).attributes.activePower.getLocal() !== 0) await nextReport(plug, POWER_CLUSTER, 'activePower', (v) => v === 0, 1000);
      }
    }
    await hap.unsubscribeCharacteristics(hapIds);
  });

  it('turns a press of the plug button into a Matter report within one poll interval', async () => {
    const before = fw2.isOn;
    const report = nextReport(fw2, ON_OFF_CLUSTER, 'onOff', (v) => v === !before, (POLL_S + 1) * 1000 + 500);
    const pressedAt = performance.now();
    fw2.press();
    const { at } = await report;
    // One poll interval plus the plugin's request round trip; Matter reports at once (minimum interval 0).
    expect(at - pressedAt).toBeLessThan(POLL_S * 1000 + 750);
    expect(await onOff(fw2).attributes.onOff.get(true)).toBe(!before);
  });

  it('keeps Matter energy when HomeKit resets the Eve total (cumulative energy never goes down)', async () => {
    const before = Number((await energy(fw2).attributes.cumulativeEnergyImported.get(true))?.energy);
    const view = views.get(fw2)!;
    expect(await write(hap, view.id(TYPES.Outlet, TYPES.EveResetTotal), 1)).toBe(0);
    expect((await readOne(hap, view.id(TYPES.Outlet, TYPES.EveTotal))).value).toBeLessThan(0.01);
    const after = Number((await energy(fw2).attributes.cumulativeEnergyImported.get(true))?.energy);
    expect(after).toBeGreaterThanOrEqual(before);
  });

  it('reports an unreachable plug (Reachable false, no measurements, commands fail) and its return', async () => {
    const unreachable = nextReport(fw1, BASIC_CLUSTER, 'reachable', (v) => v === false, 5000);
    await fw1.setFault({ type: 'offline' });
    await unreachable;
    expect(await basic(fw1).attributes.reachable.get(true)).toBe(false);
    expect(await power(fw1).attributes.activePower.get(true)).toBeNull();
    // The controller gets status FAILURE (1), and the endpoint keeps the last state the plug confirmed.
    const wasOn = fw1.isOn;
    await expect(onOff(fw1).commands.toggle()).rejects.toThrow(/non-success result: 1$/);
    expect(await onOff(fw1).attributes.onOff.get(true)).toBe(wasOn);
    // The other plug is not affected.
    expect(await basic(fw2).attributes.reachable.get(true)).toBe(true);

    const back = nextReport(fw1, BASIC_CLUSTER, 'reachable', (v) => v === true, (POLL_S + 3) * 1000);
    await fw1.setFault(null);
    await back;
    expect(await power(fw1).attributes.voltage.get(true)).toBe(Math.round(fw1.readings.volts * 10) * 100);
    expect(await onOff(fw1).attributes.onOff.get(true)).toBe(fw1.isOn);
  });

  it('comes back after a restart on the same endpoints, without commissioning again, and still takes commands', { timeout: 60_000 }, async () => {
    const before = new Map([...found].map(([serial, o]) => [serial, o.number]));
    const fabricsBefore = hb.logs.filter((l) => /Fabric added/.test(l)).length;
    expect(fabricsBefore).toBe(1);
    await hap.close();
    // The controller goes down too (a hub restarting alongside), so it holds no session the new process cannot know.
    await controller.close();
    await hb.stop({ keepStorage: true });

    hb = await Homebridge.start(options);
    // Homebridge rebuilt both endpoints from its cache and the plugin attached to them: nothing was registered anew.
    await Promise.all(['Desk lamp', 'Old heater'].map((n) => hb.waitForLog(new RegExp(`Attached plugin registration to restored accessory ${n} `))));
    expect(hb.logs.some((l) => /Restored 2 cached Matter accessories/.test(l))).toBe(true);

    controller = await MatterController.start(controllerDir, await freePort());
    expect(controller.controller.getCommissionedNodes()).toEqual([nodeId]);
    node = await controller.connect(nodeId);
    // Read over the network at the old endpoint numbers: each still holds the same plug.
    const byNumber = new Map([...outlets(node).values()].map((o) => [o.number, o.endpoint]));
    for (const [serial, number] of before) {
      const endpoint = byNumber.get(number);
      const label = await endpoint?.getClusterClient(BridgedDeviceBasicInformation.Complete)?.attributes.serialNumber.get(true);
      expect(label, `endpoint ${number}`).toBe(serial);
    }
    found = outlets(node);
    expect(new Map([...found].map(([serial, o]) => [serial, o.number]))).toEqual(before);
    expect(hb.logs.some((l) => /Fabric added|changed structure|Unregistered Matter accessory/.test(l))).toBe(false);

    const target = !fw2.isOn;
    const seen = toggledByRequest(fw2, target);
    await onOff(fw2).commands.toggle();
    await seen;
    expect(fw2.isOn).toBe(target);
    const commissioning = JSON.parse(readFileSync(join(options.storageDir!, 'matter', options.username!.replace(/:/g, ''), 'commissioning.json'), 'utf8')) as { commissioned?: boolean };
    expect(commissioning.commissioned).toBe(true);
  });

  it('logs no crash or unhandled rejection', () => {
    const text = hb.logs.join('\n');
    expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
  });
});
