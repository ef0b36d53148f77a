import { afterEach, describe, expect, it } from 'vitest';
import { EveHistory, HistoryFormatError, HISTORY_INTERVAL_S, type EnergyCounter } from '../../src/homekit/history';
import {
  decodeHistoryRequest,
  decodeSetTime,
  encodeOnEntry,
  encodePowerEntry,
  encodeReferenceEntry,
  encodeStatus,
} from '../../src/homekit/history-frames';
import { Plug } from '../../src/plug/plug';
import { SimulatedPlug } from '../../src/simulator';

/**
 * Frames worked out by hand in shared/eve.md §3.6: a history started 2025-01-01T00:00:00Z (Eve seconds 757382400,
 * `00 BD 24 2D`), fingerprint `02 0702 0E01`, reference entry 1, 144 ten-minute entries up to #145, memory 4032.
 */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const STATUS_AFTER_145 = hex('80 51 01 00  00 00 00 00  00 BD 24 2D  02 07 02 0E 01  91 00  C0 0F  01 00 00 00  00 00 00 00  01 01');
const STATUS_AFTER_145_B64 = 'gFEBAAAAAAAAvSQtAgcCDgGRAMAPAQAAAAAAAAABAQ==';
const ENTRY_145_23_4W = hex('0C  91 00 00 00  80 51 01 00  01  EA 00');
const ENTRY_145_B64 = 'DJEAAACAUQEAAeoA';
const REFERENCE_1 = hex('15 01000000 01000000 81 00BD242D 00000000000000');
const OFF_146 = hex('0B 92000000 AC520100 02 00');
const START_S = 1_735_689_600;

/** What the Eve app writes to E863F11C: two bytes we do not interpret, the entry number, then padding. */
const requestFrom = (n: number): Buffer => {
  const b = hex('01 14 00000000 00 00 00 00');
  b.writeUInt32LE(n, 2);
  return b;
};

/** Splits one E863F117 reply into its entries by their length bytes. */
function frames(reply: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < reply.length; o += reply[o]) {
    expect(reply[o], `length byte at ${o}`).toBeGreaterThan(0);
    out.push(reply.subarray(o, o + reply[o]));
  }
  return out;
}

/** Runs a whole transfer the way the Eve app does: one request, then reads until the `00` reply. */
function transfer(history: EveHistory, from: number): { reads: Buffer[]; entries: Buffer[] } {
  history.request(requestFrom(from));
  const reads: Buffer[] = [];
  for (;;) {
    const reply = history.readEntries();
    reads.push(reply);
    if (reply.equals(hex('00'))) break;
    expect(reads.length).toBeLessThan(1000);
  }
  return { reads, entries: reads.slice(0, -1).flatMap(frames) };
}

/** The worked example's day: 144 entries of 23.4 W (3.9 Wh per 10 minutes) after a baseline at the start. */
function workedDay(): { history: EveHistory; clock: { ms: number } } {
  const clock = { ms: START_S * 1000 };
  const history = new EveHistory(() => clock.ms);
  let wh = 1000;
  history.prime({ wh, metered: true });
  for (let i = 1; i <= 144; i++) {
    clock.ms += HISTORY_INTERVAL_S * 1000;
    wh += 3.9;
    expect(history.tick({ wh, metered: true })).toBe(true);
  }
  return { history, clock };
}

describe('Eve history frames', () => {
  it('encodes the status, entries and reference entry exactly as worked out in eve.md', () => {
    const status = encodeStatus({ newestOffset: 86_400, initialTime: START_S, firstEntry: 1, lastEntry: 145, memorySize: 4032 });
    expect(status.toString('hex')).toBe(STATUS_AFTER_145.toString('hex'));
    expect(status.toString('base64')).toBe(STATUS_AFTER_145_B64);
    expect(encodePowerEntry(145, 86_400, 234).toString('hex')).toBe(ENTRY_145_23_4W.toString('hex'));
    expect(encodePowerEntry(145, 86_400, 234).toString('base64')).toBe(ENTRY_145_B64);
    expect(encodeReferenceEntry(1, START_S).toString('hex')).toBe(REFERENCE_1.toString('hex'));
    expect(encodeOnEntry(146, 86_700, false).toString('hex')).toBe(OFF_146.toString('hex'));
  });

  it('reads the entry number Eve asks for at byte 2, and the phone time as Eve seconds', () => {
    expect(decodeHistoryRequest(requestFrom(145))).toBe(145);
    expect(decodeHistoryRequest(hex('0114'))).toBeUndefined();
    // 2025-06-01T12:00:00Z is Eve 770472000 = 0x2DEC7840 (eve.md §2).
    expect(decodeSetTime(hex('40 78 EC 2D'))).toBe(Date.UTC(2025, 5, 1, 12) / 1000);
  });

  it('clamps power to what 16 bits hold', () => {
    expect(encodePowerEntry(2, 600, 70_000).readUInt16LE(10)).toBe(0xffff);
    expect(encodePowerEntry(2, 600, -5).readUInt16LE(10)).toBe(0);
  });
});

describe('Eve history log', () => {
  it('after a day of 23.4 W reports the status and entry #145 of the worked example', () => {
    const { history } = workedDay();
    expect(history.status().toString('base64')).toBe(STATUS_AFTER_145_B64);
    const { entries } = transfer(history, 145);
    expect(entries.map((e) => e.toString('base64'))).toEqual([ENTRY_145_B64]);
  });

  it('serves a transfer from entry 1 as Eve reads it: 11 entries per read, the reference first, then 00', () => {
    const { history } = workedDay();
    const { reads, entries } = transfer(history, 1);
    expect(reads).toHaveLength(Math.ceil(145 / 11) + 1);
    expect(reads.at(-1)!.toString('base64')).toBe('AA==');
    expect(frames(reads[0])).toHaveLength(11);
    expect(entries[0].toString('hex')).toBe(REFERENCE_1.toString('hex'));
    expect(entries.map((e) => e.readUInt32LE(1))).toEqual(Array.from({ length: 145 }, (_, i) => i + 1));
    for (const [i, e] of entries.slice(1).entries()) {
      expect(e.readUInt32LE(5), `time of entry ${i + 2}`).toBe((i + 1) * 600);
      expect(e.readUInt16LE(10)).toBe(234);
    }
    // A read outside a transfer ends it politely.
    expect(history.readEntries().toString('base64')).toBe('AA==');
  });

  it('starts a transfer at the first entry it still holds when Eve asks for 0 or for one that is gone', () => {
    const { history } = workedDay();
    expect(transfer(history, 0).entries[0].toString('hex')).toBe(REFERENCE_1.toString('hex'));
    expect(transfer(history, 140).entries.map((e) => e.readUInt32LE(1))).toEqual([140, 141, 142, 143, 144, 145]);
    expect(transfer(history, 146).entries).toEqual([]);
  });

  it('logs On/Off changes the moment they happen, between the 10-minute entries', () => {
    const { history, clock } = workedDay();
    clock.ms += 300_000;
    expect(history.recordOn(false)).toBe(true);
    expect(transfer(history, 146).entries.map((e) => e.toString('hex'))).toEqual([OFF_146.toString('hex')]);
    // The next power entry still averages over the full 10 minutes since the previous power entry.
    clock.ms += 300_000;
    history.tick({ wh: 1000 + 144 * 3.9 + 2, metered: true });
    const [next] = transfer(history, 147).entries;
    expect(next.readUInt16LE(10)).toBe(120);
  });

  it('invents no entries while the plug is unreachable; the plug meter then spreads the real energy over the gap', () => {
    const clock = { ms: START_S * 1000 };
    const history = new EveHistory(() => clock.ms);
    history.prime({ wh: 500, metered: true });
    for (let i = 0; i < 18; i++) {
      clock.ms += 600_000;
      expect(history.tick(undefined)).toBe(false);
    }
    expect(history.lastEntry).toBe(1);
    clock.ms += 600_000;
    // 19 intervals (3 h 10 min) later the meter has counted 57 Wh: 18 W on average.
    expect(history.tick({ wh: 557, metered: true })).toBe(true);
    expect(history.dataEntries).toEqual([{ time: START_S + 19 * 600, deciWatts: 180 }]);
  });

  it('does not bridge a gap with an estimated counter, which did not count meanwhile', () => {
    const clock = { ms: START_S * 1000 };
    const history = new EveHistory(() => clock.ms);
    history.prime({ wh: 10, metered: false });
    clock.ms += 3 * 600_000;
    expect(history.tick({ wh: 11, metered: false })).toBe(false);
    clock.ms += 600_000;
    expect(history.tick({ wh: 21, metered: false })).toBe(true);
    expect(history.dataEntries).toEqual([{ time: START_S + 4 * 600, deciWatts: 600 }]);
  });

  it('spaces entries 10 minutes apart in real time across a daylight-saving change, whatever the host zone', () => {
    // 2026-03-29 00:00Z to 03:00Z: London, Berlin and the rest of the EU move their clocks in this window; the test
    // also runs with the host in Los Angeles, Kolkata and Lord Howe (vitest.config.mts).
    const clock = { ms: Date.UTC(2026, 2, 29, 0, 0) };
    const history = new EveHistory(() => clock.ms);
    let wh = 500;
    history.prime({ wh, metered: true });
    for (let i = 0; i < 18; i++) {
      clock.ms += HISTORY_INTERVAL_S * 1000;
      wh += 10; // 60 W for 10 minutes
      history.tick({ wh, metered: true });
    }
    const entries = transfer(history, 2).entries;
    expect(entries).toHaveLength(18);
    const offsets = entries.map((e) => e.readUInt32LE(5));
    expect(offsets.slice(1).map((o, i) => o - offsets[i])).toEqual(Array.from({ length: 17 }, () => HISTORY_INTERVAL_S));
    expect(new Set(entries.map((e) => e.readUInt16LE(10)))).toEqual(new Set([600]));
  });

  it('writes 0 W rather than a negative figure when the counter went back', () => {
    const clock = { ms: START_S * 1000 };
    const history = new EveHistory(() => clock.ms);
    history.prime({ wh: 100, metered: true });
    clock.ms += 600_000;
    history.tick({ wh: 90, metered: true });
    clock.ms += 600_000;
    history.tick({ wh: 95, metered: true });
    expect(history.dataEntries.map((e) => ('deciWatts' in e ? e.deciWatts : -1))).toEqual([0, 300]);
  });

  it('keeps numbering on as the ring wraps, with the reference entry at the first number it holds', () => {
    const clock = { ms: START_S * 1000 };
    const history = new EveHistory(() => clock.ms, 5);
    history.prime({ wh: 0, metered: true });
    for (let i = 1; i <= 10; i++) {
      clock.ms += 600_000;
      history.tick({ wh: i, metered: true });
    }
    expect(history.lastEntry).toBe(11);
    expect(history.firstEntry).toBe(7);
    const status = history.status();
    expect(status.readUInt16LE(17)).toBe(5);
    expect(status.readUInt32LE(21)).toBe(7);
    const { entries } = transfer(history, 1);
    expect(entries.map((e) => e.readUInt32LE(1))).toEqual([7, 8, 9, 10, 11]);
    expect(entries[0][9]).toBe(0x81);
  });

  it('keeps power and On/Off entries in order across wraps, and a smaller memory keeps the newest on load', () => {
    const clock = { ms: START_S * 1000 };
    const history = new EveHistory(() => clock.ms, 8);
    history.prime({ wh: 0, metered: true });
    const expected: Array<{ time: number; deciWatts: number } | { time: number; on: boolean }> = [];
    for (let i = 1; i <= 40; i++) {
      clock.ms += 300_000;
      if (i % 3 === 0) {
        expect(history.recordOn(i % 2 === 0)).toBe(true);
        expected.push({ time: clock.ms / 1000, on: i % 2 === 0 });
      } else {
        history.prime({ wh: 0, metered: true });
        if (history.tick({ wh: i, metered: true })) expected.push(history.dataEntries.at(-1)!);
      }
    }
    expect(history.dataEntries).toEqual(expected.slice(-7));
    expect(history.firstEntry).toBe(history.lastEntry - 7);
    const loaded = EveHistory.fromJSON(JSON.parse(JSON.stringify(history)), () => clock.ms, 4);
    expect(loaded.dataEntries).toEqual(expected.slice(-3));
    expect(loaded.lastEntry).toBe(history.lastEntry);
    expect(loaded.firstEntry).toBe(history.lastEntry - 3);
  });

  it('writes nothing while the clock is unset, and starts its timeline at the first real time', () => {
    const clock = { ms: 40_000 };
    const history = new EveHistory(() => clock.ms);
    history.prime({ wh: 0, metered: true });
    expect(history.recordOn(true)).toBe(false);
    clock.ms = START_S * 1000;
    history.prime({ wh: 0, metered: true });
    expect(history.recordOn(true)).toBe(true);
    expect(history.reference).toBe(START_S);
    // A clock that jumps back later adds nothing before the newest entry.
    clock.ms -= 60_000;
    expect(history.recordOn(false)).toBe(false);
  });

  it('survives a save and load, carrying on with the same numbers and baseline', () => {
    const { history, clock } = workedDay();
    const saved = JSON.parse(JSON.stringify(history)) as unknown;
    const loaded = EveHistory.fromJSON(saved, () => clock.ms);
    expect(loaded.status().toString('base64')).toBe(STATUS_AFTER_145_B64);
    clock.ms += 600_000;
    const counter: EnergyCounter = { wh: 1000 + 145 * 3.9, metered: true };
    expect(loaded.tick(counter)).toBe(true);
    expect(loaded.lastEntry).toBe(146);
    expect(transfer(loaded, 146).entries[0].readUInt16LE(10)).toBe(234);
  });

  it('refuses a saved timeline from the future, and anything else it did not write', () => {
    const { history } = workedDay();
    const json = history.toJSON();
    expect(() => EveHistory.fromJSON(json, () => (START_S - 10) * 1000)).toThrow(HistoryFormatError);
    // A record of kind 3, and a string that is no whole number of 7-byte records.
    const unknownKind = Buffer.from([0x58, 0x02, 0, 0, 0, 0, 3]).toString('base64');
    for (const bad of [
      null,
      { version: 3 },
      { ...json, entries: [[1, 'dim']] },
      { ...json, entries: unknownKind },
      { ...json, entries: 'AAAA' },
      { ...json, lastEntry: 3 },
      { ...json, baseline: { time: 1 } },
      { version: 1, initialTime: START_S, lastEntry: 3, entries: 'AAAA' },
    ]) {
      expect(() => EveHistory.fromJSON(bad), JSON.stringify(bad).slice(0, 60)).toThrow(HistoryFormatError);
    }
  });

  it('reads a file in the earlier format (version 1: entries as JSON pairs) and saves it packed', () => {
    const clock = { ms: (START_S + 3600) * 1000 };
    const v1 = {
      version: 1,
      initialTime: START_S,
      lastEntry: 4,
      entries: [
        [600, 123],
        [700, 'on'],
        [1200, 45],
      ],
      baseline: { time: START_S + 1200, wh: 10.5, metered: true },
    };
    const expected = [
      { time: START_S + 600, deciWatts: 123 },
      { time: START_S + 700, on: true },
      { time: START_S + 1200, deciWatts: 45 },
    ];
    const loaded = EveHistory.fromJSON(v1, () => clock.ms);
    expect(loaded.dataEntries).toEqual(expected);
    expect(loaded.lastEntry).toBe(4);
    const saved = JSON.parse(JSON.stringify(loaded)) as { version: number; entries: unknown; baseline: unknown };
    expect(saved.version).toBe(2);
    expect(typeof saved.entries).toBe('string');
    expect(saved.baseline).toEqual(v1.baseline);
    const again = EveHistory.fromJSON(saved, () => clock.ms);
    expect(again.dataEntries).toEqual(expected);
    expect(again.status().toString('hex')).toBe(loaded.status().toString('hex'));
  });
});

describe('Eve history fed by a real plug model', () => {
  let sim: SimulatedPlug | undefined;
  let plug: Plug | undefined;
  afterEach(async () => {
    await plug?.stop();
    await sim?.stop();
  });

  it("draws each 10 minutes from the change of the plug's own meter", async () => {
    // One clock for the simulated plug and the plug model: an hour passes in no time.
    const clock = { ms: Date.UTC(2025, 0, 1, 10) };
    const now = (): number => clock.ms;
    sim = await SimulatedPlug.start({ firmware: 2, on: true, watts: 60, now });
    plug = new Plug({
      host: sim.address,
      key: sim.key,
      name: 'Lamp',
      pollIntervalMs: 60_000,
      energyPollIntervalMs: 0,
      timeoutMs: 500,
      outletInUseWatts: 2,
      now,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    });
    const history = new EveHistory(now);
    await plug.pollNow();
    history.prime(plug.energyCounter());
    for (let minute = 1; minute <= 60; minute++) {
      clock.ms += 60_000;
      await plug.pollNow();
      if (minute % 10 === 0) expect(history.tick(plug.energyCounter())).toBe(true);
    }
    // 60 W is 10 Wh per 10 minutes on the meter: 600 × 0.1 W in every entry.
    expect(history.dataEntries.map((e) => ('deciWatts' in e ? e.deciWatts : -1))).toEqual([600, 600, 600, 600, 600, 600]);
    expect(plug.energyCounter()?.metered).toBe(true);
  });
});
