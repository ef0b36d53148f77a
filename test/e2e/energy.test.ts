/**
 * Energy you can trust, end to end: a real Homebridge 2 with the built plugin, a simulated plug whose clock the test
 * moves, and a real HAP controller reading the Eve characteristics and the Eve history the way the Eve app does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug, type ConsumptionEntry } from '../../src/simulator';
import { Homebridge, freePort, makeTempDir } from './homebridge';
import { accessoryBySerial, nextEvent, readOne, TYPES, write, type AccessoryView } from './hap';

const DAY_MS = 86_400_000;
const EVE_EPOCH_OFFSET = 978_307_200;
const eve = (id: string): string => `E863F${id}-079E-48FF-8F27-9C2605A29F52`;
const HISTORY = { service: eve('007'), status: eve('116'), entries: eve('117'), request: eve('11C'), setTime: eve('121') };

const sumKWh = (days: ConsumptionEntry[]): number => days.reduce((s, d) => s + d.value, 0) / 1000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The plug's 30-day window ending on the day of `now`, as a freshly read ring (today's entry first, like a rotated buffer). */
function windowEndingToday(valueOf: (daysAgo: number) => number, now = Date.now()): ConsumptionEntry[] {
  return Array.from({ length: 30 }, (_, daysAgo) => ({
    date: utcDay(now - daysAgo * DAY_MS),
    time: Math.floor(now / 1000) - daysAgo * 86_400,
    value: valueOf(daysAgo),
  }));
}

interface HistoryRead {
  status: Buffer;
  entries: Buffer[];
}

/** The Eve app's handshake: read the status, write "send from entry 1", then read entries until `00`. */
async function readHistory(hap: HttpClient, view: AccessoryView): Promise<HistoryRead> {
  const status = Buffer.from((await readOne(hap, view.id(HISTORY.service, HISTORY.status))).value as string, 'base64');
  const request = Buffer.from('01140100000000000000', 'hex');
  expect(await write(hap, view.id(HISTORY.service, HISTORY.request), request.toString('base64'))).toBe(0);
  const entries: Buffer[] = [];
  for (let reads = 0; reads < 50; reads++) {
    const reply = Buffer.from((await readOne(hap, view.id(HISTORY.service, HISTORY.entries))).value as string, 'base64');
    if (reply.equals(Buffer.from([0]))) return { status, entries };
    for (let o = 0; o < reply.length; o += reply[o]) entries.push(reply.subarray(o, o + reply[o]));
  }
  throw new Error('the history transfer did not end');
}

describe('energy you can trust (Homebridge 2)', () => {
  let sim: SimulatedPlug | undefined;
  let hb: Homebridge | undefined;
  let hap: HttpClient | undefined;

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await sim?.stop();
  });

  it('keeps the metered total beyond 30 days, resets it from Eve, survives a restart and serves the Eve history', async () => {
    // The plug's clock starts 35 days behind, so "advancing it 35 days" lands on today for everyone.
    const lag = { ms: 35 * DAY_MS };
    sim = await SimulatedPlug.start({ firmware: 2, on: false, watts: 5, now: () => Date.now() - lag.ms });
    // A window whose every day has energy: the simulator's own "today" holds 0 Wh in the first minutes after midnight.
    sim.consumption = windowEndingToday((daysAgo) => 300 + ((daysAgo * 37) % 90), Date.now() - lag.ms);
    const oldWindow = sim.consumption.map((d) => ({ ...d }));
    const storageDir = makeTempDir('hb-energy');
    const port = await freePort();
    const platform = {
      pollInterval: 1,
      energyPollInterval: 1,
      timeout: 1,
      devices: [{ name: 'Energy test', host: sim.address, key: sim.key, uuid: sim.uuid }],
    };
    hb = await Homebridge.start({ storageDir, port, platform });
    const username = hb.username;
    await hb.waitForLog(/Energy test: meter read/);
    hap = await hb.pair();
    const pairing = hap.getLongTermData()!;
    let view = await accessoryBySerial(hap, sim.uuid);
    const totalId = view.id(TYPES.Outlet, TYPES.EveTotal);
    const resetId = view.id(TYPES.Outlet, TYPES.EveResetTotal);

    // 30 days of history: the Eve total is the plug's sum.
    const first = (await readOne(hap, totalId)).value as number;
    expect(Math.abs(first - sumKWh(oldWindow))).toBeLessThanOrEqual(0.001);

    // 35 days later the plug has forgotten every day read so far; the total still has them. Thirty days cannot pass
    // while the plugin watches a plug draw 0 W (it would rightly refuse them as carried over), so the plug is away
    // meanwhile, as it would be.
    const newWindow = windowEndingToday((daysAgo) => 200 + daysAgo);
    const grown = sumKWh(oldWindow) + sumKWh(newWindow);
    await hap.subscribeCharacteristics([totalId]);
    const away = hb.logs.length;
    await sim.setFault({ type: 'offline' });
    await hb.waitForLog(/Energy test: .*No Response/, 20_000, away);
    let event = nextEvent(hap, totalId, (v) => Math.abs((v as number) - grown) <= 0.001, 20_000);
    lag.ms = 0;
    sim.consumption = newWindow;
    await sim.setFault(null);
    await event;
    // Days 34 to 30 before today fell out of the plug before anyone read them: said once, not made up.
    const missing = await hb.waitForLog(/Energy test: .*\((\d+) days\) is missing from the total/);
    expect(missing[1]).toBe('5');

    // Reset from the Eve app: the total restarts at 0 and then counts what is used afterwards.
    const resetAt = Math.floor(Date.now() / 1000) - EVE_EPOCH_OFFSET;
    expect(await write(hap, resetId, resetAt)).toBe(0);
    expect((await readOne(hap, totalId)).value).toBe(0);
    expect((await readOne(hap, resetId)).value).toBe(resetAt);
    event = nextEvent(hap, totalId, (v) => Math.abs((v as number) - 0.25) <= 0.001, 10_000);
    sim.consumption = sim.consumption.map((d) => (d.date === newWindow[0].date ? { ...d, value: d.value + 250 } : d));
    await event;

    // Switch on and off: the history logs both moments.
    const onId = view.id(TYPES.Outlet, TYPES.On);
    for (const on of [true, false]) {
      expect(await write(hap, onId, on)).toBe(0);
      expect(sim.isOn).toBe(on);
    }
    const history = await readHistory(hap, view);
    expect(history.status.subarray(12, 17).toString('hex')).toBe('020702 0e01'.replace(' ', ''));
    expect(history.status.readUInt16LE(19)).toBe(4032);
    const reference = history.entries[0];
    expect(reference[0]).toBe(21);
    expect(reference[9]).toBe(0x81);
    expect(reference.readUInt32LE(10)).toBe(history.status.readUInt32LE(8));
    const numbers = history.entries.map((e) => e.readUInt32LE(1));
    expect(numbers[0]).toBe(history.status.readUInt32LE(21));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
    expect(history.entries.length).toBe(history.status.readUInt16LE(17));
    // The newest two: bitmap 02 (On), values 1 then 0, at times after the reference.
    const events = history.entries.slice(-2);
    expect(events.map((e) => [e[0], e[9], e[10]])).toEqual([
      [11, 0x02, 1],
      [11, 0x02, 0],
    ]);
    expect(events[1].readUInt32LE(5)).toBeGreaterThanOrEqual(events[0].readUInt32LE(5));

    // Restart: same storage, same bridge identity, the same controller pairing.
    await hap.close();
    hap = undefined;
    await hb.stop({ keepStorage: true });
    expect(existsSync(join(storageDir, 'meross-lan', `energy-${sim.uuid}.json`))).toBe(true);
    hb = await Homebridge.start({ storageDir, port, username, platform });
    hap = hb.connect(pairing);
    // After the plug's meter has been read again, the total is the ledger's, not just the cache's.
    await hb.waitForLog(/Energy test: meter read/);
    view = await accessoryBySerial(hap, sim.uuid);
    expect(Math.abs(((await readOne(hap, totalId)).value as number) - 0.25)).toBeLessThanOrEqual(0.001);
    expect((await readOne(hap, resetId)).value).toBe(resetAt);
    const again = await readHistory(hap, view);
    expect(again.entries.map((e) => e.toString('hex'))).toEqual(history.entries.map((e) => e.toString('hex')));

    expect(hb.logs.join('\n')).not.toMatch(/unhandledRejection|uncaughtException|\n\s+at .+\(.+:\d+:\d+\)/i);
  });
});
