import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { Plug } from '../../src/plug/plug';
import type { PushHub } from '../../src/push/hub';
import { SimulatedPlug, type SetupMode } from '../../src/simulator';
import { logger, startHub, storage, USER_ID, waitFor } from './helpers';

function io(env: Record<string, string> = {}): { out: string[]; err: string[]; io: Parameters<typeof main>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env } };
}

describe('meross-lan pair', () => {
  const folder = storage();
  let hub: PushHub;
  let broker: string;
  const sims: SimulatedPlug[] = [];
  const plugs: Plug[] = [];

  beforeAll(async () => {
    ({ hub, broker } = await startHub(folder.dir));
    // As a user would have it: the plugin's config names the user id the plugs are paired with.
    writeFileSync(join(folder.dir, 'config.json'), JSON.stringify({ platforms: [{ platform: 'MerossLan', push: { enabled: true, userId: Number(USER_ID) } }] }));
  });

  afterEach(async () => {
    await Promise.all(plugs.splice(0).map((p) => p.stop()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    await hub.stop();
    folder.remove();
  });

  async function setupPlug(firmware: 1 | 2 = 2): Promise<SimulatedPlug> {
    const sim = await SimulatedPlug.start({ setup: true, firmware });
    sims.push(sim);
    return sim;
  }

  it('sends Config.Key then Config.Wifi, prints uuid and key, and the plug then logs in to the broker', async () => {
    const sim = await setupPlug();
    // The plugin already has the plug in its config (uuid and the new key), as after following pair's advice.
    const model = new Plug({ host: sim.address, key: 'fresh-key', uuid: sim.uuid, name: 'Paired', pollIntervalMs: 60_000, energyPollIntervalMs: 60_000, timeoutMs: 1000, outletInUseWatts: 2, log: logger() });
    plugs.push(model);
    hub.add(model);
    const paired = waitFor<[SetupMode]>(sim, 'paired');
    const connected = waitFor<[string]>(sim, 'mqtt', (s) => s === 'connected');
    const cli = io({ MEROSS_WIFI_PASSWORD: 'wifi secret' });
    const code = await main(['pair', '--host', sim.address, '--broker', broker, '--ssid', 'meross-sim', '--key', 'fresh-key', '-U', folder.dir, '--json'], cli.io);
    expect(cli.err.join('')).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(cli.out.join(''))).toEqual({ uuid: sim.uuid, key: 'fresh-key', mac: sim.mac, model: 'mss310', userId: USER_ID, broker });
    const [setup] = await paired;
    expect(setup.wifi).toEqual({ ssid: 'meross-sim', password: 'wifi secret' });
    const key = sim.requests.find((r) => r.namespace === 'Appliance.Config.Key');
    const [host, port] = broker.split(':');
    expect(key?.payload).toEqual({ key: { gateway: { host, port: Number(port), secondHost: host, secondPort: Number(port), redirect: 1 }, key: 'fresh-key', userId: USER_ID } });
    expect(sim.requests.map((r) => r.namespace)).toEqual([
      'Appliance.System.All',
      'Appliance.System.Ability',
      'Appliance.Config.WifiList',
      'Appliance.Config.Key',
      'Appliance.Config.Wifi',
    ]);
    expect(sim.key).toBe('fresh-key');
    await connected;
    expect(sim.setupMode).toBeUndefined();
  });

  it('uses the remembered user id when the config names none, and creates it if need be', async () => {
    const sim = await setupPlug(1);
    const bare = storage();
    try {
      const cli = io({ MEROSS_WIFI_PASSWORD: '', MEROSS_KEY: '' });
      const code = await main(['pair', '--host', sim.address, '--broker', broker, '--ssid', 'meross-sim', '-U', bare.dir, '--json'], cli.io);
      expect(code).toBe(0);
      const stored = JSON.parse(readFileSync(join(bare.dir, 'meross-lan', 'push.json'), 'utf8')) as { userId: string };
      expect(JSON.parse(cli.out.join('')).userId).toBe(stored.userId);
      expect(sim.key).toBe('');
    } finally {
      bare.remove();
    }
  });

  it('stops before changing anything when the plug does not see the Wi-Fi, and names what it sees', async () => {
    const sim = await setupPlug();
    const cli = io();
    const code = await main(['pair', '--host', sim.address, '--broker', broker, '--ssid', 'elsewhere', '--password', 'x', '--key', 'k', '-U', folder.dir], cli.io);
    expect(code).toBe(1);
    expect(cli.err.join('')).toContain('the plug does not see the Wi-Fi "elsewhere" (it sees: "meross-sim")');
    expect(sim.requests.some((r) => r.namespace.startsWith('Appliance.Config.Key'))).toBe(false);
    expect(sim.setupMode).toBeDefined();
  });

  it('tells a plug that is not in setup mode apart', async () => {
    const sim = await SimulatedPlug.start();
    sims.push(sim);
    const cli = io();
    const code = await main(['pair', '--host', sim.address, '--broker', broker, '--ssid', 'meross-sim', '--password', 'x', '--key', 'k', '-U', folder.dir], cli.io);
    expect(code).toBe(1);
    expect(cli.err.join('')).toMatch(/refused Appliance\.System\.All \(is the plug in setup mode\?/);
  });

  it('explains bad command lines without echoing secrets', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--ssid', 'x', '--password', 'p', '--key', 'k'], /--broker is required/],
      [['--broker', '127.0.0.1:8883', '--ssid', 'x', '--password', 'p', '--key', 'k'], /loopback address, which the plug cannot reach/],
      [['--broker', '192.0.2.1', '--password', 'p', '--key', 'k'], /--ssid is required/],
      [['--broker', '192.0.2.1', '--ssid', 'x', '--key', 'k'], /no Wi-Fi password/],
      [['--broker', '192.0.2.1', '--ssid', 'x', '--password', 'hunter2', '--user-id', 'me', '--key', 'k'], /--user-id must be a whole number/],
      [['--bogus'], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      const cli = io();
      expect(await main(['pair', ...args], cli.io), args.join(' ')).toBe(2);
      expect(cli.err.join(''), args.join(' ')).toMatch(message);
      expect(cli.err.join('')).not.toContain('hunter2');
    }
    const help = io();
    expect(await main(['pair', '--help'], help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/leaves the Meross cloud and app/);
  });
});
