import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Aedes } from 'aedes' with { 'resolution-mode': 'import' };
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Plug } from '../../src/plug/plug';
import { loadOrCreateCert } from '../../src/push/cert';
import { PushHub } from '../../src/push/hub';
import { SimulatedPlug, type RequestRecord } from '../../src/simulator';
import { logger, plugFor, storage, until, USER_ID, waitFor, type Captured } from './helpers';

/** The user's own broker, as mosquitto would be set up for Meross plugs: TLS for the plugs, plain TCP on the LAN. */
async function userBroker(dir: string): Promise<{ tls: TlsServer; tcp: TcpServer; broker: Aedes; tlsPort: number; tcpPort: number }> {
  const broker = await (await import('aedes')).Aedes.createBroker();
  const material = await loadOrCreateCert(dir, logger());
  const tls = createTlsServer({ cert: material.cert, key: material.key }, (s) => broker.handle(s));
  const tcp = createTcpServer((s) => broker.handle(s));
  const listen = (server: TlsServer | TcpServer): Promise<number> =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { tls, tcp, broker, tlsPort: await listen(tls), tcpPort: await listen(tcp) };
}

describe('local push through a broker the user runs', () => {
  const folder = storage();
  let external: Awaited<ReturnType<typeof userBroker>>;
  let hub: PushHub;
  let log: Captured;
  const sims: SimulatedPlug[] = [];
  const plugs: Plug[] = [];

  beforeAll(async () => {
    external = await userBroker(folder.dir);
    log = logger();
    hub = new PushHub({ config: { enabled: true, port: 8883, broker: `mqtt://user:s3cret@127.0.0.1:${external.tcpPort}`, userId: USER_ID }, dir: folder.dir, log });
    await hub.start();
    expect(hub.isUp).toBe(true);
  });

  afterEach(async () => {
    await Promise.all(plugs.splice(0).map((p) => p.stop()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });

  afterAll(async () => {
    await hub.stop();
    await new Promise<void>((resolve) => external.broker.close(() => resolve()));
    external.tls.close();
    external.tcp.close();
    folder.remove();
  });

  it('gets pushes and sends commands over it, and never logs its password', async () => {
    const sim = await SimulatedPlug.start({ firmware: 2, on: false, mqtt: { broker: `127.0.0.1:${external.tlsPort}`, userId: USER_ID, reconnectMs: 200 } });
    sims.push(sim);
    if (!sim.mqtt?.connected) await waitFor<[string]>(sim, 'mqtt', (s) => s === 'connected');
    const plug = plugFor(sim, logger());
    plugs.push(plug);
    hub.add(plug);
    plug.start();
    await waitFor<[string]>(plug, 'reachability', (s) => s === 'online');
    const pushed = waitFor<[{ on?: boolean }]>(plug, 'update', (c) => c.on === true);
    sim.press();
    await pushed;
    await plug.setOn(false);
    expect(sim.requests.filter((r) => r.method === 'SET' && r.namespace === 'Appliance.Control.ToggleX').map((r) => r.transport)).toEqual(['mqtt']);
    expect(log.text()).toMatch(new RegExp(`connected to the broker mqtt://127\\.0\\.0\\.1:${external.tcpPort}`));
    expect(log.text()).not.toContain('s3cret');
  });

  it('falls back to HTTP for a plug that is not on that broker', async () => {
    const sim = await SimulatedPlug.start({ firmware: 2, on: false });
    sims.push(sim);
    const plug = plugFor(sim, logger());
    plugs.push(plug);
    hub.add(plug);
    const polled = waitFor<[RequestRecord]>(sim, 'request');
    plug.start();
    await polled;
    await until(plug, 'reachability', () => plug.reachability === 'online');
    // One unanswered try over MQTT, then straight to HTTP: the command itself is never offered over MQTT (seen at
    // the broker, so no wall clock is needed to tell).
    const offered: string[] = [];
    const onPublish = (packet: { topic: string; payload: Buffer | string }): void => {
      if (packet.topic === `/appliance/${sim.uuid}/subscribe`) offered.push(String(packet.payload));
    };
    external.broker.on('publish', onPublish);
    await plug.setOn(true);
    external.broker.off('publish', onPublish);
    expect(offered.filter((m) => m.includes('"SET"'))).toEqual([]);
    expect(sim.isOn).toBe(true);
  });
});
