import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { API, PlatformAccessory } from 'homebridge' with { 'resolution-mode': 'import' };
import { afterEach, describe, expect, it } from 'vitest';
import { makeEveTypes } from '../../src/homekit/eve';
import { HomeKitPublisher, type Accessory } from '../../src/homekit/publisher';
import { Plug } from '../../src/plug/plug';
import { PLUGIN_NAME } from '../../src/settings';
import { Log } from '../discovery/helpers';

const UUID_A = '2009113111806125115748e1e9aa0001';
const UUID_B = '2009113111806125115748e1e9aa0002';

/** Homebridge's own API object (the one a real bridge hands the plugin), loaded from its build. */
async function homebridgeApi(): Promise<API & NodeJS.EventEmitter> {
  const mod = (await import(resolve(__dirname, '../../node_modules/homebridge/dist/api.js'))) as { HomebridgeAPI: new () => API & NodeJS.EventEmitter };
  return new mod.HomebridgeAPI();
}

const dirs: string[] = [];
const publishers: HomeKitPublisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.splice(0).flatMap((p) => p.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function plug(uuid: string, name: string, log: Log): Plug {
  return new Plug({ host: '192.0.2.1', key: 'k', uuid, name, pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 1000, outletInUseWatts: 2, log });
}

async function setup(): Promise<{ api: API & NodeJS.EventEmitter; publisher: HomeKitPublisher; log: Log; writes: string[]; attached: string[]; kept: Array<(u: string | undefined) => boolean> }> {
  const api = await homebridgeApi();
  const log = new Log();
  const dir = mkdtempSync(join(tmpdir(), 'publisher-'));
  dirs.push(dir);
  const writes: string[] = [];
  const names = (accessories: PlatformAccessory[]): string => accessories.map((a) => a.displayName).join(', ');
  api.on('registerPlatformAccessories', (a: PlatformAccessory[]) => writes.push(`register ${names(a)}`));
  api.on('updatePlatformAccessories', (a: PlatformAccessory[]) => writes.push(`update ${names(a)}`));
  api.on('unregisterPlatformAccessories', (a: PlatformAccessory[]) => writes.push(`unregister ${names(a)}`));
  const attached: string[] = [];
  const kept: Array<(u: string | undefined) => boolean> = [];
  const publisher = new HomeKitPublisher({
    api,
    eve: makeEveTypes(api),
    storageDir: dir,
    log,
    onAttach: (_plug, name) => attached.push(name),
    onPrune: (keep) => kept.push(keep),
  });
  publishers.push(publisher);
  return { api, publisher, log, writes, attached, kept };
}

function cachedAccessory(api: API, uuid: string, name: string, context: Accessory['context']): Accessory {
  const accessory = new api.platformAccessory<Accessory['context']>(name, api.hap.uuid.generate(`${PLUGIN_NAME}:${uuid}`), api.hap.Categories.OUTLET);
  Object.assign(accessory.context, context);
  return accessory;
}

describe('the HomeKit publisher', () => {
  it('registers new plugs in one batched cache write, and tells Matter of each', async () => {
    const { publisher, log, writes, attached } = await setup();
    expect(publisher.register(plug(UUID_A, 'a', log), { key: 'k', host: '192.0.2.1', name: 'Lamp' }, 'Meross 0001')).toBe(true);
    expect(publisher.register(plug(UUID_B, 'b', log), { key: 'k', uuid: UUID_B }, 'Meross 0002')).toBe(true);
    expect(writes).toEqual([]);
    publisher.flush();
    expect(writes).toEqual(['register Lamp, Meross 0002']);
    expect(attached).toEqual(['Lamp', 'Meross 0002']);
    expect(log.lines).toContainEqual(['info', 'Lamp: added to HomeKit.']);
    expect(publisher.isPublished(UUID_A)).toBe(true);
    expect(publisher.remembered(UUID_A)).toMatchObject({ uuid: UUID_A, name: 'Lamp', host: '192.0.2.1' });
  });

  it('remembers cached accessories, reattaches one with its placement, and renames it in the cache', async () => {
    const { api, publisher, log, writes } = await setup();
    publisher.configureAccessory(cachedAccessory(api, UUID_A, 'Kettle', { plugUuid: UUID_A, host: '192.0.2.7', origin: 'cloud', lastAddress: '192.0.2.8' }));
    expect(publisher.rememberedPlugs()).toEqual([
      { uuid: UUID_A, name: 'Kettle', host: '192.0.2.7', origin: 'cloud', keySource: undefined, lastAddress: '192.0.2.8', values: undefined },
    ]);
    expect(publisher.isPublished(UUID_A)).toBe(false);
    publisher.attach(UUID_A, plug(UUID_A, 'Kettle', log), { key: 'k', uuid: UUID_A, host: '192.0.2.7', origin: 'cloud' });
    expect(publisher.publishedOrigin(UUID_A)).toBe('cloud');
    // Same host: the address discovery learned still counts.
    expect(publisher.remembered(UUID_A)?.lastAddress).toBe('192.0.2.8');
    expect(publisher.rename(UUID_A, 'Tea kettle', 'its name in the Meross app')).toBe('Tea kettle');
    expect(publisher.rename(UUID_A, 'Tea kettle', 'again')).toBeUndefined();
    publisher.place(UUID_A, { lastAddress: '192.0.2.9' });
    publisher.flush();
    expect(writes).toEqual(['update Tea kettle']);
    expect(log.lines).toContainEqual(['info', 'Kettle: renamed to "Tea kettle" (its name in the Meross app).']);
    expect(publisher.remembered(UUID_A)).toMatchObject({ name: 'Tea kettle', lastAddress: '192.0.2.9' });
  });

  it('prunes remembered plugs that are neither kept nor shown, and Matter keeps exactly the rest', async () => {
    const { api, publisher, log, writes, kept } = await setup();
    publisher.configureAccessory(cachedAccessory(api, UUID_A, 'Stays', { plugUuid: UUID_A, origin: 'cloud' }));
    publisher.configureAccessory(cachedAccessory(api, UUID_B, 'Gone', { plugUuid: UUID_B }));
    publisher.prune(new Set(), (r) => r.origin === 'cloud', () => false);
    expect(writes).toEqual(['unregister Gone']);
    expect(log.lines).toContainEqual(['info', 'Gone: removed (no longer in the config).']);
    expect([kept[0](UUID_A), kept[0](UUID_B)]).toEqual([true, false]);
    // A plug another block runs goes without a line (it was reported already).
    publisher.prune(undefined, () => false, () => true);
    expect(writes).toEqual(['unregister Gone', 'unregister Stays']);
    expect(log.lines.filter(([, m]) => m.includes('removed'))).toHaveLength(1);
  });
});
