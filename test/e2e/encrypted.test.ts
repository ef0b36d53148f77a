/**
 * Encrypted firmware and native editions end to end (issue 18): simulated MSS110 hw 7.0.0 / fw 7.3.37 plugs
 * (encrypted, no metering, a HomeKit edition) on 127.42.18.x, the built CLI, a real Homebridge 2 and a real HAP
 * controller. One plug is listed in `devices` and must work; its twin is only found by the LAN scan and must be
 * skipped with one line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { HttpClient } from 'hap-controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { commonPort } from '../discovery/helpers';
import { message, rawExchange, rawRequest } from '../simulator/helpers';
import { accessories, accessoryBySerial, readOne, TYPES, write, type AccessoryView } from './hap';
import { Homebridge, ROOT } from './homebridge';

const KEY = 'e2e-encrypted-account-key-0123456';
const ip = (n: number): string => `127.42.18.${n}`;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env, MEROSS_KEY: KEY };
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('encrypted firmware and native editions (Homebridge 2)', () => {
  let listed: SimulatedPlug;
  let twin: SimulatedPlug;
  let hb: Homebridge;
  let hap: HttpClient;
  let view: AccessoryView;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    const port = await commonPort([ip(5), ip(6)]);
    [listed, twin] = await Promise.all([
      SimulatedPlug.start({ model: 'mss110', key: KEY, host: ip(5), port, on: false }),
      SimulatedPlug.start({ model: 'mss110', key: KEY, host: ip(6), port, on: true }),
    ]);
    process.env.MEROSS_LAN_SUBNETS = `${ip(2)}-${ip(9)}`;
    hb = await Homebridge.start({
      platform: {
        key: KEY,
        pollInterval: 1,
        timeout: 2,
        discovery: { enabled: true, port },
        devices: [{ name: 'Hall lamp', host: listed.address }],
      },
    });
    await hb.waitForLog(/Hall lamp: added to HomeKit/, 20_000);
    hap = await hb.pair();
    view = await accessoryBySerial(hap, listed.uuid);
  });

  afterAll(async () => {
    await hap?.close();
    await hb?.stop();
    await Promise.all([listed, twin].map((p) => p?.stop()));
    process.env = savedEnv;
  });

  it('the CLI reads and switches the encrypted plug (info, on, off)', async () => {
    const info = await cli(['info', '--host', listed.address, '--json']);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ uuid: listed.uuid, model: 'mss110', firmware: '7.3.37', on: false });
    expect(info.stderr).toMatch(/encrypts its local messages/);
    expect(info.stderr + info.stdout).not.toContain(KEY);
    const on = await cli(['on', '--host', listed.address]);
    expect(on.code, on.stderr).toBe(0);
    expect(listed.isOn).toBe(true);
    const off = await cli(['off', '--host', listed.address]);
    expect(off.code, off.stderr).toBe(0);
    expect(listed.isOn).toBe(false);
  });

  it('a plain request is refused the way the firmware refuses it: the connection is reset, no reply', async () => {
    const { bytes, error } = await rawExchange(listed, rawRequest(message(listed, 'Appliance.Control.ToggleX', 'GET', { togglex: [] })));
    expect(bytes.length).toBe(0);
    expect(error?.code).toBe('ECONNRESET');
  });

  it('HomeKit reads and switches the listed plug over encrypted messages', async () => {
    expect(view.info(TYPES.Name)).toBe('Hall lamp');
    expect(view.info(TYPES.FirmwareRevision)).toBe('7.3.37');
    const id = view.id(TYPES.Outlet, TYPES.On);
    expect(Boolean((await readOne(hap, id)).value)).toBe(false);
    const mark = listed.requests.length;
    expect(await write(hap, id, true)).toBe(0);
    expect(listed.isOn).toBe(true);
    expect(await write(hap, id, false)).toBe(0);
    expect(listed.isOn).toBe(false);
    listed.press();
    const deadline = Date.now() + 4000;
    while (!(await readOne(hap, id)).value && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(Boolean((await readOne(hap, id)).value)).toBe(true);
    const sent = listed.requests.slice(mark);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((r) => r.encrypted === true)).toBe(true);
  });

  it('says once, for that plug only, that it is encrypted and what could not be checked', async () => {
    const lines = hb.logs.filter((l) => /encrypts its local messages/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Hall lamp: .*not a real plug/);
  });

  it('skips the HomeKit-native twin the scan finds, with one line, and adds only the listed plug', async () => {
    const line = await hb.waitForLog(/not added from the LAN scan: MSS110 hardware 7\.x is a HomeKit edition/, 15_000);
    expect(line.input).toContain(`"uuid": "${twin.uuid}"`);
    expect(hb.logs.filter((l) => l.includes('not added from the LAN scan'))).toHaveLength(1);
    const all = await accessories(hap);
    expect(all).toHaveLength(1);
    expect(twin.requests.every((r) => r.namespace !== 'Appliance.Control.ToggleX')).toBe(true);
  });

  it('logs no key, crash, unhandled rejection or stack trace', () => {
    const text = hb.logs.join('\n');
    expect(text).not.toContain(KEY);
    expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
    expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(hb.running).toBe(true);
  });
});
