import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Claims } from '../../src/claims';
import { writeCloudCache } from '../../src/cloud/cache';
import { parseConfig } from '../../src/config';
import { UNPLACED_HOST } from '../../src/discovery';
import type { Plug } from '../../src/plug/plug';
import { PlugRegistry } from '../../src/registry/registry';
import type { Placement, PlugEntry, PlugPublisher, Remembered } from '../../src/registry/types';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { Log } from '../discovery/helpers';

const KEY = 'registry-key';

/** A publisher that keeps its records in memory: what Homebridge's accessory cache is to the HomeKit publisher. */
class MemoryPublisher implements PlugPublisher {
  readonly records = new Map<string, Remembered>();
  readonly shown = new Map<string, Plug>();
  readonly events: string[] = [];

  remember(record: Remembered & { uuid: string }): void {
    this.records.set(record.uuid, record);
  }
  remembered(uuid: string): Remembered | undefined {
    return this.records.get(uuid);
  }
  rememberedPlugs(): Remembered[] {
    return [...this.records.values()];
  }
  isPublished(uuid: string): boolean {
    return this.shown.has(uuid);
  }
  publishedOrigin(uuid: string): Placement['origin'] {
    return this.shown.has(uuid) ? this.records.get(uuid)?.origin : undefined;
  }
  register(plug: Plug, entry: PlugEntry, fallbackName: string): boolean {
    const uuid = plug.uuid;
    if (!uuid) return false;
    const name = entry.name ?? fallbackName;
    this.records.set(uuid, { uuid, name, host: entry.host, origin: entry.origin, keySource: entry.keySource });
    this.shown.set(uuid, plug);
    this.events.push(`register ${name}`);
    return true;
  }
  attach(uuid: string, plug: Plug, entry: PlugEntry): void {
    const record = this.records.get(uuid);
    if (!record) return;
    Object.assign(record, { host: entry.host, origin: entry.origin, keySource: entry.keySource, name: entry.name ?? record.name });
    this.shown.set(uuid, plug);
    this.events.push(`attach ${record.name}`);
  }
  rename(uuid: string, name: string): string | undefined {
    const record = this.records.get(uuid);
    if (!record || record.name === name) return undefined;
    record.name = name;
    this.events.push(`rename ${name}`);
    return name;
  }
  place(uuid: string, placement: Placement & { host?: string }): void {
    const record = this.records.get(uuid);
    if (record) Object.assign(record, placement);
  }
  prune(keep: ReadonlySet<string> | undefined, stays: (r: Remembered) => boolean, quiet: (uuid: string) => boolean): void {
    for (const [uuid, record] of this.records) {
      if (keep?.has(uuid) || this.shown.has(uuid) || stays(record)) continue;
      this.records.delete(uuid);
      this.events.push(`prune ${record.name}${quiet(uuid) ? ' (quiet)' : ''}`);
    }
  }
}

const sims: SimulatedPlug[] = [];
const registries: PlugRegistry[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const registry of registries.splice(0)) {
    registry.halt();
    await Promise.all(registry.closePlugs());
    registry.release();
  }
  await Promise.all(sims.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function simulate(options: SimulatorOptions = {}): Promise<SimulatedPlug> {
  const sim = await SimulatedPlug.start({ host: '127.0.0.1', port: 0, key: KEY, ...options });
  sims.push(sim);
  return sim;
}

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  dirs.push(dir);
  return dir;
}

function makeRegistry(devices: unknown[], publisher: MemoryPublisher, log: Log, storageDir = folder(), extra: Record<string, unknown> = {}): PlugRegistry {
  const { config, problems } = parseConfig({ platform: 'MerossLan', key: KEY, pollInterval: 30, devices, ...extra });
  expect(problems).toEqual([]);
  const registry = new PlugRegistry({ config, storageDir, storagePath: storageDir, publisher, log, env: {}, interfaces: () => ({}) });
  registries.push(registry);
  return registry;
}

/** Resolves once the plug has answered (its first System.All). */
function identified(plug: Plug): Promise<unknown> {
  return plug.info ? Promise.resolve() : once(plug, 'info');
}

/** Resolves once the plug is online. */
async function online(plug: Plug): Promise<void> {
  while (plug.reachability !== 'online') await once(plug, 'reachability');
}

describe('the plug registry', () => {
  it('runs each devices entry with a uuid and shows it before it ever answers', async () => {
    const sim = await simulate();
    const publisher = new MemoryPublisher();
    const log = new Log();
    const registry = makeRegistry([{ host: sim.address, uuid: sim.uuid, name: 'Lamp' }], publisher, log);
    const added: string[] = [];
    registry.on('added', (plug, entry) => added.push(`${plug.name} ${entry.host ?? ''}`));
    registry.launch();
    // Shown at once, by uuid: HomeKit has the outlet before the plug answers.
    expect(publisher.events).toEqual(['register Lamp']);
    expect(added).toEqual([`Lamp ${sim.address}`]);
    expect(log.lines).toContainEqual(['info', 'Watching 1 Meross plug (state and power every 30 s, energy every 300 s).']);
    await online(registry.plugs[0]);
  });

  it('shows a host-only entry once it answers, named by its model and MAC', async () => {
    const sim = await simulate();
    const publisher = new MemoryPublisher();
    const registry = makeRegistry([{ host: sim.address }], publisher, new Log());
    registry.launch();
    expect(publisher.events).toEqual([]);
    await identified(registry.plugs[0]);
    const mac = sim.mac.replace(/:/g, '').slice(-4).toUpperCase();
    expect(publisher.events).toEqual([`register MSS310 ${mac}`]);
    expect(publisher.isPublished(sim.uuid)).toBe(true);
  });

  it('matches a remembered host-only entry by host, and forgets a remembered plug that left the config', async () => {
    const sim = await simulate();
    const publisher = new MemoryPublisher();
    publisher.remember({ uuid: sim.uuid, name: 'Kettle', host: sim.address });
    publisher.remember({ uuid: 'gone000000000000000000000000000a', name: 'Old plug', host: '192.0.2.9' });
    const registry = makeRegistry([{ host: sim.address }], publisher, new Log());
    registry.launch();
    // Known from the last run: shown again at once, under the name it had; the other is pruned (the config settled).
    expect(publisher.events).toEqual(['attach Kettle', 'prune Old plug']);
    expect(registry.plugs.map((p) => [p.name, p.uuid])).toEqual([['Kettle', sim.uuid]]);
  });

  it('remembers the address a scan moved a plug to, for the next start', async () => {
    const sim = await simulate();
    const publisher = new MemoryPublisher();
    publisher.remember({ uuid: sim.uuid, name: 'Heater', host: '192.0.2.50', lastAddress: sim.address });
    const registry = makeRegistry([{ host: '192.0.2.50', uuid: sim.uuid }], publisher, new Log());
    registry.launch();
    // Started at the address discovery found last time, not the configured one that no longer answers.
    expect(registry.plugs[0].address).toBe(sim.address);
    await online(registry.plugs[0]);
  });

  it('leaves a plug another block (child bridge) runs to that block, says so once, and forgets it quietly', async () => {
    const sim = await simulate();
    const dir = folder();
    const other = new Claims({ dir, block: 'Kitchen' });
    expect(other.claim(`plug-${sim.uuid}`).ok).toBe(true);
    const publisher = new MemoryPublisher();
    publisher.remember({ uuid: sim.uuid, name: 'Kettle', host: sim.address });
    const log = new Log();
    const registry = makeRegistry([{ host: sim.address, uuid: sim.uuid }], publisher, log, dir);
    registry.launch();
    expect(registry.plugs).toEqual([]);
    expect(log.lines.filter(([level]) => level === 'warn').map(([, m]) => m)).toEqual([
      `Kettle (${sim.uuid}): already run by the MerossLan block "Kitchen" (process ${process.pid}); not run by this block. List each plug in one block only.`,
    ]);
    // Its accessory goes from this bridge without a "removed" line: it was reported as run elsewhere.
    expect(publisher.events).toEqual(['prune Kettle (quiet)']);
    other.releaseAll();
  });

  it('skips, with one line, a Meross device that lists nothing it can switch, and runs a strip beside it', async () => {
    const hub = await simulate({ withoutAbilities: ['Appliance.Control.ToggleX', 'Appliance.Control.Toggle'] });
    const strip = await simulate({ model: 'mss425e' });
    const publisher = new MemoryPublisher();
    const log = new Log();
    const registry = makeRegistry([{ host: hub.address, name: 'Hub' }, { host: strip.address, name: 'Strip' }], publisher, log);
    registry.launch();
    await vi.waitFor(() => expect(publisher.events).toContain('register Strip'));
    await vi.waitFor(() => expect(log.lines.some(([, m]) => m.startsWith('Hub: '))).toBe(true));
    expect(log.lines.filter(([, m]) => m.startsWith('Hub: '))).toEqual([
      ['warn', expect.stringMatching(/^Hub: this Meross MSS310 \(\w{32}\) lists nothing this plugin can switch .* not added/) as unknown as string],
    ]);
    expect(registry.plugs.map((p) => p.name)).toEqual(['Strip']);
    expect(publisher.events).toEqual(['register Strip']);
  });

  it("names a strip's outlets as the Meross app does, and ignores a cache whose channels are not what it wrote", async () => {
    const strip = await simulate({ model: 'mss425e' });
    const single = await simulate();
    const dir = folder();
    const channels = [
      { channel: 1, name: 'Monitor', usb: false },
      { channel: 4, name: 'USB', usb: true },
    ];
    const odd = [{ channel: 'one', name: 5 }, null];
    await writeCloudCache(dir, {
      version: 1,
      email: 'a@b.c',
      base: 'https://iot.meross.com',
      key: KEY,
      devices: [
        { uuid: strip.uuid, name: 'Desk strip', type: 'mss425e', channels },
        { uuid: single.uuid, name: 'Lamp', type: 'mss310', channels: odd as unknown as typeof channels },
      ],
    });
    const registry = makeRegistry(
      [
        { host: strip.address, key: KEY, uuid: strip.uuid },
        { host: single.address, key: KEY, uuid: single.uuid },
      ],
      new MemoryPublisher(),
      new Log(),
      dir,
      { cloud: { email: 'a@b.c' } },
    );
    registry.waitForCloud(() => undefined);
    registry.launch();
    const [stripPlug, singlePlug] = [strip.uuid, single.uuid].map((u) => registry.plugs.find((p) => p.uuid === u)!);
    expect([1, 2, 4].map((c) => stripPlug.outletLabel(c))).toEqual([{ name: 'Monitor', usb: false }, undefined, { name: 'USB', usb: true }]);
    expect(singlePlug.outletLabel(0)).toBeUndefined();
  });

  it('runs the plugs of the account from the cloud cache, named as in the Meross app, and keeps cloud plugs it cannot check', async () => {
    const sim = await simulate();
    const dir = folder();
    await writeCloudCache(dir, { version: 1, email: 'a@b.c', base: 'https://iot.meross.com', key: KEY, devices: [{ uuid: sim.uuid, name: 'Desk lamp', type: 'mss310' }] });
    const publisher = new MemoryPublisher();
    publisher.remember({ uuid: 'gone000000000000000000000000000b', name: 'Old cloud plug', origin: 'cloud' });
    const log = new Log();
    // No password and no token: the refresh cannot reach the account, so the cache is all there is.
    const registry = makeRegistry([], publisher, log, dir, { key: '', cloud: { email: 'a@b.c' } });
    expect(registry.waitForCloud(() => undefined)).toBe(false);
    registry.launch();
    expect(publisher.events).toEqual(['register Desk lamp']);
    expect(publisher.remembered(sim.uuid)).toMatchObject({ origin: 'cloud' });
    // The account key; no address known yet (LAN discovery places a cloud plug never seen on the LAN).
    expect([registry.plugs[0].key, registry.plugs[0].address]).toEqual([KEY, UNPLACED_HOST]);
    await vi.waitFor(() => expect(log.lines.some(([, m]) => m.startsWith('Meross cloud:'))).toBe(true));
    // The cloud could not say whether the old plug is still on the account: it stays.
    expect(publisher.events).toEqual(['register Desk lamp']);
    expect(publisher.remembered('gone000000000000000000000000000b')).toBeDefined();
  });
});
