import type { Server } from 'node:http';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { expandRanges, parseSubnet, probe, scan, type Found } from '../../src/discovery';
import type { SimulatedPlug } from '../../src/simulator';
import { commonPort, loopback, notAPlug, SilentHosts, startPlugs } from './helpers';

const KEY_A = 'account-key-a';
const KEY_B = 'account-key-b';
const targets = (spec: string, port: number): Array<{ host: string; port: number }> =>
  expandRanges([parseSubnet(spec) as never]).map((host) => ({ host, port }));

describe('LAN scan over loopback plugs', () => {
  const sims: SimulatedPlug[] = [];
  const others: Array<Server | SilentHosts> = [];

  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await Promise.all(others.map((s) => (s instanceof SilentHosts ? s.stop() : new Promise((r) => s.close(r)))));
  });

  it('finds plugs with the right key, identifies the others by uuid, and ignores what is not a plug', async () => {
    const [a, b, c, web] = [5, 6, 7, 8].map((h) => loopback(1, h));
    const port = await commonPort([a, b, c, web]);
    const plugs = await startPlugs(port, [
      { host: a, key: KEY_A, firmware: 2 },
      { host: b, key: KEY_B, firmware: 2 },
      { host: c, key: KEY_A, firmware: 1 },
    ]);
    sims.push(...plugs);
    others.push(await notAPlug(web, port));

    const seen: Found[] = [];
    const found = await scan({ targets: targets('127.42.1.2-127.42.1.40', port), keys: [KEY_A], onFound: (f) => seen.push(f) });
    expect(found.map(({ host, port: p, uuid, model, firmware, keyOk }) => ({ host, port: p, uuid, model, firmware, keyOk }))).toEqual([
      { host: a, port, uuid: plugs[0].uuid, model: 'mss310', firmware: '2.1.17', keyOk: true },
      { host: b, port, uuid: plugs[1].uuid, model: null, firmware: null, keyOk: false },
      { host: c, port, uuid: plugs[2].uuid, model: 'mss310', firmware: '1.1.18', keyOk: true },
    ]);
    expect(seen).toHaveLength(3);
    // Results never carry a key, only which one worked.
    expect(JSON.stringify(found)).not.toContain(KEY_A);
    expect(found[0].keyIndex).toBe(0);

    // With both keys every plug is readable; each reports the key that worked.
    const both = await scan({ targets: targets('127.42.1.5-7', port), keys: [KEY_A, KEY_B] });
    expect(both.map((f) => [f.host, f.keyOk, f.keyIndex])).toEqual([
      [a, true, 0],
      [b, true, 1],
      [c, true, 0],
    ]);
    // A wrong key is one request per key: no retries, no hammering.
    expect(plugs[1].requests.filter((r) => !r.signOk).length).toBe(2);
  });

  it('follows two plugs that swapped addresses, by uuid', async () => {
    const [x, y] = [20, 21].map((h) => loopback(1, h));
    const port = await commonPort([x, y]);
    const [p, q] = await startPlugs(port, [
      { host: x, key: KEY_A },
      { host: y, key: KEY_A },
    ]);
    const before = await scan({ targets: targets('127.42.1.20-21', port), keys: [KEY_A] });
    expect(before.map((f) => [f.host, f.uuid])).toEqual([
      [x, p.uuid],
      [y, q.uuid],
    ]);
    await Promise.all([p.stop(), q.stop()]);
    const swapped = await startPlugs(port, [
      { host: x, key: KEY_A, uuid: q.uuid },
      { host: y, key: KEY_A, uuid: p.uuid },
    ]);
    sims.push(...swapped);
    const after = await scan({ targets: targets('127.42.1.20-21', port), keys: [KEY_A] });
    expect(after.map((f) => [f.host, f.uuid])).toEqual([
      [x, q.uuid],
      [y, p.uuid],
    ]);
  });

  it('keeps at most `concurrency` probes in flight and gives up on silent hosts after the reply timeout', async () => {
    const hosts = Array.from({ length: 48 }, (_, i) => loopback(2, 10 + i));
    const port = await commonPort(hosts);
    const silent = new SilentHosts();
    others.push(silent);
    await silent.start(hosts, port);
    const found = await scan({ targets: hosts.map((host) => ({ host, port })), keys: [KEY_A], concurrency: 8, replyTimeoutMs: 150 });
    expect(found).toEqual([]);
    expect(silent.requests).toBe(48);
    // 48 hosts 8 at a time (≈ 0.9 s), not one after another (7.2 s): told by the probes in flight, not a wall clock.
    expect(silent.maxInFlight).toBeLessThanOrEqual(8);
    expect(silent.maxInFlight).toBeGreaterThanOrEqual(4);
  });

  it('scans a whole /24 of loopback addresses in well under 10 s with the default settings', async () => {
    const live = [3, 77, 150, 254].map((h) => loopback(9, h));
    const silentHosts = Array.from({ length: 20 }, (_, i) => loopback(9, 100 + i));
    const port = await commonPort([...live, ...silentHosts]);
    sims.push(...(await startPlugs(port, live.map((host, i) => ({ host, key: i === 1 ? KEY_B : KEY_A })))));
    const silent = new SilentHosts();
    others.push(silent);
    await silent.start(silentHosts, port);
    const started = performance.now();
    const found = await scan({ targets: targets('127.42.9.0/24', port), keys: [KEY_A] });
    const ms = performance.now() - started;
    expect(found.map((f) => [f.host, f.keyOk])).toEqual([
      [live[0], true],
      [live[1], false],
      [live[2], true],
      [live[3], true],
    ]);
    // The silent ones cost one reply timeout (2.5 s) each, waited for together (32 probes at a time), never in turn.
    expect(silent.requests).toBe(20);
    expect(silent.maxInFlight).toBeGreaterThanOrEqual(10);
    console.info(`/24 scan (254 addresses, 4 plugs, 20 silent hosts): ${Math.round(ms)} ms`);
  });

  it('is refused quickly by an address where nothing listens', async () => {
    expect(await probe(loopback(3, 3), 9, [KEY_A])).toBeUndefined();
  });
});

describe('scan pool timing (virtual clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a /24 where no address answers at all finishes in 8 connect timeouts', async () => {
    vi.useFakeTimers();
    let inFlight = 0;
    let max = 0;
    // Every address silent: each probe lasts exactly the connect timeout, as on a LAN where ARP gets no answer.
    const silentProbe = (): Promise<undefined> => {
      inFlight++;
      max = Math.max(max, inFlight);
      return new Promise((resolve) =>
        setTimeout(() => {
          inFlight--;
          resolve(undefined);
        }, 1000),
      );
    };
    const start = Date.now();
    let done = false;
    const scanning = scan({ targets: targets('192.0.2.0/24', 80), keys: ['k'], probe: silentProbe }).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(7999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await scanning;
    expect(Date.now() - start).toBe(8000);
    expect(max).toBe(32);
  });
});
