/**
 * The settings UI's server (homebridge-ui/server.js) as config-ui-x runs it: a fork()ed child on IPC, the built
 * plugin code, a fake Meross cloud over HTTPS (trusted through NODE_EXTRA_CA_CERTS, never by turning checks off)
 * and simulated plugs on loopback addresses.
 */
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug, type ToggleEvent } from '../../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from '../../cloud/fake-cloud';
import { commonPort } from '../../discovery/helpers';
import { freePort, makeTempDir } from '../homebridge';
import { UiServer } from './ui-server';

const ACCOUNT_KEY = 'account-key-ui-1';
const PASSWORD = 'correct horse battery staple';
const SUBNET = '127.43.1.0/29';
const host = (n: number): string => `127.43.1.${n}`;

/** Every file under dir, as text. */
function allText(dir: string): string {
  return readdirSync(dir)
    .map((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'utf8');
    })
    .join('\n');
}

describe('settings UI server (server.js over IPC)', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let plugs: SimulatedPlug[];
  let server: UiServer;
  let storage: string;
  let port: number;

  beforeAll(async () => {
    cert = makeTestCert();
    port = await commonPort([host(1), host(2), host(3)]);
    plugs = await Promise.all([
      SimulatedPlug.start({ host: host(1), port, key: ACCOUNT_KEY, name: 'Desk', on: true, watts: 42.5 }),
      SimulatedPlug.start({ host: host(2), port, key: ACCOUNT_KEY, name: 'Fridge', on: true, firmware: 1 }),
      SimulatedPlug.start({ host: host(3), port, key: 'someone-elses-key' }),
    ]);
    cloud = await FakeCloud.start(
      [
        {
          email: 'ui@example.com',
          password: PASSWORD,
          key: ACCOUNT_KEY,
          mfaCode: '246810',
          devices: [
            { uuid: plugs[0].uuid, devName: 'Desk lamp' },
            { uuid: plugs[1].uuid, devName: 'Fridge', fmwareVersion: '1.1.18' },
          ],
        },
      ],
      cert,
    );
    storage = makeTempDir('ui-server');
    server = await UiServer.start(storage, { NODE_EXTRA_CA_CERTS: cert.certPath, MEROSS_LAN_SUBNETS: SUBNET, MEROSS_CLOUD_URL: '' });
  });

  afterAll(async () => {
    await server?.close();
    await cloud?.stop();
    await Promise.all((plugs ?? []).map((p) => p.stop()));
    cert?.cleanup();
  });

  it('offers the discovery defaults (MEROSS_LAN_SUBNETS) and no account before a sign-in', async () => {
    const reply = await server.request('/state');
    expect(reply).toEqual({ success: true, data: { subnets: [SUBNET], subnetSource: 'MEROSS_LAN_SUBNETS', account: null } });
  });

  it('signs in with MFA, says clearly what is wrong at each step, and stores the token but never the password', async () => {
    const signIn = (extra: Record<string, unknown>): ReturnType<UiServer['request']> =>
      server.request('/sign-in', { email: 'ui@example.com', url: cloud.url, ...extra });

    expect((await signIn({ password: '' })).data).toMatchObject({ message: expect.stringMatching(/Enter the password/), error: { field: 'password' } });
    expect((await signIn({ password: 'wrong' })).data).toMatchObject({ message: expect.stringMatching(/^Wrong email or password/), error: { code: 'WRONG_PASSWORD' } });
    expect((await server.request('/sign-in', { email: 'nobody@example.com', password: 'x', url: cloud.url })).data.error).toMatchObject({ code: 'UNKNOWN_EMAIL' });
    const mfa = await signIn({ password: PASSWORD });
    expect(mfa.success).toBe(false);
    expect(mfa.data).toMatchObject({ message: expect.stringMatching(/MFA code/), error: { code: 'MFA_REQUIRED', field: 'mfa' } });
    expect((await signIn({ password: PASSWORD, mfaCode: '000000' })).data).toMatchObject({
      message: expect.stringMatching(/MFA code was wrong/),
      error: { code: 'WRONG_MFA_CODE' },
    });

    const ok = await signIn({ password: PASSWORD, mfaCode: ' 246 810 ' });
    expect(ok.success).toBe(true);
    // The account lives on the other regional server: the reply says so.
    expect(ok.data).toEqual({
      email: 'ui@example.com',
      key: ACCOUNT_KEY,
      devices: [expect.objectContaining({ uuid: plugs[0].uuid, name: 'Desk lamp' }), expect.objectContaining({ uuid: plugs[1].uuid, firmware: '1.1.18' })],
      region: new URL(cloud.regionUrl).host,
    });
    expect(JSON.stringify(ok.data)).not.toMatch(new RegExp(cloud.issuedTokens.join('|')));

    const cachePath = join(storage, 'meross-lan', 'cloud.json');
    expect(statSync(cachePath).mode & 0o777).toBe(0o600);
    const cache = JSON.parse(readFileSync(cachePath, 'utf8')) as Record<string, unknown>;
    expect(cache).toMatchObject({ email: 'ui@example.com', key: ACCOUNT_KEY, token: cloud.issuedTokens.at(-1), domain: cloud.regionUrl, base: cloud.url });
    expect(allText(storage)).not.toContain(PASSWORD);
    expect(server.output.join('')).not.toContain(PASSWORD);

    // Opening the dialog again: the remembered account, without asking for the password.
    expect((await server.request('/state')).data.account).toMatchObject({ email: 'ui@example.com', key: ACCOUNT_KEY, devices: [{ name: 'Desk lamp' }, { name: 'Fridge' }] });
  });

  it('reports an unreachable cloud as a network error', async () => {
    const closed = await freePort();
    const reply = await server.request('/sign-in', { email: 'ui@example.com', password: PASSWORD, url: `https://127.0.0.1:${closed}` });
    expect(reply.data).toMatchObject({ message: expect.stringMatching(/^Network error: cannot reach the Meross cloud at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/), error: { code: 'UNREACHABLE' } });
    expect(reply.data.message).not.toContain(PASSWORD);
  });

  it('reports a region redirect that leads nowhere', async () => {
    // A cloud that sends every sign-in to another region: itself.
    const loop = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      req.resume();
      const self = `https://127.0.0.1:${(loop.address() as AddressInfo).port}`;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiStatus: 1030, data: { domain: self }, info: 'redirect' }));
    });
    loop.listen(0, '127.0.0.1');
    await once(loop, 'listening');
    try {
      const url = `https://127.0.0.1:${(loop.address() as AddressInfo).port}`;
      const reply = await server.request('/sign-in', { email: 'ui@example.com', password: PASSWORD, url });
      expect(reply.data).toMatchObject({ message: expect.stringMatching(/^Region redirect failed: .*keeps redirecting/), error: { code: 'REGION' } });
    } finally {
      loop.closeAllConnections();
      loop.close();
    }
  });

  it('finds the plugs on the given subnets, with the key each one accepts', async () => {
    const bad = await server.request('/find', { subnets: '127.43.1.0/29, 10.0.0.0/8', port });
    expect(bad.data).toMatchObject({ message: expect.stringMatching(/^Subnets: "10\.0\.0\.0\/8" is too large/), error: { field: 'subnets' } });

    const reply = await server.request('/find', { subnets: SUBNET, port, keys: [ACCOUNT_KEY] });
    expect(reply.success).toBe(true);
    expect(reply.data).toMatchObject({ scanned: [SUBNET], addresses: 6 });
    expect(reply.data.plugs).toEqual([
      { host: `${host(1)}:${port}`, uuid: plugs[0].uuid, model: 'mss310', firmware: '2.1.17', keyOk: true, key: ACCOUNT_KEY, online: true },
      { host: `${host(2)}:${port}`, uuid: plugs[1].uuid, model: 'mss310', firmware: '1.1.18', keyOk: true, key: ACCOUNT_KEY, online: true },
      { host: `${host(3)}:${port}`, uuid: plugs[2].uuid, model: null, firmware: null, keyOk: false, online: true },
    ]);
  });

  it('adds a plug by address with its own key, and reports an address where nothing answers', async () => {
    const added = await server.request('/add', { host: `${host(3)}:${port}`, key: 'someone-elses-key', keys: [ACCOUNT_KEY] });
    expect(added.data).toMatchObject({ host: `${host(3)}:${port}`, uuid: plugs[2].uuid, keyOk: true, key: 'someone-elses-key', online: true });
    expect((await server.request('/add', { host: `${host(6)}:${port}`, key: '' })).data).toEqual({ host: `${host(6)}:${port}`, online: false });
    expect((await server.request('/add', { host: 'not a host', key: '' })).data.error).toEqual({ field: 'host' });
  });

  it('tests a plug by reading it, and switches it only when the switch is confirmed and the plug is the one meant', async () => {
    const desk = plugs[0];
    const target = { host: desk.address, key: ACCOUNT_KEY, uuid: desk.uuid };
    const before = desk.requests.length;
    const reading = await server.request('/test', target);
    expect(reading.data).toMatchObject({ on: true, uuid: desk.uuid, watts: 42.5 });
    expect(desk.requests.slice(before).map((r) => r.namespace)).toContain('Appliance.Control.Electricity');
    expect(desk.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);

    const toggles: ToggleEvent[] = [];
    desk.on('toggle', (e) => toggles.push(e));
    expect((await server.request('/switch', { ...target, on: false })).data).toMatchObject({ error: { field: 'confirm' } });
    expect((await server.request('/switch', { ...target, on: false, confirm: 'yes' })).success).toBe(false);
    // Another plug's uuid at this address: nothing is switched.
    const wrong = await server.request('/switch', { ...target, uuid: plugs[1].uuid, on: false, confirm: true });
    expect(wrong.data).toMatchObject({ error: { code: 'WRONG_DEVICE' } });
    expect(desk.requests.filter((r) => r.method === 'SET')).toEqual([]);
    expect(toggles).toEqual([]);

    const toggled = once(desk, 'toggle');
    const switched = await server.request('/switch', { ...target, on: false, confirm: true });
    expect(switched.data).toEqual({ on: false });
    expect(await toggled).toEqual([{ on: false, source: 'request', channel: 0 }]);
    expect(desk.isOn).toBe(false);

    const fridge = await server.request('/test', { host: plugs[1].address, key: 'wrong', uuid: plugs[1].uuid });
    expect(fridge.data).toMatchObject({ message: expect.stringMatching(/rejected the device key/), error: { code: 'WRONG_KEY' } });
  });

  it('exits when the dialog closes (the IPC channel drops)', async () => {
    expect(await server.close()).not.toBeNull();
  });
});
