/**
 * Encrypted firmware and native editions end to end (issue 18): simulated MSS110 hw 7.0.0 / fw 7.3.37 plugs
 * (encrypted, no metering, a HomeKit edition) on 127.42.18.x, the built CLI, a real Homebridge 2, a real HAP
 * controller and a fake Meross cloud over HTTPS on loopback. One plug is listed in `devices` and must work; its twin
 * is offered by the cloud and found by the LAN scan and must be skipped with one line, as must a Matter MSS315 the
 * cloud lists; an ordinary MSS310 on the account is added.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { HttpClient } from 'hap-controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../cloud/fake-cloud';
import { commonPort } from '../discovery/helpers';
import { message, rawExchange, rawRequest } from '../simulator/helpers';
import { accessories, accessoryBySerial, longType, readOne, TYPES, write, type AccessoryView } from './hap';
import { Homebridge, ROOT } from './homebridge';

const KEY = 'e2e-encrypted-account-key-0123456';
const ip = (n: number): string => `127.42.18.${n}`;
const MATTER_UUID = '2009113111806125175848e1e9c0ffee';
const KETTLE_UUID = '2009113111806125175848e1e9beef01';

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
  let cert: TestCert;
  let cloud: FakeCloud;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    const port = await commonPort([ip(5), ip(6)]);
    [listed, twin] = await Promise.all([
      SimulatedPlug.start({ model: 'mss110', key: KEY, host: ip(5), port, on: false }),
      SimulatedPlug.start({ model: 'mss110', key: KEY, host: ip(6), port, on: true }),
    ]);
    cert = makeTestCert();
    cloud = await FakeCloud.start(
      [
        {
          email: 'owner@example.com',
          password: 'owner-password',
          key: KEY,
          devices: [
            { uuid: listed.uuid, devName: 'Hall lamp (app)', deviceType: 'mss110', hdwareVersion: '7.0.0', fmwareVersion: '7.3.37' },
            { uuid: twin.uuid, devName: 'Porch', deviceType: 'mss110', hdwareVersion: '7.0.0', fmwareVersion: '7.3.37' },
            { uuid: MATTER_UUID, devName: 'Matter plug', deviceType: 'mss315', hdwareVersion: '9.0.0' },
            { uuid: KETTLE_UUID, devName: 'Kettle', deviceType: 'mss310', hdwareVersion: '2.0.0' },
          ],
        },
      ],
      cert,
    );
    process.env.MEROSS_CLOUD_URL = cloud.url;
    process.env.NODE_EXTRA_CA_CERTS = cert.certPath;
    process.env.MEROSS_LAN_SUBNETS = `${ip(2)}-${ip(9)}`;
    hb = await Homebridge.start({
      platform: {
        key: KEY,
        cloud: { email: 'owner@example.com', password: 'owner-password' },
        pollInterval: 1,
        timeout: 2,
        discovery: { enabled: true, port },
        devices: [{ name: 'Hall lamp', host: listed.address, uuid: listed.uuid }],
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
    await cloud?.stop();
    cert?.cleanup();
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

  it('HomeKit shows the meter-less plug as an Outlet with On and Outlet In Use only: no empty Eve energy', async () => {
    const fresh = await accessoryBySerial(hap, listed.uuid);
    const outlet = fresh.service(TYPES.Outlet)!.characteristics.map((c) => longType(c.type));
    expect(outlet).toContain(TYPES.On);
    expect(outlet).toContain(TYPES.OutletInUse);
    for (const eve of [TYPES.EvePower, TYPES.EveVoltage, TYPES.EveCurrent, TYPES.EveTotal, TYPES.EveResetTotal]) expect(outlet).not.toContain(eve);
    expect(fresh.raw.services.map((sv) => longType(sv.type))).not.toContain('E863F007-079E-48FF-8F27-9C2605A29F52');
  });

  it('HomeKit reads and switches the listed plug over encrypted messages', async () => {
    expect(view.info(TYPES.Name)).toBe('Hall lamp');
    expect(view.info(TYPES.FirmwareRevision)).toBe('7.3.37');
    const id = view.id(TYPES.Outlet, TYPES.On);
    /** HomeKit's value once a poll (1 s) has brought it in line with the plug, or the last one read. */
    const settled = async (want: boolean): Promise<boolean> => {
      const deadline = Date.now() + 4000;
      let value = Boolean((await readOne(hap, id)).value);
      while (value !== want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        value = Boolean((await readOne(hap, id)).value);
      }
      return value;
    };
    // The CLI just switched it off.
    expect(await settled(false)).toBe(false);
    const mark = listed.requests.length;
    expect(await write(hap, id, true)).toBe(0);
    expect(listed.isOn).toBe(true);
    expect(await write(hap, id, false)).toBe(0);
    expect(listed.isOn).toBe(false);
    listed.press();
    expect(await settled(true)).toBe(true);
    const sent = listed.requests.slice(mark);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((r) => r.encrypted === true)).toBe(true);
  });

  it('says once, for that plug only, that it is encrypted and what could not be checked', async () => {
    const lines = hb.logs.filter((l) => /encrypts its local messages/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Hall lamp: .*not a real plug/);
  });

  it('skips the native editions the cloud and the scan offer, one line each, and adds the listed plug and the MSS310', async () => {
    const porch = await hb.waitForLog(/Porch: not added from the Meross cloud: MSS110 hardware 7\.x is a HomeKit edition/, 15_000);
    expect(porch.input).toContain(`list it under "devices" with "uuid": "${twin.uuid}"`);
    await hb.waitForLog(/Matter plug: not added from the Meross cloud: MSS315 is a Matter edition/, 15_000);
    await hb.waitForLog(/LAN discovery \(start\): done/, 15_000);
    // The scan found the twin too, but it was already reported: still one line for it, and none for the listed plug.
    expect(hb.logs.filter((l) => l.includes(twin.uuid) && l.includes('not added'))).toHaveLength(1);
    expect(hb.logs.filter((l) => l.includes('not added from'))).toHaveLength(2);
    const serials = (await accessories(hap)).map((a) => a.info(TYPES.SerialNumber)).sort();
    expect(serials).toEqual([KETTLE_UUID, listed.uuid].sort());
    expect(twin.requests.every((r) => r.namespace !== 'Appliance.Control.ToggleX')).toBe(true);
  });

  it('logs no key, crash, unhandled rejection or stack trace', () => {
    const text = hb.logs.join('\n');
    for (const secret of [KEY, 'owner-password', ...cloud.issuedTokens]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/unhandledRejection|uncaughtException|UnhandledPromiseRejection/i);
    expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(hb.running).toBe(true);
  });
});
