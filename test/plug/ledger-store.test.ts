import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MerossClient } from '../../src/meross/client';
import { EnergyLedger } from '../../src/plug/ledger';
import { ledgerDocument, ledgerFile, loadLedger } from '../../src/plug/ledger-store';
import { Plug, type PlugOptions } from '../../src/plug/plug';
import { captureLog, type CapturedLog } from './capture-log';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { JsonDocument } from '../../src/storage/json-document';

const dirs: string[] = [];
const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meross-ledger-'));
  dirs.push(dir);
  return join(dir, 'meross-lan');
}

function makePlug(sim: SimulatedPlug, opts: Partial<PlugOptions>): { plug: Plug; log: CapturedLog } {
  const log = captureLog();
  const plug = new Plug({
    host: sim.address,
    key: sim.key,
    name: 'Kettle',
    pollIntervalMs: 1000,
    energyPollIntervalMs: 0,
    timeoutMs: 500,
    outletInUseWatts: 2,
    log,
    ...opts,
  });
  plugs.push(plug);
  return { plug, log };
}

async function simulator(options: SimulatorOptions): Promise<SimulatedPlug> {
  const sim = await SimulatedPlug.start(options);
  sims.push(sim);
  return sim;
}

describe('ledger file', () => {
  it('is named after the plug uuid, with nothing unexpected from the device reaching the path', () => {
    expect(ledgerFile('/s/meross-lan', '2103151245678951070148e1e9a1b2c3')).toBe('/s/meross-lan/energy-2103151245678951070148e1e9a1b2c3.json');
    expect(ledgerFile('/s/meross-lan', '../../etc/passwd')).toBe('/s/meross-lan/energy-______etc_passwd.json');
  });

  it('coalesces a burst of changes into one atomic write, and flush writes at once', async () => {
    const writes: unknown[] = [];
    let n = 0;
    const doc = new JsonDocument('/nowhere/x.json', () => ({ n }), {
      delayMs: 60_000,
      log: captureLog(),
      write: async (_path, data) => void writes.push(data),
    });
    for (n = 1; n <= 5; n++) doc.changed();
    await doc.flush();
    expect(writes).toEqual([{ n: 6 }]);
    await doc.flush();
    expect(writes).toHaveLength(1);
  });

  it('keeps trying after a failed write, and says so once per problem', async () => {
    const log = captureLog();
    let fail = true;
    const written: unknown[] = [];
    const doc = new JsonDocument('/nowhere/x.json', () => 'state', {
      delayMs: 60_000,
      log,
      write: async (_path, data) => {
        if (fail) throw new Error('disk full');
        written.push(data);
      },
    });
    doc.changed();
    await doc.flush();
    doc.changed();
    await doc.flush();
    expect(log.lines.filter(([l, m]) => l === 'warn' && m.includes('disk full'))).toHaveLength(1);
    fail = false;
    await doc.flush();
    expect(written).toEqual(['state']);
  });

  it('saves owner-only and loads the same ledger back', async () => {
    const dir = await tempDir();
    const file = ledgerFile(dir, 'abc');
    const ledger = new EnergyLedger(() => Date.UTC(2024, 4, 15, 12));
    ledger.merge([{ date: '2024-05-14', time: 1, wh: 400 }, { date: '2024-05-15', time: 2, wh: 120 }], {});
    ledger.resetAt(1_715_767_200);
    const doc = ledgerDocument(file, () => ledger, captureLog());
    doc.changed();
    await doc.flush();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const loaded = await loadLedger(file, Date.now, captureLog());
    expect(loaded?.toJSON()).toEqual(ledger.toJSON());
    expect(await loadLedger(ledgerFile(dir, 'other'), Date.now, captureLog())).toBeUndefined();
  });

  it('sets a corrupt file aside, says so, and starts afresh', async () => {
    const dir = await tempDir();
    const file = ledgerFile(dir, 'abc');
    const good = new EnergyLedger();
    const doc = ledgerDocument(file, () => good, captureLog());
    doc.changed();
    await doc.flush();
    await writeFile(file, '{"version":1,"days":{"2024-05-1');
    const log = captureLog();
    expect(await loadLedger(file, Date.now, log)).toBeUndefined();
    expect(log.lines).toEqual([['warn', expect.stringMatching(/could not be read .*starting afresh and keeping the old file as .*\.corrupt/)]]);
    expect(await readFile(`${file}.corrupt`, 'utf8')).toContain('"version":1');
    expect((await readdir(dir)).sort()).toEqual(['energy-abc.json.corrupt']);
  });
});

describe('plug with a ledger on disk', () => {
  it('keeps the total, the reset and the days beyond the plug window across restarts', async () => {
    const dir = await tempDir();
    const sim = await simulator({ firmware: 2, on: false });
    const first = makePlug(sim, { storageDir: dir });
    await first.plug.pollNow();
    const windowWh = sim.consumption.reduce((s, d) => s + d.value, 0);
    expect(first.plug.snapshot.totalKWh).toBeCloseTo(windowWh / 1000, 9);
    await first.plug.resetTotal(1_800_000_000);
    await first.plug.stop();

    // The plug forgets its oldest ten days meanwhile: the ledger still has them.
    const sorted = [...sim.consumption].sort((a, b) => (a.date < b.date ? -1 : 1));
    sim.consumption = sorted.slice(10);
    const today = sorted.at(-1)!;
    sim.consumption = sim.consumption.map((d) => (d.date === today.date ? { ...d, value: d.value + 42 } : d));

    const second = makePlug(sim, { storageDir: dir, uuid: sim.uuid });
    await second.plug.pollNow();
    expect(second.plug.snapshot.resetTime).toBe(1_800_000_000);
    expect(second.plug.snapshot.totalKWh).toBeCloseTo(0.042, 9);
    expect(second.plug.snapshot.lifetimeKWh).toBeCloseTo((windowWh + 42) / 1000, 9);
  });

  it('estimates the total from measured power on firmware without ConsumptionX, and says so', async () => {
    const dir = await tempDir();
    const sim = await simulator({ firmware: 2, on: true, watts: 120 });
    const clock = { ms: Date.now() };
    // This firmware lists no ConsumptionX: the plug model must not ask for it.
    const createClient = (o: ConstructorParameters<typeof MerossClient>[0]): MerossClient => {
      const client = new MerossClient(o);
      const ability = client.ability.bind(client);
      client.ability = async () => (client.abilities = { ...(await ability()), consumptionX: false });
      return client;
    };
    const { plug, log } = makePlug(sim, { storageDir: dir, createClient, now: () => clock.ms });
    await plug.pollNow();
    expect(plug.energyCounter()).toEqual({ wh: 0, metered: false });
    clock.ms += 60_000;
    await plug.pollNow();
    // 120 W for one minute.
    expect(plug.snapshot.totalKWh).toBeCloseTo(0.002, 9);
    await plug.setOn(false);
    clock.ms += 60_000;
    await plug.pollNow();
    expect(plug.snapshot.totalKWh).toBeCloseTo(0.002, 9);
    expect(sim.requests.some((r) => r.namespace === 'Appliance.Control.ConsumptionX')).toBe(false);
    expect(log.lines.filter(([, m]) => m.includes('is estimated from the measured power'))).toHaveLength(1);
    await plug.stop();
    const saved = await loadLedger(ledgerFile(dir, sim.uuid), Date.now, captureLog());
    expect(saved?.estimated).toBe(true);
    expect(saved?.totalWh).toBeCloseTo(2, 9);
  });

  it('bridges no outage with the power estimate between meter reads', async () => {
    const sim = await simulator({ firmware: 2, on: true, watts: 120 });
    const clock = { ms: Date.now() };
    // The meter is read once at the start; after that only the power estimate moves the counter.
    const { plug } = makePlug(sim, { now: () => clock.ms, energyPollIntervalMs: 3_600_000 });
    await plug.pollNow();
    const start = plug.energyCounter()!;
    expect(start.metered).toBe(true);
    await sim.setFault({ type: 'offline' });
    clock.ms += 30_000;
    await plug.pollNow();
    expect(plug.energyCounter()).toBeUndefined();
    await sim.setFault(null);
    clock.ms += 30_000;
    await plug.pollNow();
    expect(plug.energyCounter()!.wh).toBe(start.wh);
    clock.ms += 30_000;
    await plug.pollNow();
    // 120 W for the 30 s it was seen drawing them.
    expect(plug.energyCounter()!.wh).toBeCloseTo(start.wh + 1, 9);
  });
});
