import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LanDiscovery, Locator, UnplacedClient } from '../../src/discovery';
import { MerossClient } from '../../src/meross';
import { Plug } from '../../src/plug/plug';
import { PlugFollower } from '../../src/registry/follow';
import type { SimulatedPlug } from '../../src/simulator';
import { commonPort, Log, loopback, startPlugs } from './helpers';

const KEY = 'follow-key';
const sims: SimulatedPlug[] = [];
const plugs: Plug[] = [];
let locator: Locator | undefined;

afterEach(async () => {
  locator?.stop();
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

/** The registry's own IP following: the plug model adapted to the locator, fed its reachability. */
function follow(plug: Plug, loc: Locator): void {
  new PlugFollower(loc).follow(plug);
}

function makePlug(name: string, host: string, uuid: string | undefined, log: Log): Plug {
  const plug = new Plug({
    host,
    key: KEY,
    uuid,
    name,
    pollIntervalMs: 200,
    energyPollIntervalMs: 60_000,
    timeoutMs: 500,
    outletInUseWatts: 2,
    log,
    createClient: (o) => (o.host === 'unplaced' ? new UnplacedClient(o) : new MerossClient(o)),
  });
  plugs.push(plug);
  return plug;
}

function onlineAt(plug: Plug, address: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (plug.reachability === 'online' && plug.client.label === address) {
        plug.off('reachability', check);
        resolve();
      }
    };
    plug.on('reachability', check);
    check();
  });
}

describe('following plugs to new addresses', () => {
  it('two plugs that swap addresses are moved back to their own uuids, keeping state', async () => {
    const [x, y] = [5, 6].map((h) => loopback(4, h));
    const port = await commonPort([x, y]);
    const log = new Log();
    const [simA, simB] = await startPlugs(port, [
      { host: x, key: KEY, on: true },
      { host: y, key: KEY, on: false },
    ]);
    const discovery = new LanDiscovery({ subnets: ['127.42.4.2-127.42.4.30'], port, env: {}, interfaces: () => ({}), keys: () => [KEY], log });
    locator = new Locator({ scan: (reason, last) => discovery.scan(reason, last), rescanAfterMs: 60_000, log });
    const a = makePlug('Lamp', simA.address, simA.uuid, log);
    const b = makePlug('Kettle', simB.address, simB.uuid, log);
    follow(a, locator);
    follow(b, locator);
    a.start();
    b.start();
    await Promise.all([onlineAt(a, simA.address), onlineAt(b, simB.address)]);
    expect([a.snapshot.on, b.snapshot.on]).toEqual([true, false]);

    // DHCP hands the two addresses out the other way round.
    await Promise.all([simA.stop(), simB.stop()]);
    sims.push(
      ...(await startPlugs(port, [
        { host: y, key: KEY, uuid: simA.uuid, mac: simA.mac, on: true },
        { host: x, key: KEY, uuid: simB.uuid, mac: simB.mac, on: false },
      ])),
    );
    await Promise.all([onlineAt(a, `${y}:${port}`), onlineAt(b, `${x}:${port}`)]);
    expect([a.uuid, b.uuid]).toEqual([simA.uuid, simB.uuid]);
    expect([a.snapshot.on, b.snapshot.on]).toEqual([true, false]);
    expect(log.lines).toContainEqual(['info', `Lamp: found at ${y}:${port} (was ${x}:${port}); using the new address.`]);
    expect(log.lines).toContainEqual(['info', `Kettle: found at ${x}:${port} (was ${y}:${port}); using the new address.`]);
    // Never controlled through the wrong plug: the swap was seen as a different device, not followed blindly.
    expect(log.lines.some(([level, m]) => level === 'error' && /a different Meross device/.test(m))).toBe(true);
  });

  it('a plug that stopped answering is searched after the grace period and found at its new address', async () => {
    const [x, z] = [10, 11].map((h) => loopback(4, h));
    const port = await commonPort([x, z]);
    const log = new Log();
    const [sim] = await startPlugs(port, [{ host: x, key: KEY, on: true }]);
    const discovery = new LanDiscovery({ subnets: ['127.42.4.2-127.42.4.30'], port, env: {}, interfaces: () => ({}), keys: () => [KEY], log });
    let scans = 0;
    locator = new Locator({
      scan: (reason, last) => {
        scans++;
        return discovery.scan(reason, last);
      },
      rescanAfterMs: 300,
      log,
    });
    const plug = makePlug('Heater', sim.address, sim.uuid, log);
    follow(plug, locator);
    plug.start();
    await onlineAt(plug, sim.address);

    await sim.stop();
    const [moved] = await startPlugs(port, [{ host: z, key: KEY, uuid: sim.uuid, mac: sim.mac, on: true }]);
    sims.push(moved);
    await once(plug, 'reachability');
    expect(plug.reachability).toBe('offline');
    expect(scans).toBe(0);
    await onlineAt(plug, `${z}:${port}`);
    expect(scans).toBe(1);
    expect(plug.snapshot.on).toBe(true);
  });

  it('a plug known by uuid only is placed by the first scan', async () => {
    const host = loopback(4, 20);
    const port = await commonPort([host]);
    const log = new Log();
    const [sim] = await startPlugs(port, [{ host, key: KEY }]);
    sims.push(sim);
    const discovery = new LanDiscovery({ subnets: ['127.42.4.16/28'], port, env: {}, interfaces: () => ({}), keys: () => [KEY], log });
    locator = new Locator({ scan: (reason, last) => discovery.scan(reason, last), rescanAfterMs: 60_000, log });
    const plug = makePlug('Fan', 'unplaced', sim.uuid, log);
    const moves: Array<[Plug, string]> = [];
    new PlugFollower(locator, (moved, address) => moves.push([moved, address])).follow(plug);
    plug.start();
    await onlineAt(plug, sim.address);
    // The registry hears of each move, to remember the address for the next start.
    expect(moves).toEqual([[plug, sim.address]]);
    expect(log.lines).toContainEqual(['warn', 'Fan: its address is not known yet; searching the LAN for it. HomeKit shows No Response until it answers again.']);
    expect(log.lines).toContainEqual(['info', `Fan: found at ${sim.address}; using the new address.`]);
  });

  it('sends nothing when the only interface subnets cannot hold the lost plug', async () => {
    const log = new Log();
    const discovery = new LanDiscovery({
      port: 80,
      env: {},
      interfaces: () => ({ eth0: [{ address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: '192.0.2.2/24' }] }),
      keys: () => [KEY],
      log,
    });
    // A plug last seen on loopback is never looked for on the LAN (no probe is sent: the result is immediate).
    expect(await discovery.scan('test', ['127.0.0.1:8080'])).toEqual([]);
    expect(log.lines).toEqual([['debug', "LAN discovery (test): no subnet of this host's network holds 127.0.0.1:8080; nothing scanned."]]);
    // Nor is one known by host name (DNS follows it), unless some lost plug never had an address at all.
    expect(await discovery.scan('test', ['plug.lan'])).toEqual([]);
    expect(log.lines).toHaveLength(2);
  });
});
