import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Locator, type Found, type Locatable } from '../../src/discovery';
import { Log } from './helpers';

function fakePlug(name: string, uuid: string, address: string | undefined): Locatable & { moves: string[] } {
  const plug = {
    name,
    uuid,
    address,
    moves: [] as string[],
    moveTo(a: string) {
      plug.address = a;
      plug.moves.push(a);
    },
  };
  return plug;
}

const found = (uuid: string, host: string, port = 80): Found => ({ host, port, uuid, model: 'mss310', firmware: '2.1.17', keyOk: true });

describe('locator scheduling (virtual clock)', () => {
  let log: Log;
  let results: Found[];
  let scans: Array<{ reason: string; last: readonly (string | undefined)[] | undefined; at: number }>;
  let release: (() => void) | undefined;
  let hold = false;
  const locator = (): Locator =>
    new Locator({
      log,
      rescanAfterMs: 300_000,
      scan: async (reason, last) => {
        scans.push({ reason, last, at: Date.now() });
        if (hold) await new Promise<void>((r) => (release = r));
        return results;
      },
    });

  beforeEach(() => {
    vi.useFakeTimers();
    log = new Log();
    results = [];
    scans = [];
    hold = false;
  });
  afterEach(() => vi.useRealTimers());

  it('waits 5 minutes for an unreachable plug, then backs off up to 30 minutes while it stays lost', async () => {
    const loc = locator();
    const plug = fakePlug('Lamp', 'u1', '192.0.2.10');
    const t0 = Date.now();
    loc.lost(plug, 'unreachable');
    loc.lost(plug, 'unreachable'); // a repeat does not restart the clock
    await vi.advanceTimersByTimeAsync(299_999);
    expect(scans).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(scans).toEqual([{ reason: 'looking for Lamp', last: ['192.0.2.10'], at: t0 + 300_000 }]);
    await vi.advanceTimersByTimeAsync(4 * 3_600_000);
    const gaps = scans.slice(1).map((s, i) => (s.at - scans[i].at) / 60_000);
    expect(gaps.slice(0, 4)).toEqual([5, 10, 20, 30]);
    expect(Math.max(...gaps)).toBe(30);
    loc.stop();
  });

  it('searches at once for a wrong device or no address, and stops once the plug answers', async () => {
    const loc = locator();
    const a = fakePlug('A', 'u1', '192.0.2.10');
    const b = fakePlug('B', 'u2', undefined);
    results = [found('u1', '192.0.2.11'), found('u2', '192.0.2.12', 8080)];
    loc.lost(a, 'wrong-device');
    loc.lost(b, 'no-address');
    await vi.advanceTimersByTimeAsync(0);
    // Both requests shared one scan, which moved both plugs.
    expect(scans).toHaveLength(1);
    expect(scans[0].last).toEqual(['192.0.2.10', undefined]);
    expect(a.moves).toEqual(['192.0.2.11']);
    expect(b.moves).toEqual(['192.0.2.12:8080']);
    expect(log.lines).toEqual([
      ['info', 'A: found at 192.0.2.11 (was 192.0.2.10); using the new address.'],
      ['info', 'B: found at 192.0.2.12:8080; using the new address.'],
    ]);
    loc.recovered(a);
    loc.recovered(b);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(scans).toHaveLength(1);
    loc.stop();
  });

  it('joins a running scan instead of starting another, and never moves a plug to another uuid', async () => {
    const loc = locator();
    hold = true;
    const a = fakePlug('A', 'u1', '192.0.2.10');
    results = [found('u9', '192.0.2.11')];
    const first = loc.scanNow('periodic');
    loc.lost(a, 'wrong-device');
    await vi.advanceTimersByTimeAsync(0);
    const second = loc.scanNow('asked');
    expect(scans).toHaveLength(1);
    release?.();
    expect(await first).toBe(await second);
    expect(a.moves).toEqual([]);
    loc.stop();
  });
});
