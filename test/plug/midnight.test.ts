/**
 * Energy across the plug's own midnight, through the real plug model and a real simulated plug on loopback, with one
 * injected clock for both. The simulator's firmwares (reset, carry once, cumulative; zones; clocks) come from the
 * traces and from meross_lan's reports (consumption.ts), not from the plugin's code; the expected figures come from
 * physics: the simulated load × the time it was on.
 *
 * `npm test` runs this file under several host time zones (vitest.config.mts), with plugs in other zones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Plug, type PlugOptions } from '../../src/plug/plug';
import { captureLog, type CapturedLog } from './capture-log';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';

const MINUTE = 60_000;
const POLL_MS = 30_000;
const ENERGY_MS = 5 * MINUTE;

/** Wall-clock reading of `ms` in `zone`, by Intl on its own (not the plugin's offset arithmetic). */
function wall(zone: string, ms: number): { date: string; hm: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone || 'UTC',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string): string => parts.find((p) => p.type === t)!.value;
  return { date: `${get('year')}-${get('month')}-${get('day')}`, hm: `${get('hour')}:${get('minute')}` };
}

/** The first instant at or after `fromMs` (whole minutes) when the wall clock in `zone` reads `hm`. */
function nextWallTime(zone: string, fromMs: number, hm: string): number {
  let t = Math.ceil(fromMs / MINUTE) * MINUTE;
  for (let i = 0; i < 3 * 1440; i++, t += MINUTE) if (wall(zone, t).hm === hm) return t;
  throw new Error(`${hm} never comes in ${zone}`);
}

const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Rig {
  clock: { ms: number };
  sim: SimulatedPlug;
  plug: Plug;
  log: CapturedLog;
  storageDir: string;
  /** Polls every 30 s of the shared clock until `untilMs`, as the scheduler would. */
  run(untilMs: number): Promise<void>;
  /** Watt-hours the simulated load used between two clock readings while on (physics, not the meter). */
  lifetimeWh(): number;
  newPlug(opts?: Partial<PlugOptions>): Plug;
}

async function rig(startMs: number, simOptions: SimulatorOptions, plugOptions: Partial<PlugOptions> = {}): Promise<Rig> {
  const clock = { ms: startMs };
  const now = (): number => clock.ms;
  const sim = await SimulatedPlug.start({ on: true, watts: 600, now, ...simOptions });
  sims.push(sim);
  const storageDir = mkdtempSync(join(tmpdir(), 'midnight-'));
  dirs.push(storageDir);
  const log = captureLog();
  const newPlug = (opts: Partial<PlugOptions> = {}): Plug => {
    const p = new Plug({
      host: sim.address,
      key: sim.key,
      uuid: sim.uuid,
      name: 'Kettle',
      pollIntervalMs: POLL_MS,
      energyPollIntervalMs: ENERGY_MS,
      timeoutMs: 2000,
      outletInUseWatts: 2,
      storageDir,
      now,
      log,
      ...plugOptions,
      ...opts,
    });
    plugs.push(p);
    return p;
  };
  const plug = newPlug();
  const r: Rig = {
    clock,
    sim,
    plug,
    log,
    storageDir,
    async run(untilMs) {
      while (clock.ms < untilMs) {
        clock.ms = Math.min(untilMs, clock.ms + POLL_MS);
        await r.plug.pollNow();
      }
    },
    lifetimeWh: () => r.plug.snapshot.lifetimeKWh * 1000,
    newPlug,
  };
  return r;
}

/** 600 W for `ms`. */
const used = (ms: number, watts = 600): number => (watts * ms) / 3_600_000;
/** A whole Wh lost at each plug midnight (the meter books whole Wh per day) plus the last partial Wh. */
const STEP = 2;

const BASE = Date.UTC(2026, 5, 10, 3);
const ZONES = ['Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Los_Angeles', 'Europe/Berlin'];

describe('energy across the plug midnight', () => {
  for (const firmware of [1, 2] as const) {
    for (const zone of firmware === 2 ? ZONES : ZONES.slice(0, 3)) {
      it(`fw ${firmware}, plug in ${zone}: a counter carried over midnight adds only what was used; later readings count once`, async () => {
        const start = nextWallTime(zone, BASE, '23:40');
        const r = await rig(start, { firmware, timezone: zone, dayBooking: 'local', midnight: 'carry-once' });
        await r.plug.pollNow();
        const before = r.lifetimeWh();
        const historyBefore = r.plug.energyCounter()!.wh;
        const yesterday = r.sim.today;
        await r.run(start + 50 * MINUTE);
        // The Eve history's counter (and Matter's lifetime, lifetimeKWh) follow the corrected figure.
        expect(Math.abs(r.plug.energyCounter()!.wh - historyBefore - used(50 * MINUTE))).toBeLessThanOrEqual(STEP + 1);
        expect(r.sim.today).not.toBe(yesterday);
        const today = r.sim.consumption.find((e) => e.date === r.sim.today)!;
        // The plug shows yesterday's figure plus the new day's: the simulated firmware carried it.
        expect(today.value).toBeGreaterThan(200);
        const gained = r.lifetimeWh() - before;
        expect(Math.abs(gained - used(50 * MINUTE))).toBeLessThanOrEqual(STEP);
        const carried = r.log.lines.filter(([, m]) => /did not reset at its midnight and carried \d+ Wh/.test(m));
        expect(carried).toHaveLength(1);
        expect(carried[0][0]).toBe('info');
      });
    }
  }

  it('a plug that resets properly adds its whole new day, and says nothing about carrying', async () => {
    const zone = 'Asia/Kolkata';
    const start = nextWallTime(zone, BASE, '23:40');
    const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'reset' });
    await r.plug.pollNow();
    const before = r.lifetimeWh();
    await r.run(start + 80 * MINUTE);
    expect(Math.abs(r.lifetimeWh() - before - used(80 * MINUTE))).toBeLessThanOrEqual(STEP);
    expect(r.log.lines.filter(([, m]) => /carried|does not reset/.test(m))).toEqual([]);
  });

  it('recognises a counter that never resets, says so once, and counts each day once over three midnights and a restart', async () => {
    const zone = 'America/Los_Angeles';
    const start = nextWallTime(zone, BASE, '23:40');
    const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'cumulative', watts: 100 });
    await r.plug.pollNow();
    const before = r.lifetimeWh();
    await r.run(start + 2 * 1440 * MINUTE + 40 * MINUTE);
    expect(Math.abs(r.lifetimeWh() - before - used(2 * 1440 * MINUTE + 40 * MINUTE, 100))).toBeLessThanOrEqual(3 * STEP);
    const told = r.log.lines.filter(([, m]) => /firmware does not reset its daily energy meter/.test(m));
    expect(told).toHaveLength(1);
    expect(told[0][0]).toBe('warn');
    // A restart mid-day with the saved ledger: nothing counted again, nothing lost.
    await r.plug.stop();
    const total = r.lifetimeWh();
    r.clock.ms += 3 * 3_600_000;
    r.plug = r.newPlug();
    await r.plug.pollNow();
    expect(Math.abs(r.lifetimeWh() - total - used(3 * 3_600_000, 100))).toBeLessThanOrEqual(STEP);
    expect(r.log.lines.filter(([, m]) => /firmware does not reset its daily energy meter/.test(m))).toHaveLength(1);
  });

  it('when Homebridge missed the midnight, leaves a carried figure out rather than count it twice, and says so', async () => {
    const zone = 'Australia/Lord_Howe';
    const start = nextWallTime(zone, BASE, '22:00');
    const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'carry-once', watts: 60 });
    await r.plug.pollNow();
    await r.run(start + 30 * MINUTE);
    const before = r.lifetimeWh();
    // Homebridge is down from 22:30 to 01:00 plug time; it starts again on the same ledger.
    await r.plug.stop();
    r.clock.ms = start + 3 * 60 * MINUTE;
    r.plug = r.newPlug();
    await r.plug.pollNow();
    const gained = r.lifetimeWh() - before;
    // The load used 150 Wh while Homebridge was away: 90 before midnight (read from yesterday's final figure) and 60
    // after it, which sit under the carried figure and cannot be told apart from it; nothing is counted twice.
    expect(gained).toBeGreaterThanOrEqual(used(90 * MINUTE, 60) - STEP);
    expect(gained).toBeLessThanOrEqual(used(150 * MINUTE, 60) + STEP);
    expect(r.log.lines.filter(([level, m]) => level === 'info' && /cannot be told whether/.test(m))).toHaveLength(1);
  });

  it('keeps counting a known resetting plug in full after a missed midnight', async () => {
    const zone = 'Europe/Berlin';
    const start = nextWallTime(zone, BASE, '23:40');
    const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'reset', watts: 60 });
    await r.plug.pollNow();
    // One watched midnight teaches the ledger that this plug resets.
    await r.run(start + 40 * MINUTE);
    await r.run(r.clock.ms + 22 * 60 * MINUTE);
    const before = r.lifetimeWh();
    await r.plug.stop();
    const away = 3 * 60 * MINUTE;
    r.clock.ms += away;
    r.plug = r.newPlug();
    await r.plug.pollNow();
    expect(Math.abs(r.lifetimeWh() - before - used(away, 60))).toBeLessThanOrEqual(STEP);
    expect(r.log.lines.filter(([, m]) => /cannot be told|carried/.test(m))).toEqual([]);
  });

  it('Reset Total a minute before and a minute after the plug midnight counts only what follows it', async () => {
    for (const offsetMin of [-1, 1]) {
      const zone = 'Asia/Kolkata';
      const start = nextWallTime(zone, BASE + (offsetMin + 1) * 86_400_000, '23:30');
      const midnight = nextWallTime(zone, start, '00:00');
      const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'reset' });
      await r.plug.pollNow();
      await r.run(midnight + offsetMin * MINUTE);
      await r.plug.resetTotal(Math.floor(r.clock.ms / 1000));
      expect(r.plug.snapshot.totalKWh).toBe(0);
      const resetAt = r.clock.ms;
      await r.run(midnight + 30 * MINUTE);
      expect(Math.abs(r.plug.snapshot.totalKWh * 1000 - used(r.clock.ms - resetAt))).toBeLessThanOrEqual(STEP);
    }
  });

  it('books a 23-hour and a 25-hour day right across daylight-saving changes', async () => {
    for (const base of [Date.UTC(2026, 2, 28, 20), Date.UTC(2026, 9, 24, 20)]) {
      const zone = 'Europe/London';
      const start = nextWallTime(zone, base, '23:50');
      const end = nextWallTime(zone, start + 2 * 60 * MINUTE, '00:10');
      const r = await rig(start, { firmware: 2, timezone: zone, midnight: 'cumulative', watts: 100 });
      await r.plug.pollNow();
      const before = r.lifetimeWh();
      await r.run(end);
      const hours = (end - start) / 3_600_000;
      expect([23.33, 24.33, 25.33]).toContainEqual(Math.round(hours * 100) / 100);
      expect(Math.abs(r.lifetimeWh() - before - used(end - start, 100))).toBeLessThanOrEqual(2 * STEP);
    }
  });

  it('follows a plug with no time zone (UTC days, as the mss310r trace) and tells when its day is not the host midnight', async () => {
    const start = nextWallTime('UTC', BASE, '23:40');
    const r = await rig(start, { firmware: 2, timezone: '', midnight: 'carry-once' });
    await r.plug.pollNow();
    const before = r.lifetimeWh();
    await r.run(start + 40 * MINUTE);
    expect(Math.abs(r.lifetimeWh() - before - used(40 * MINUTE))).toBeLessThanOrEqual(STEP);
    const hostOffsetMin = -new Date(start).getTimezoneOffset();
    const told = r.log.lines.filter(([, m]) => /energy day begins at .* no time zone set/.test(m));
    expect(told).toHaveLength(hostOffsetMin === 0 ? 0 : 1);
  });

  it('sets the configured time zone on a plug that has none, once, and books its days there from then on', async () => {
    const zone = 'Asia/Kolkata';
    const start = nextWallTime(zone, BASE, '23:40');
    const r = await rig(start, { firmware: 2, timezone: '', midnight: 'reset' }, { timezone: zone });
    await r.plug.pollNow();
    expect(r.sim.timezone).toBe(zone);
    expect(r.log.lines.filter(([, m]) => /set the plug's time zone to Asia\/Kolkata \(it had none\)/.test(m))).toHaveLength(1);
    const before = r.lifetimeWh();
    await r.run(start + 40 * MINUTE);
    expect(r.sim.today).toBe(wall(zone, r.clock.ms).date);
    expect(Math.abs(r.lifetimeWh() - before - used(40 * MINUTE))).toBeLessThanOrEqual(STEP);
    // Its rules now agree: a day later nothing is sent again.
    await r.run(r.clock.ms + 1441 * MINUTE);
    expect(r.log.lines.filter(([, m]) => /set the plug's time zone/.test(m))).toHaveLength(1);
  });

  it('warns once about a plug clock minutes off the host, and once about an unset one', async () => {
    const start = BASE;
    const r = await rig(start, { firmware: 2, clockSkewMs: 7 * MINUTE });
    await r.plug.pollNow();
    await r.run(start + 5 * MINUTE);
    const off = r.log.lines.filter(([, m]) => /clock is 7 minutes ahead of this computer's/.test(m));
    expect(off).toHaveLength(1);
    expect(off[0][0]).toBe('warn');
    await r.sim.setFault({ type: 'unsynced-clock' });
    await r.run(start + 10 * MINUTE);
    expect(r.log.lines.filter(([, m]) => /clock is not set/.test(m))).toHaveLength(1);
  });
});
