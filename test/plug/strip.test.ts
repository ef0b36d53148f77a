/**
 * A power strip through the real plug model and the simulated MSS425E (master channel 0, outlets 1..3, USB on 4;
 * src/simulator/profiles/strip.ts, built from MerossIot and homebridge-meross): which outlets it has, that each
 * switches alone, that the master switches them all, that presses show on the right outlet, and what a restart
 * remembers. Over-temperature reports of the MSS305 are here too, as they are also about what the plug says.
 */
import { describe, expect, it, vi } from 'vitest';
import { OVERTEMP } from '../../src/meross/namespaces';
import { outletChannels, outletName, restoredOutlets } from '../../src/plug/outlets';
import { Plug } from '../../src/plug/plug';
import type { SimulatedPlug } from '../../src/simulator';
import { captureLog, type CapturedLog } from './capture-log';
import { plugRig } from './rig';

const { setup, track } = plugRig({ name: 'Desk strip', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 1000, outletInUseWatts: 2 });

/** Each outlet of the simulated strip, as the strip itself has it. */
const simOutlets = (sim: SimulatedPlug): boolean[] => [1, 2, 3, 4].map((c) => sim.channelOn(c));

describe('outlet channels', () => {
  it('a single relay is the outlet; a strip lists its master beside its outlets, and the master is not one of them', () => {
    expect(outletChannels([0])).toEqual([0]);
    expect(outletChannels([])).toEqual([0]);
    expect(outletChannels([0, 1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
    expect(outletChannels([3, 1, 2, 1])).toEqual([1, 2, 3]);
    expect(outletName(2, undefined)).toBe('Outlet 2');
    expect(outletName(4, { name: ' ', usb: true })).toBe('USB');
    expect(outletName(1, { name: ' Lamp ', usb: false })).toBe('Lamp');
    expect(restoredOutlets({ 1: true, 2: false })).toEqual(new Map([[1, true], [2, false]]));
    for (const bad of [undefined, null, [], { a: true }, { 1: 'yes' }, {}]) expect(restoredOutlets(bad)).toBeUndefined();
  });
});

describe('a strip through the plug model (simulated MSS425E)', () => {
  it('learns its outlets from the first answer and reads them all with one System.All per poll', async () => {
    const { sim, plug, log } = await setup({ model: 'mss425e', on: false });
    expect(sim.channels).toEqual([0, 1, 2, 3, 4]);
    const shapes: Array<readonly number[]> = [];
    plug.on('outlets', (c) => shapes.push(c));
    sim.setOn(true, 2);
    await plug.pollNow();
    expect(shapes).toEqual([[1, 2, 3, 4]]);
    // The System.All that told the outlets also served the poll (Runtime: the Wi-Fi signal of the start line).
    expect(sim.requests.map((r) => `${r.method} ${r.namespace}`)).toEqual(['GET Appliance.System.Ability', 'GET Appliance.System.All', 'GET Appliance.System.Runtime']);
    expect(plug.isStrip).toBe(true);
    expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual(simOutlets(sim));
    // The master reads on while an outlet is on.
    expect(plug.snapshot.on).toBe(true);
    expect(log.lines.filter(([, m]) => /MSS425E hardware/.test(m)).map(([, m]) => m)).toEqual([expect.stringContaining('4 outlets')]);

    const mark = sim.requests.length;
    await plug.pollNow();
    // The strip does not list every channel in a ToggleX GET (meross_lan issue #33): System.All does.
    expect(sim.requests.slice(mark).map((r) => `${r.method} ${r.namespace}`)).toEqual(['GET Appliance.System.All']);
  });

  it('switches one outlet alone, and the master switches every outlet', async () => {
    const { sim, plug } = await setup({ model: 'mss425e', on: false });
    await plug.pollNow();
    const events: Array<[number, boolean]> = [];
    plug.on('outlet', (c, on) => events.push([c, on]));

    await plug.setOn(true, 3);
    expect(simOutlets(sim)).toEqual([false, false, true, false]);
    expect(events).toEqual([[3, true]]);
    expect(plug.snapshot.on).toBe(true);
    const set = sim.requests.filter((r) => r.method === 'SET').at(-1);
    expect(set?.payload).toEqual({ togglex: { channel: 3, onoff: 1 } });

    await plug.setOn(true, 1);
    await plug.setOn(false, 3);
    expect(simOutlets(sim)).toEqual([true, false, false, false]);
    expect(plug.snapshot.on).toBe(true);

    await plug.setOn(false, 0);
    expect(simOutlets(sim)).toEqual([false, false, false, false]);
    expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual([false, false, false, false]);
    expect(plug.snapshot.on).toBe(false);
    await plug.setOn(true, 0);
    expect(simOutlets(sim)).toEqual([true, true, true, true]);
    expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual([true, true, true, true]);
  });

  it('shows a button press on the outlet that was pressed, and on no other', async () => {
    const { sim, plug } = await setup({ model: 'mss425e', on: false });
    await plug.pollNow();
    const events: Array<[number, boolean]> = [];
    plug.on('outlet', (c, on) => events.push([c, on]));
    sim.press(2);
    await plug.pollNow();
    expect(events).toEqual([[2, true]]);
    sim.press(4);
    sim.press(2);
    await plug.pollNow();
    expect(events).toEqual([
      [2, true],
      [2, false],
      [4, true],
    ]);
  });

  it('concurrent writes to different outlets all land; writes to one outlet collapse to the newest', async () => {
    const { sim, plug } = await setup({ model: 'mss425e', on: false });
    await plug.pollNow();
    await Promise.all([plug.setOn(true, 1), plug.setOn(true, 2), plug.setOn(false, 1), plug.setOn(true, 1), plug.setOn(true, 4)]);
    expect(simOutlets(sim)).toEqual([true, true, false, true]);
    expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual(simOutlets(sim));
  });

  it('a restart shows the remembered outlets before the strip answers, and keeps them in its cache form', async () => {
    const first = await setup({ model: 'mss425e', on: false });
    await first.plug.pollNow();
    await first.plug.setOn(true, 2);
    const saved = first.plug.persistedOutlets;
    expect(saved).toEqual({ 1: false, 2: true, 3: false, 4: false });
    const again = new Plug({ ...first.plug.options, restoredOutlets: JSON.parse(JSON.stringify(saved)) as unknown });
    track(again);
    expect(again.isStrip).toBe(true);
    expect(again.outlets).toEqual([1, 2, 3, 4]);
    expect(again.outletOn(2)).toBe(true);
    const shapes: Array<readonly number[]> = [];
    again.on('outlets', (c) => shapes.push(c));
    await again.pollNow();
    // Nothing changed in shape: no re-publishing.
    expect(shapes).toEqual([]);
  });

  it('a push of the master alone: off turns every outlet off; on reads the strip again to learn which', async () => {
    // An hour between polls: only the push itself can make the plug read the strip again within this test.
    const { sim, plug } = await setup({ model: 'mss425e', on: false }, { pollIntervalMs: 3_600_000 });
    const reads = (): number => sim.requests.filter((r) => r.namespace === 'Appliance.System.All').length;
    plug.start();
    // The first poll lands within a second of start (a random offset); generous waits, as a busy machine is slow.
    await vi.waitFor(() => expect(reads()).toBe(1), { timeout: 10_000 });
    await plug.setOn(true, 1);
    await plug.setOn(true, 3);
    plug.applyPush('Appliance.Control.ToggleX', { togglex: [{ channel: 0, onoff: 0, lmTime: 1 }] });
    expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual([false, false, false, false]);
    expect(plug.snapshot.on).toBe(false);
    expect(reads()).toBe(1);
    // Switched on at the strip: all outlets, as the master does; the push names only channel 0.
    sim.setOn(true, 0);
    plug.applyPush('Appliance.Control.ToggleX', { togglex: [{ channel: 0, onoff: 1, lmTime: 2 }] });
    await vi.waitFor(() => expect(plug.outlets.map((c) => plug.outletOn(c))).toEqual([true, true, true, true]), { timeout: 10_000 });
    expect(reads()).toBe(2);
  });

  it('a single plug wrongly cached as a strip becomes one outlet again', async () => {
    const { plug } = await setup({ firmware: 2, on: true }, { restoredOutlets: { 1: true, 2: false } });
    expect(plug.isStrip).toBe(true);
    const shapes: Array<readonly number[]> = [];
    plug.on('outlets', (c) => shapes.push(c));
    await plug.pollNow();
    expect(shapes).toEqual([[0]]);
    expect(plug.isStrip).toBe(false);
    expect(plug.persistedOutlets).toBeUndefined();
    expect(plug.outletOn(0)).toBe(true);
  });

  it('a plug without a meter is in use whenever it is on; a metering one by its threshold', async () => {
    const plain = await setup({ model: 'mss210', on: true });
    await plain.plug.pollNow();
    expect(plain.plug.snapshot.inUse).toBe(true);
    const strip = await setup({ model: 'mss425e', on: false });
    await strip.plug.pollNow();
    await strip.plug.setOn(true, 1);
    expect(strip.plug.snapshot).toMatchObject({ on: true, inUse: true });
    const metered = await setup({ firmware: 2, on: true, watts: 1 });
    await metered.plug.pollNow();
    expect(metered.plug.snapshot.inUse).toBe(false);
  });
});

describe('over-temperature (simulated MSS305)', () => {
  const lines = (log: CapturedLog, re: RegExp): string[] => log.lines.filter(([, m]) => re.test(m)).map(([level, m]) => `${level}: ${m}`);

  it('reads it with the System info, says nothing while normal, and one line per change', async () => {
    const { sim, plug, log } = await setup({ model: 'mss305', on: true, watts: 900 }, { infoIntervalMs: 0 });
    await plug.pollNow();
    expect(sim.requests.filter((r) => r.namespace === OVERTEMP).map((r) => r.payload)).toEqual([{ overTemp: [{ channel: 0 }] }]);
    expect(lines(log, /hot|temperature/)).toEqual([]);
    sim.setOverTemp(true, 'early-warning');
    await plug.pollNow();
    await plug.pollNow();
    expect(lines(log, /hot|temperature/)).toEqual([expect.stringMatching(/^warn: Desk strip: the plug reports it is getting too hot/)]);
    sim.setOverTemp(true, 'shutoff-relay');
    await plug.pollNow();
    expect(sim.isOn).toBe(false);
    expect(plug.snapshot.on).toBe(false);
    sim.setOverTemp(false);
    await plug.pollNow();
    expect(lines(log, /hot|temperature/)).toEqual([
      expect.stringMatching(/^warn: .*getting too hot/),
      expect.stringMatching(/^warn: Desk strip: the plug is too hot and switched itself off/),
      'info: Desk strip: the plug\'s temperature is back to normal.',
    ]);
  });

  it('takes what the plug reports by itself (a push) the same way, and ignores a malformed one', () => {
    const log = captureLog();
    const plug = new Plug({ host: '127.0.0.1:1', key: 'k', name: 'Heater', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 100, outletInUseWatts: 2, log });
    track(plug);
    plug.applyPush(OVERTEMP, { overTemp: { value: 1, type: 2, timestamp: 1 } });
    plug.applyPush(OVERTEMP, { overTemp: { value: 7 } });
    plug.applyPush(OVERTEMP, { overTemp: { value: 1, type: 2, timestamp: 2 } });
    plug.applyPush(OVERTEMP, { overTemp: [{ channel: 0, value: 2, type: 1, timestamp: 3 }] });
    expect(lines(log, /hot|temperature/)).toEqual([expect.stringMatching(/^warn: Heater: the plug is too hot and switched itself off/), "info: Heater: the plug's temperature is back to normal."]);
    expect(lines(log, /ignored/)).toEqual([expect.stringMatching(/^debug: Heater: ignored a Appliance.Control.OverTemp push: overTemp.value is 7/)]);
  });
});
