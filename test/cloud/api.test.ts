import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudApi, CloudError, cloudText, md5Hex, transportWithCa, type CloudTransport } from '../../src/cloud';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const DEVICES = [
  { uuid: '2009113111806125175848e1e9000001', devName: 'Desk lamp' },
  { uuid: '2009113111806125175848e1e9000002', devName: 'Kettle', fmwareVersion: '1.1.18', hdwareVersion: '1.0.0' },
  {
    uuid: '2009113111806125175848e1e9000003',
    devName: 'Desk strip',
    deviceType: 'mss425e',
    // As MerossIot issue #9 shows a real MSS425E, one outlet renamed in the app, one malformed entry.
    channels: [{}, { type: 'Switch', devName: 'Monitor' }, { type: 'Switch', devName: 'Switch 2' }, { type: 'Switch', devName: 42 }, { type: 'USB', devName: 'USB' }],
  },
];

describe('Meross cloud API against a fake HTTPS cloud', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let transport: CloudTransport;
  const api = (): CloudApi => new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });

  beforeAll(async () => {
    cert = makeTestCert();
    transport = transportWithCa(cert.cert);
    cloud = await FakeCloud.start(
      [
        { email: 'plain@example.com', password: 'pw-plain', key: 'account-key-1', devices: DEVICES },
        { email: 'home@example.com', password: 'pw-home', key: 'k2', region: 'home', devices: [] },
        { email: 'mfa@example.com', password: 'pw-mfa', key: 'k3', mfaCode: '123456', devices: [] },
        { email: 'locked@example.com', password: 'pw-locked', key: 'k4', locked: true, devices: [] },
      ],
      cert,
    );
  });

  afterAll(async () => {
    await cloud.stop();
    cert.cleanup();
  });

  it('signs in through the region redirect and lists devices at the regional host', async () => {
    const before = cloud.requests.length;
    const session = await api().signIn({ email: 'Plain@Example.com', password: 'pw-plain' });
    expect(session).toMatchObject({ key: 'account-key-1', domain: cloud.regionUrl, userId: '1234567' });
    expect(session.token).toMatch(/^[0-9a-f]{48}$/);
    const calls = cloud.requests.slice(before);
    expect(calls.map((c) => [c.server, c.path, c.apiStatus])).toEqual([
      ['home', '/v1/Auth/signIn', 1030],
      ['region', '/v1/Auth/signIn', 0],
    ]);
    expect(calls.every((c) => c.signOk)).toBe(true);
    // The password travels as md5 only.
    expect(calls[0].data).toMatchObject({ email: 'Plain@Example.com', password: md5Hex('pw-plain'), encryption: 1, agree: 1 });
    expect(JSON.stringify(calls)).not.toContain('pw-plain');

    const devices = await api().devices(session);
    expect(devices).toEqual([
      { uuid: DEVICES[0].uuid, name: 'Desk lamp', type: 'mss310', subType: 'eu', firmware: '2.1.17', hardware: '2.0.0' },
      { uuid: DEVICES[1].uuid, name: 'Kettle', type: 'mss310', subType: 'eu', firmware: '1.1.18', hardware: '1.0.0' },
      {
        uuid: DEVICES[2].uuid,
        name: 'Desk strip',
        type: 'mss425e',
        subType: 'eu',
        firmware: '2.1.17',
        hardware: '2.0.0',
        channels: [
          { channel: 1, name: 'Monitor', usb: false },
          { channel: 2, name: 'Switch 2', usb: false },
          // A number where a name belongs reads as the name it spells, as for devName.
          { channel: 3, name: '42', usb: false },
          { channel: 4, name: 'USB', usb: true },
        ],
      },
    ]);
    expect(cloud.requests.at(-1)).toMatchObject({ server: 'region', path: '/v1/Device/devList', authorization: `Basic ${session.token}` });
  });

  it('signs in without a redirect when the account lives at the configured host', async () => {
    const session = await api().signIn({ email: 'home@example.com', password: 'pw-home' });
    expect(session.domain).toBe(cloud.url);
  });

  it('asks for MFA (1033), refuses a wrong code (1032), accepts the right one', async () => {
    const failure = (p: Promise<unknown>): Promise<CloudError> => p.then(() => Promise.reject(new Error('expected a failure')), (e: CloudError) => e);
    expect(await failure(api().signIn({ email: 'mfa@example.com', password: 'pw-mfa' }))).toMatchObject({ code: 'MFA_REQUIRED', apiStatus: 1033 });
    expect(await failure(api().signIn({ email: 'mfa@example.com', password: 'pw-mfa', mfaCode: '000000' }))).toMatchObject({
      code: 'WRONG_MFA_CODE',
      apiStatus: 1032,
    });
    await expect(api().signIn({ email: 'mfa@example.com', password: 'pw-mfa', mfaCode: '123456' })).resolves.toMatchObject({ key: 'k3' });
  });

  it('names wrong passwords, unknown emails and locked accounts, without repeating the password', async () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['plain@example.com', 'nope', 'WRONG_PASSWORD', /wrong email or password/],
      ['nobody@example.com', 'x', 'UNKNOWN_EMAIL', /not a Meross account/],
      ['locked@example.com', 'pw-locked', 'LOCKED', /locked or disabled/],
    ];
    for (const [email, password, code, message] of cases) {
      const error = await api()
        .signIn({ email, password })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CloudError);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(password);
    }
  });

  it('reports an expired token as TOKEN_EXPIRED', async () => {
    const session = await api().signIn({ email: 'plain@example.com', password: 'pw-plain' });
    cloud.expireTokens();
    await expect(api().devices(session)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED', apiStatus: 1200 });
  });

  it('verifies the certificate: an untrusted CA is unreachable, never silently accepted', async () => {
    const other = makeTestCert();
    try {
      const strict = new CloudApi({ baseUrl: cloud.url, transport: transportWithCa(other.cert), timeoutMs: 5000 });
      await expect(strict.signIn({ email: 'plain@example.com', password: 'pw-plain' })).rejects.toMatchObject({
        code: 'UNREACHABLE',
        message: expect.stringMatching(/TLS certificate is not trusted/),
      });
      // Global fetch knows only the system CAs here (no NODE_EXTRA_CA_CERTS in this process).
      const viaFetch = new CloudApi({ baseUrl: cloud.url, timeoutMs: 5000 });
      await expect(viaFetch.signIn({ email: 'plain@example.com', password: 'pw-plain' })).rejects.toMatchObject({ code: 'UNREACHABLE' });
    } finally {
      other.cleanup();
    }
  });

  it('reports a cloud that is down as unreachable', async () => {
    await cloud.down();
    try {
      await expect(api().signIn({ email: 'plain@example.com', password: 'pw-plain' })).rejects.toMatchObject({
        code: 'UNREACHABLE',
        message: expect.stringMatching(/ECONNREFUSED/),
      });
    } finally {
      await cloud.up();
    }
  });

  it('refuses a region redirect to a plain-http LAN host', async () => {
    const evil: CloudTransport = async () => ({ status: 200, body: JSON.stringify({ apiStatus: 1030, data: { domain: 'http://192.0.2.9' } }) });
    await expect(new CloudApi({ baseUrl: cloud.url, transport: evil }).signIn({ email: 'a@b.c', password: 'x' })).rejects.toMatchObject({
      code: 'BAD_REPLY',
      message: expect.stringMatching(/must use https/),
    });
  });
});

describe('cloud error text', () => {
  it('says "Meross cloud" once, whether or not the message names it already', () => {
    expect(cloudText('the Meross cloud refused: requested too frequently, try again in a while')).toBe(
      'The Meross cloud refused: requested too frequently, try again in a while',
    );
    expect(cloudText('cannot reach the cloud')).toBe('Meross cloud: cannot reach the cloud');
  });
});
