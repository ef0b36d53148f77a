/**
 * Energy across the plugs' own midnights, end to end: a real Homebridge 2 whose host clock is on Los Angeles time,
 * four simulated plugs in zones from UTC−12 to UTC+14 (firmware 1 and 2; a counter that carries over midnight once,
 * one that never resets, two that reset), each with its clock set to reach its midnight about 40 s after the start,
 * and a real HAP controller reading the Eve totals. What each load used is physics: its watts × the time it was on.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { e2eRig } from './rig';
import { accessoryBySerial, readOne, TYPES } from './hap';

const WATTS = 720;
const HOST_ZONE = 'America/Los_Angeles';
/** Each plug's local midnight comes this long after the simulators start. */
const MIDNIGHT_IN_MS = 40_000;
/** Whole Wh per plug day: a fraction lost at the midnight, and one still unbooked at the end. */
const METER_STEP_KWH = 0.002;

/** The next midnight of `zone` after `ms`, read with Intl on its own (not the plugin's offset arithmetic). */
function nextMidnight(zone: string, ms: number): number {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  let t = Math.ceil(ms / 1000) * 1000;
  // Step a minute at a time to the first 00:00, then back to its first second.
  for (let i = 0; i < 1500 && !f.format(t).startsWith('00:00'); i++) t += 60_000 - (t % 60_000);
  while (f.format(t - 1000).startsWith('00:00')) t -= 1000;
  return t;
}

interface Case {
  name: string;
  zone: string;
  options: SimulatorOptions;
  expectLog?: RegExp;
}

const CASES: Case[] = [
  { name: 'Kiritimati carry', zone: 'Pacific/Kiritimati', options: { firmware: 2, midnight: 'carry-once' }, expectLog: /Kiritimati carry: the plug's energy meter did not reset at its midnight/ },
  { name: 'Baker cumulative', zone: 'Etc/GMT+12', options: { firmware: 1, midnight: 'cumulative', dayBooking: 'local' }, expectLog: /Baker cumulative: this plug's firmware does not reset its daily energy meter/ },
  { name: 'Kolkata reset', zone: 'Asia/Kolkata', options: { firmware: 2, midnight: 'reset' } },
  { name: 'Dublin fw1 reset', zone: 'UTC', options: { firmware: 1, midnight: 'reset', timezone: 'Europe/Dublin' } },
];

describe('energy across the plug midnight (Homebridge 2, host on Los Angeles time)', () => {
  const rig = e2eRig();
  const { sims } = rig;

  it('adds only what each load used across its midnight, counts later readings once, and a restart changes nothing', async () => {
    const start = Date.now();
    for (const c of CASES) {
      // fw 1 books UTC days whatever its zone (its midnight is UTC's); the others book in their zone.
      // The plug's clock reads MIDNIGHT_IN_MS before one of its midnights: it runs up to a day ahead of the host's.
      const clockSkewMs = nextMidnight(c.zone, start + MIDNIGHT_IN_MS) - MIDNIGHT_IN_MS - start;
      sims.push(await SimulatedPlug.start({ timezone: c.zone, on: false, watts: WATTS, clockSkewMs, ...c.options, name: c.name }));
    }
    // Each plug's day before its midnight, taken now: a slow start-up may bring the midnight before the load goes on,
    // which the plugin must handle just the same (the carried figure then comes with 0 W).
    const days = sims.map((s) => s.today);
    const storageDir = makeTempDir('hb-midnight');
    const port = await freePort();
    const platform = {
      pollInterval: 1,
      energyPollInterval: 1,
      timeout: 1,
      devices: CASES.map((c, i) => ({ name: c.name, host: sims[i].address, key: sims[i].key, uuid: sims[i].uuid })),
    };
    rig.hb = await Homebridge.start({ storageDir, port, platform, env: { TZ: HOST_ZONE } });
    const username = rig.hb.username;
    for (const c of CASES) await rig.hb.waitForLog(new RegExp(`${c.name}: meter read`));
    rig.hap = await rig.hb.pair();
    const pairing = rig.hap.getLongTermData()!;
    const totals: string[] = [];
    for (const sim of sims) totals.push((await accessoryBySerial(rig.hap, sim.uuid)).id(TYPES.Outlet, TYPES.EveTotal));
    const read = async (): Promise<number[]> => Promise.all(totals.map(async (id) => (await readOne(rig.hap!, id)).value as number));

    const before = await read();
    // Each load runs across its plug's midnight, then stops; the time on is measured where the simulator meters.
    const onAt = sims.map((s) => {
      s.setOn(true);
      return Date.now();
    });
    while (sims.some((s, i) => s.today === days[i]) && Date.now() - start < MIDNIGHT_IN_MS + 30_000) await sleep(250);
    expect(sims.map((s, i) => s.today !== days[i])).toEqual(CASES.map(() => true));
    await sleep(8_000);
    const usedKWh = sims.map((s, i) => {
      s.setOn(false);
      return (WATTS * (Date.now() - onAt[i])) / 3_600_000_000;
    });
    // The carrying firmwares really did carry: their new day starts at yesterday's figure, kWh above what was used.
    for (const i of [0, 1]) expect(sims[i].consumption.find((e) => e.date === sims[i].today)!.value / 1000).toBeGreaterThan(usedKWh[i] + 0.5);
    // Let every plug's meter be read after the load stopped.
    const settled = rig.hb.logs.length;
    for (const c of CASES) await rig.hb.waitForLog(new RegExp(`${c.name}: meter read`), 20_000, settled);
    for (const c of CASES) await rig.hb.waitForLog(new RegExp(`${c.name}: meter read`), 20_000, rig.hb.logs.length);
    const after = await read();
    CASES.forEach((c, i) => {
      expect(Math.abs(after[i] - before[i] - usedKWh[i]), `${c.name}: gained ${after[i] - before[i]} kWh for ${usedKWh[i]} used`).toBeLessThanOrEqual(METER_STEP_KWH);
      if (c.expectLog) expect(rig.hb!.logs.filter((l) => c.expectLog!.test(l))).toHaveLength(1);
    });
    expect(rig.hb.logs.filter((l) => /Kolkata reset.*(carried|does not reset)/.test(l))).toEqual([]);

    // Restart on the same storage: every total is what it was.
    await rig.hap.close();
    rig.hap = undefined;
    await rig.hb.stop({ keepStorage: true });
    rig.hb = await Homebridge.start({ storageDir, port, username, platform, env: { TZ: HOST_ZONE } });
    rig.hap = rig.hb.connect(pairing);
    for (const c of CASES) await rig.hb.waitForLog(new RegExp(`${c.name}: meter read`));
    const again = await read();
    CASES.forEach((c, i) => expect(Math.abs(again[i] - after[i]), c.name).toBeLessThanOrEqual(0.0005));
    expect(rig.hb.logs.join('\n')).not.toMatch(/unhandledRejection|uncaughtException|\n\s+at .+\(.+:\d+:\d+\)/i);
  }, 180_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
