/**
 * Local MQTT push end to end: a real Homebridge 2 with the built plugin and its embedded broker, simulated plugs
 * in MQTT mode (one of them paired by the real `meross-lan pair` command), and a real HAP controller.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug, type RequestRecord } from '../../src/simulator';
import { Homebridge, freePort, makeTempDir, ROOT } from './homebridge';
import { accessoryBySerial, nextEvent, readOne, TYPES, write, type AccessoryView } from './hap';

const POLL_S = 2;
const TOGGLEX = 'Appliance.Control.ToggleX';
const run = promisify(execFile);

/** Resolves with the first `request` the plug records that satisfies `accept`. */
function nextRequest(sim: SimulatedPlug, accept: (r: RequestRecord) => boolean, timeoutMs = 10_000): Promise<RequestRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sim.off('request', on);
      reject(new Error(`no matching request to ${sim.address} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (r: RequestRecord): void => {
      if (!accept(r)) return;
      clearTimeout(timer);
      sim.off('request', on);
      resolve(r);
    };
    sim.on('request', on);
  });
}

describe('local MQTT push (Homebridge 2, embedded broker)', () => {
  const storageDir = makeTempDir('hb-push');
  const username = '0E:22:33:44:55:66';
  const sims: SimulatedPlug[] = [];
  let lamp: SimulatedPlug;
  let heater: SimulatedPlug;
  let paired: SimulatedPlug;
  let impostor: SimulatedPlug;
  let pairOutput: { uuid: string; key: string; userId: string; broker: string };
  let hb: Homebridge;
  let hap: HttpClient;
  let hapPort: number;
  let platform: Record<string, unknown>;
  const views = new Map<SimulatedPlug, AccessoryView>();

  beforeAll(async () => {
    hapPort = await freePort();
    const brokerPort = await freePort();
    const broker = `127.0.0.1:${brokerPort}`;

    // A factory-reset plug, paired by the real CLI before Homebridge runs; pairing also fixes the plugin's user id.
    paired = await SimulatedPlug.start({ setup: true, firmware: 2, on: false });
    sims.push(paired);
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'pair', '--host', paired.address, '--broker', broker, '--ssid', 'meross-sim', '--key', 'paired-key', '-U', storageDir, '--json'],
      { env: { ...process.env, MEROSS_WIFI_PASSWORD: 'wifi-pw' } },
    );
    pairOutput = JSON.parse(stdout) as typeof pairOutput;
    const userId = pairOutput.userId;
    const mqtt = { broker, userId, reconnectMs: 250 };
    [lamp, heater, impostor] = await Promise.all([
      SimulatedPlug.start({ firmware: 2, on: false, watts: 40, mqtt }),
      SimulatedPlug.start({ firmware: 1, on: true, watts: 900, mqtt }),
      SimulatedPlug.start({ firmware: 2, mqtt }),
    ]);
    sims.push(lamp, heater, impostor);
    platform = {
      pollInterval: POLL_S,
      energyPollInterval: 300,
      timeout: 2,
      push: { enabled: true, port: brokerPort, bind: '127.0.0.1' },
      devices: [
        { name: 'Desk lamp', host: lamp.address, key: lamp.key, uuid: lamp.uuid },
        { name: 'Heater', host: heater.address, key: heater.key, uuid: heater.uuid },
        { name: 'Paired plug', host: paired.address, key: pairOutput.key, uuid: pairOutput.uuid },
        // Its key in the config is not the one it logs in with: the broker must refuse it.
        { name: 'Impostor', host: impostor.address, key: 'not-its-key', uuid: impostor.uuid },
      ],
    };
    hb = await Homebridge.start({ storageDir, port: hapPort, username, platform });
    await Promise.all(['Desk lamp', 'Heater', 'Paired plug'].map((n) => hb.waitForLog(new RegExp(`${n}: connected over local MQTT`), 15_000)));
    hap = await hb.pair();
    for (const sim of [lamp, heater, paired]) views.set(sim, await accessoryBySerial(hap, sim.uuid));
  });

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('pairs a plug in setup mode with `meross-lan pair`; it joins the broker and works from HomeKit', async () => {
    expect(pairOutput).toMatchObject({ uuid: paired.uuid, key: 'paired-key' });
    expect(paired.setupMode).toBeUndefined();
    expect(paired.mqtt?.connected).toBe(true);
    expect(paired.mqtt?.session).toEqual({ clock: true, bind: true, consumptionConfig: true });
    const id = views.get(paired)!.id(TYPES.Outlet, TYPES.On);
    const seen = nextRequest(paired, (r) => r.method === 'SET' && r.namespace === TOGGLEX);
    expect(await write(hap, id, true)).toBe(0);
    expect((await seen).transport).toBe('mqtt');
    expect(paired.isOn).toBe(true);
    // The plugin logged which user id the plugs log in with: the one pairing chose and stored.
    expect(hb.logs.join('\n')).toContain(`plugs log in with user id ${pairOutput.userId} (remembered)`);
  });

  it('shows a press on the plug in HomeKit at once, by push rather than by poll', async () => {
    const id = views.get(lamp)!.id(TYPES.Outlet, TYPES.On);
    await hap.subscribeCharacteristics([id]);
    try {
      const before = lamp.isOn;
      const mark = lamp.requests.length;
      const event = nextEvent(hap, id, (v) => Boolean(v) === !before, 3000);
      const pressed = performance.now();
      lamp.press();
      const ev = await event;
      // HAP holds events for 250 ms to coalesce them; the rest is the push.
      expect(ev.at - pressed).toBeLessThan(1000);
      expect(lamp.requests.slice(mark).filter((r) => r.transport === undefined)).toEqual([]);
    } finally {
      await hap.unsubscribeCharacteristics([id]);
    }
  });

  it('sends HomeKit toggles to the plugs over MQTT, not HTTP', async () => {
    for (const [sim, namespace] of [
      [lamp, TOGGLEX],
      [heater, 'Appliance.Control.Toggle'],
    ] as const) {
      const target = !sim.isOn;
      const seen = nextRequest(sim, (r) => r.method === 'SET' && r.namespace === namespace);
      expect(await write(hap, views.get(sim)!.id(TYPES.Outlet, TYPES.On), target)).toBe(0);
      expect((await seen).transport).toBe('mqtt');
      expect(sim.isOn).toBe(target);
      expect(sim.requests.filter((r) => r.method === 'SET' && r.namespace === namespace && r.transport === undefined)).toEqual([]);
    }
  });

  it('refuses a login with the wrong credentials and says so once, while the plug keeps retrying', async () => {
    let refusals = 0;
    await new Promise<void>((resolve) => {
      const on = (state: string): void => {
        if (state === 'refused' && ++refusals >= 3) {
          impostor.off('mqtt', on);
          resolve();
        }
      };
      impostor.on('mqtt', on);
    });
    const lines = hb.logs.filter((l) => /refused a login/.test(l) && l.includes(impostor.mac));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Impostor \(.*\) gave a wrong password/);
    expect(hb.logs.join('\n')).not.toContain(impostor.key);
  });

  it('falls back to HTTP polling within one poll when a plug drops off MQTT', async () => {
    const id = views.get(lamp)!.id(TYPES.Outlet, TYPES.On);
    const mark = hb.logs.length;
    const polled = nextRequest(lamp, (r) => r.transport === undefined);
    await lamp.mqtt!.stop();
    await hb.waitForLog(/Desk lamp: off local MQTT \(it disconnected from the broker\)/, 5000, mark);
    await polled;
    await hap.subscribeCharacteristics([id]);
    try {
      const before = lamp.isOn;
      const event = nextEvent(hap, id, (v) => Boolean(v) === !before, (POLL_S + 2) * 1000);
      const pressed = performance.now();
      const read = nextRequest(lamp, (r) => r.transport === undefined && r.namespace === 'Appliance.Control.Multiple');
      lamp.press();
      await read;
      const ev = await event;
      expect(ev.at - pressed).toBeLessThan(POLL_S * 1000 + 1000);
    } finally {
      await hap.unsubscribeCharacteristics([id]);
    }
    // Back on MQTT for the next test.
    const back = hb.logs.length;
    await lamp.mqtt!.start();
    await hb.waitForLog(/Desk lamp: connected over local MQTT/, 5000, back);
  });

  it('after a Homebridge restart (a new broker), the plugs reconnect and their state is read again', async () => {
    const certFile = join(storageDir, 'meross-lan', 'push-tls.json');
    const cert = readFileSync(certFile, 'utf8');
    expect(statSync(certFile).mode & 0o777).toBe(0o600);
    const pairing = hap.getLongTermData()!;
    await hap.close();
    await hb.stop({ keepStorage: true });
    // Changed while no broker listens: no push can tell the plugin, only reading the state again can.
    lamp.setOn(!lamp.isOn);
    const target = lamp.isOn;
    const reread = nextRequest(lamp, (r) => r.transport === 'mqtt' && r.namespace === 'Appliance.Control.Multiple', 30_000);
    hb = await Homebridge.start({ storageDir, port: hapPort, username, platform });
    await hb.waitForLog(/Desk lamp: connected over local MQTT/, 15_000);
    await reread;
    hap = hb.connect(pairing);
    const value = await readOne(hap, views.get(lamp)!.id(TYPES.Outlet, TYPES.On));
    expect(Boolean(value.value)).toBe(target);
    expect(readFileSync(certFile, 'utf8')).toBe(cert);
    // A whole Homebridge restart and the plugs' reconnection: more than the 30 s default on a busy machine.
  }, 90_000);

  it('logs no crash, unhandled rejection or stack trace', () => {
    const text = hb.logs.join('\n');
    expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
    expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });
});
