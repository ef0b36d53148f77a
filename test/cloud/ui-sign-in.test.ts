/**
 * The settings UI server (homebridge-ui/server.js, run over IPC as homebridge-config-ui-x runs it) signs in the
 * same way as `meross-lan login`: a new sign-in logs out the one it replaces, and a device list refused right
 * after the sign-in stores nothing and leaves no live token. Fake cloud on loopback.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UiServer } from '../e2e/ui/ui-server';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

describe('settings UI sign-in token hygiene', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let server: UiServer;
  let storage: string;

  beforeAll(async () => {
    cert = makeTestCert();
    cloud = await FakeCloud.start(
      [
        { email: 'ui@example.com', password: 'pw-ui', key: 'ui-key', devices: [{ uuid: '2009113111806125175848e1e9000009', devName: 'Lamp' }] },
        { email: 'refused@example.com', password: 'pw-refused', key: 'refused-key', devListStatus: 1043, devices: [] },
      ],
      cert,
    );
    storage = mkdtempSync(join(tmpdir(), 'meross-ui-sign-in-'));
    server = await UiServer.start(storage, { NODE_EXTRA_CA_CERTS: cert.certPath, MEROSS_CLOUD_URL: cloud.url });
  });

  afterAll(async () => {
    await server?.close();
    await cloud?.stop();
    cert?.cleanup();
    rmSync(storage, { recursive: true, force: true });
  });

  it('signing in twice leaves exactly one live token, the stored one', async () => {
    for (let i = 0; i < 2; i++) {
      const reply = await server.request('/sign-in', { email: 'ui@example.com', password: 'pw-ui', mfaCode: '' });
      expect(reply.success, JSON.stringify(reply.data)).toBe(true);
    }
    const cache = JSON.parse(readFileSync(join(storage, 'meross-lan', 'cloud.json'), 'utf8')) as { token: string };
    expect(cloud.liveTokens('ui@example.com')).toEqual([cache.token]);
    // An empty MFA field is not sent as an empty mfaCode.
    const signIns = cloud.requests.filter((r) => r.path === '/v1/Auth/signIn');
    expect(signIns.every((r) => !('mfaCode' in r.data))).toBe(true);
  });

  it('a device list refused right after the sign-in: an error, no token left live, nothing stored', async () => {
    const other = mkdtempSync(join(tmpdir(), 'meross-ui-refused-'));
    const refusing = await UiServer.start(other, { NODE_EXTRA_CA_CERTS: cert.certPath, MEROSS_CLOUD_URL: cloud.url });
    try {
      const reply = await refusing.request('/sign-in', { email: 'refused@example.com', password: 'pw-refused' });
      expect(reply.success).toBe(false);
      expect(reply.data.message).toBe(
        'The Meross cloud accepted the sign-in but then refused the device list (the Meross cloud refused: access to this resource is denied).',
      );
      expect(cloud.liveTokens('refused@example.com')).toEqual([]);
      expect(existsSync(join(other, 'meross-lan', 'cloud.json'))).toBe(false);
    } finally {
      await refusing.close();
      rmSync(other, { recursive: true, force: true });
    }
  });
});
