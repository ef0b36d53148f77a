import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudApi, cloudRequestBody, transportWithCa, type CloudTransport } from '../../src/cloud';
import { stripChannelNames } from '../../src/simulator';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const STRIP = '1811260947419629080534298f0a1b2c';
const PLUG = '2009113111806125175848e1e9000001';

describe('fake cloud device list: channels as the real cloud sends them', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  let transport: CloudTransport;

  beforeAll(async () => {
    cert = makeTestCert();
    transport = transportWithCa(cert.cert);
    const channels = stripChannelNames(4);
    channels[1] = { ...channels[1], devName: 'Lamp' };
    cloud = await FakeCloud.start(
      [
        {
          email: 'strip@example.com',
          password: 'pw',
          key: 'k',
          devices: [
            { uuid: PLUG, devName: 'Kettle' },
            { uuid: STRIP, devName: 'TV strip', deviceType: 'mss425e', fmwareVersion: '2.1.3', channels },
          ],
        },
      ],
      cert,
    );
  });

  afterAll(async () => {
    await cloud.stop();
    cert.cleanup();
  });

  it('lists [{}] for a plug and master + named outlets + USB for a strip', async () => {
    const api = new CloudApi({ baseUrl: cloud.url, transport, timeoutMs: 5000 });
    const session = await api.signIn({ email: 'strip@example.com', password: 'pw' });
    // The raw reply: the plugin's own client may not pass `channels` on, the fake cloud must send them anyway.
    const reply = await transport(new URL(`${session.domain}/v1/Device/devList`), JSON.stringify(cloudRequestBody({})), { Authorization: `Basic ${session.token}`, 'Content-Type': 'application/json' }, 5000);
    const list = (JSON.parse(reply.body) as { data: Array<{ uuid: string; channels: unknown }> }).data;
    expect(list.find((d) => d.uuid === PLUG)?.channels).toEqual([{}]);
    expect(list.find((d) => d.uuid === STRIP)?.channels).toEqual([
      {},
      { type: 'Switch', devName: 'Lamp', devIconId: 'device001' },
      { type: 'Switch', devName: 'Switch 2', devIconId: 'device001' },
      { type: 'Switch', devName: 'Switch 3', devIconId: 'device001' },
      { type: 'USB', devName: 'USB', devIconId: 'device001' },
    ]);
  });
});
