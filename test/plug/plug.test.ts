import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MerossClient } from '../../src/meross/client';
import { plugRig } from './rig';

const { setup } = plugRig({ name: 'Test plug', pollIntervalMs: 1000, energyPollIntervalMs: 1000, timeoutMs: 500, outletInUseWatts: 2 });
afterEach(() => {
  vi.useRealTimers();
});

describe('Plug model', () => {
  it('learns identity, state and readings in one cycle, and reports only what changed', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    const updates: Array<Record<string, unknown>> = [];
    plug.on('update', (c) => updates.push(c));
    await plug.pollNow();
    expect(plug.reachability).toBe('online');
    expect(plug.uuid).toBe(sim.uuid);
    expect(plug.info?.firmwareVersion).toBe('2.1.17');
    expect(plug.snapshot).toMatchObject({ on: true, inUse: true, watts: 61.5, volts: 231.2, amps: 0.27 });
    expect(plug.snapshot.totalKWh).toBeGreaterThan(0);
    updates.length = 0;
    await plug.pollNow();
    // Nothing changed on the plug (energy read is not due again yet): no update at all.
    expect(updates).toEqual([]);
    sim.setReadings({ watts: 1.5 });
    await plug.pollNow();
    expect(updates).toEqual([{ watts: 1.5, inUse: false }]);
  });

  it('polls a firmware 2 plug with one batched request and a firmware 1 plug with two', async () => {
    const v2 = await setup({ firmware: 2 });
    await v2.plug.pollNow();
    const v1 = await setup({ firmware: 1 });
    await v1.plug.pollNow();
    const mark2 = v2.sim.requests.length;
    const mark1 = v1.sim.requests.length;
    await Promise.all([v2.plug.pollNow(), v1.plug.pollNow()]);
    expect(v2.sim.requests.slice(mark2).map((r) => r.namespace)).toEqual(['Appliance.Control.Multiple']);
    expect(v1.sim.requests.slice(mark1).map((r) => r.namespace)).toEqual(['Appliance.Control.Toggle', 'Appliance.Control.Electricity']);
  });

  it('sends a write immediately and confirms it from the reply', async () => {
    const { sim, plug } = await setup({ firmware: 1, on: false });
    await plug.pollNow();
    await plug.setOn(true);
    expect(sim.isOn).toBe(true);
    expect(plug.snapshot.on).toBe(true);
    expect(sim.requests.at(-1)).toMatchObject({ namespace: 'Appliance.Control.Toggle', method: 'SET' });
  });

  it('collapses a burst of writes to the last one (last writer wins)', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: false });
    await plug.pollNow();
    const mark = sim.requests.length;
    await sim.setFault({ type: 'delay', ms: 100 });
    const writes = [plug.setOn(true), plug.setOn(false), plug.setOn(true), plug.setOn(false)];
    await Promise.all(writes);
    const sets = sim.requests.slice(mark).filter((r) => r.method === 'SET');
    // The first goes out at once; the three queued behind it collapse into the newest.
    expect(sets.map((r) => (r.payload as { togglex: { onoff: number } }).togglex.onoff)).toEqual([1, 0]);
    expect(sim.isOn).toBe(false);
    expect(plug.snapshot.on).toBe(false);
  });

  it('does not let a poll that started before a write undo it', async () => {
    const { sim, plug } = await setup({ firmware: 1, on: false });
    await plug.pollNow();
    // fw 1 polls with two requests; the write slips in between them, after the old state was read.
    const pollStarted = new Promise<void>((resolve) => sim.once('request', () => resolve()));
    const poll = plug.pollNow();
    await pollStarted;
    const write = plug.setOn(true);
    await Promise.all([poll, write]);
    expect(sim.isOn).toBe(true);
    expect(plug.snapshot.on).toBe(true);
  });

  it('rejects a failed write and keeps the confirmed state', async () => {
    const { sim, plug, log } = await setup({ firmware: 2, on: false });
    await plug.pollNow();
    await sim.setFault({ type: 'offline' });
    await expect(plug.setOn(true)).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(plug.snapshot.on).toBe(false);
    expect(log.lines.some(([l, m]) => l === 'warn' && m.includes('could not switch on'))).toBe(true);
  });

  it('goes offline once a poll and its retry fail, logs once per change, and recovers on the next good poll', async () => {
    const { sim, plug, log } = await setup({ firmware: 2 });
    const states: string[] = [];
    plug.on('reachability', (s) => states.push(s));
    await plug.pollNow();
    await sim.setFault({ type: 'offline' });
    await plug.pollNow();
    await plug.pollNow();
    expect(plug.reachable).toBe(false);
    expect(log.lines.filter(([, m]) => m.includes('cannot connect'))).toHaveLength(1);
    await sim.setFault(null);
    await plug.pollNow();
    expect(states).toEqual(['online', 'offline', 'online']);
    expect(log.lines.filter(([, m]) => m.includes('back online'))).toHaveLength(1);
  });

  it('treats a timeout like an outage, within the configured timeout', async () => {
    const { sim, plug } = await setup({ firmware: 2 }, { timeoutMs: 200 });
    await plug.pollNow();
    await sim.setFault({ type: 'hang' });
    const mark = sim.requests.length;
    // The request timer runs on a fake clock that only this test moves: a busy machine cannot make it fire late.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let done = false;
    const arrived = once(sim, 'request');
    const poll = plug.pollNow().finally(() => (done = true));
    await arrived;
    await vi.advanceTimersByTimeAsync(199);
    expect(done, 'still waiting just before the timeout').toBe(false);
    expect(plug.reachability).toBe('online');
    await vi.advanceTimersByTimeAsync(1);
    await poll;
    expect(plug.lastError?.code).toBe('TIMEOUT');
    expect(plug.reachability).toBe('offline');
    // The batched poll is a SET on the wire (Multiple), so it is not retried: one attempt, one timeout.
    expect(sim.requests.slice(mark).map((r) => r.namespace)).toEqual(['Appliance.Control.Multiple']);
  });

  it('names the plug and the fix for a wrong key, without the key', async () => {
    const { plug, log } = await setup({ firmware: 2 }, { key: 'secret-wrong-key' });
    await plug.pollNow();
    await plug.pollNow();
    const errors = log.lines.filter(([l]) => l === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0][1]).toMatch(/^Test plug: .* rejected the device key .*Set the right key/);
    expect(JSON.stringify(log.lines)).not.toContain('secret-wrong-key');
    expect(plug.reachable).toBe(false);
  });

  it('refuses to control a different plug answering at the configured address', async () => {
    const { sim, plug, log } = await setup({ firmware: 2 });
    await plug.pollNow();
    await sim.setFault({ type: 'wrong-uuid' });
    await plug.pollNow();
    expect(plug.lastError?.code).toBe('WRONG_DEVICE');
    expect(plug.reachable).toBe(false);
    const mark = sim.requests.length;
    const shown = plug.snapshot.on;
    await expect(plug.setOn(!sim.isOn)).rejects.toMatchObject({ code: 'WRONG_DEVICE' });
    expect(log.lines.some(([l, m]) => l === 'error' && m.includes('a different Meross device'))).toBe(true);
    // The model sends the SET (the check is on the reply; the adapters ask switchRefusal first), exactly once,
    // and never believes its outcome.
    expect(sim.requests.slice(mark).map((r) => [r.method, r.namespace])).toEqual([['SET', 'Appliance.Control.ToggleX']]);
    expect(plug.snapshot.on).toBe(shown);
  });

  it('warns once about an unset plug clock and invents no energy from it', async () => {
    const { sim, plug, log } = await setup({ firmware: 2 });
    await sim.setFault({ type: 'unsynced-clock' });
    await plug.pollNow();
    await plug.pollNow();
    expect(log.lines.filter(([l, m]) => l === 'warn' && m.includes('clock is not set'))).toHaveLength(1);
    expect(plug.snapshot.totalKWh).toBe(0);
    expect(plug.snapshot.watts).toBe(0);
  });

  it('starts from restored values before the plug has answered', async () => {
    const { plug } = await setup({ firmware: 2 }, { restored: { on: true, watts: 42, totalKWh: 1.5 } });
    expect(plug.reachability).toBe('unknown');
    expect(plug.reachable).toBe(true);
    expect(plug.snapshot).toMatchObject({ on: true, watts: 42, totalKWh: 1.5 });
  });

  it('says nothing and changes nothing for a poll still on the wire when it is stopped (Homebridge shutting down)', async () => {
    const { sim, plug, log } = await setup({ firmware: 2, on: true });
    await plug.pollNow();
    await sim.setFault({ type: 'offline' });
    await plug.pollNow();
    expect(plug.reachability).toBe('offline');
    const said = log.lines.length;
    await sim.setFault({ type: 'delay', ms: 300 });
    const arrived = once(sim, 'request');
    const inFlight = plug.pollNow();
    await arrived;
    await plug.stop();
    await inFlight;
    expect(plug.reachability).toBe('offline');
    expect(log.lines.slice(said)).toEqual([]);
  });

  it('spreads the first meter read of plugs started together over the first minute, then reads it every interval', async () => {
    const clock = { ms: Date.UTC(2026, 5, 10, 12) };
    const now = (): number => clock.ms;
    const { sim, plug } = await setup({ firmware: 2, on: true, now }, { now, pollIntervalMs: 30_000, energyPollIntervalMs: 300_000 });
    const meterReads = (): number => sim.requests.filter((r) => r.namespace === 'Appliance.Control.ConsumptionX').length;
    // Half-way through the spread: the first read is due 30 s after the start.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    plug.start();
    random.mockRestore();
    await once(plug, 'reachability');
    await plug.pollNow();
    expect(meterReads()).toBe(0);
    clock.ms += 29_000;
    await plug.pollNow();
    expect(meterReads()).toBe(0);
    clock.ms += 2_000;
    await plug.pollNow();
    expect(meterReads()).toBe(1);
    clock.ms += 299_000;
    await plug.pollNow();
    expect(meterReads()).toBe(1);
    clock.ms += 1_000;
    await plug.pollNow();
    expect(meterReads()).toBe(2);
    await plug.stop();
  });

  it('turns the status LED as configured, only when the plug has it otherwise, and again a day after the app changed it', async () => {
    const clock = { ms: Date.UTC(2026, 5, 10, 12) };
    const now = (): number => clock.ms;
    const { sim, plug, log } = await setup({ firmware: 2, now }, { now, led: false, infoIntervalMs: 60_000 });
    const ledSets = (): number => sim.requests.filter((r) => r.namespace === 'Appliance.System.DNDMode' && r.method === 'SET').length;
    const reader = new MerossClient({ host: sim.address, key: sim.key, retries: 0 });
    expect(await reader.ledOn()).toBe(true);
    await plug.pollNow();
    expect(await reader.ledOn()).toBe(false);
    expect(ledSets()).toBe(1);
    expect(log.lines.filter(([, m]) => /turned the status LED off, as configured/.test(m))).toHaveLength(1);
    // Someone turns it back on in the Meross app; the plugin looks again once a day, not at every info read.
    await reader.setLed(true);
    clock.ms += 3_600_000;
    await plug.pollNow();
    expect(await reader.ledOn()).toBe(true);
    clock.ms += 86_400_000;
    await plug.pollNow();
    expect(await reader.ledOn()).toBe(false);
    expect(ledSets()).toBe(3);
  });

  it("uses this plug's own Outlet In Use threshold", async () => {
    const { sim, plug } = await setup({ firmware: 2, on: true, watts: 2.5 }, { outletInUseWatts: 3 });
    await plug.pollNow();
    expect(plug.snapshot.inUse).toBe(false);
    sim.setReadings({ watts: 3.5 });
    await plug.pollNow();
    expect(plug.snapshot.inUse).toBe(true);
  });

  it('counts the total from an Eve reset', async () => {
    // Off, so the simulated meter only moves when the test says so; every poll reads the meter. A fixed noon clock:
    // the 250 Wh below land on a day already being counted, never on the first reading of a new plug day, whose
    // figure the plugin rightly judges against the power (0 W here).
    const clock = { ms: Date.UTC(2026, 5, 10, 12) };
    const now = (): number => clock.ms;
    const { sim, plug } = await setup({ firmware: 2, on: false, now }, { energyPollIntervalMs: 0, now });
    await plug.pollNow();
    const lifetime = plug.snapshot.lifetimeKWh;
    expect(plug.snapshot.totalKWh).toBeGreaterThan(0);
    await plug.resetTotal(1_800_000_000);
    expect(plug.snapshot).toMatchObject({ totalKWh: 0, resetTime: 1_800_000_000 });
    clock.ms += 60_000;
    const today = sim.consumption.reduce((a, b) => (b.date > a.date ? b : a));
    sim.consumption = sim.consumption.map((d) => (d === today ? { ...d, value: d.value + 250 } : d));
    await plug.pollNow();
    expect(plug.snapshot.totalKWh).toBeCloseTo(0.25, 6);
    // Matter's counter ignores the reset and keeps growing.
    expect(plug.snapshot.lifetimeKWh).toBeCloseTo(lifetime + 0.25, 6);
    expect(plug.persisted).toMatchObject({ resetTime: 1_800_000_000 });
  });

  it('reads the relay at once after a write whose answer was lost, instead of waiting for the next poll', async () => {
    const { sim, plug } = await setup({ firmware: 2, on: false }, { pollIntervalMs: 60_000 });
    await plug.pollNow();
    // every-other drops the next request (the SET, after the plug acted on it) and answers the one after.
    await sim.setFault({ type: 'every-other' });
    // Started in the same tick as the write: the scheduler's first poll is a timer, so the SET goes out first.
    // Its random start offset is pinned to the top (≈1 s), and its timers run on a fake clock that only this test
    // moves, so that only the fix can explain a re-read.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    plug.start();
    random.mockRestore();
    const corrected = new Promise<void>((resolve) => {
      const onUpdate = (changes: { on?: boolean }): void => {
        if (changes.on === true) {
          plug.off('update', onUpdate);
          resolve();
        }
      };
      plug.on('update', onUpdate);
    });
    const mark = sim.requests.length;
    await expect(plug.setOn(true)).rejects.toMatchObject({ code: 'CONNECTION_DROPPED' });
    expect(sim.isOn).toBe(true);
    // One fake millisecond, far short of the ≈1 s the first scheduled poll waits: only a re-read asked for at once runs.
    await vi.advanceTimersByTimeAsync(1);
    await corrected;
    expect(plug.snapshot.on).toBe(true);
    expect(sim.requests.slice(mark).map((r) => [r.method, r.namespace])).toEqual([
      ['SET', 'Appliance.Control.ToggleX'],
      ['SET', 'Appliance.Control.Multiple'],
    ]);
  });
});
