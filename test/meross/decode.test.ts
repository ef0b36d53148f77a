import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decodeAbility,
  decodeConsumption,
  decodeElectricity,
  decodeSystemAll,
  decodeRelays,
  decodeToggle,
} from '../../src/meross/decode';

// Fixture payloads below are small excerpts derived from arandall/meross (MIT) and krahabb/meross_lan traces (MIT);
// see /work/shared/traces/README.md. Obfuscated identifiers were replaced by plausible ones of the same shape.

/** fw 1.1.13 System.All payload, derived from arandall/meross (MIT) GETACK-system-all.json (timer/trigger lists trimmed). */
const ALL_FW1 = {
  all: {
    system: {
      hardware: {
        type: 'mss310',
        subType: 'us',
        version: '1.0.0',
        chipType: 'MT7688',
        uuid: '11111111111111111111111111111111',
        macAddress: '34:29:8F:FF:FF:FF',
      },
      firmware: {
        version: '1.1.13',
        compileTime: '2018-06-01 09:56:24',
        wifiMac: 'ff:ff:ff:ff:ff:ff',
        innerIp: '192.0.2.21',
        server: 'iot.meross.com',
        port: 2001,
        secondServer: 'smart.meross.com',
        secondPort: 2001,
        userId: 12345,
      },
      time: { timestamp: 1560144444, timezone: 'Australia/Sydney', timeRule: [[1554566400, 36000, 0], [1570291200, 39600, 1]] },
      online: { status: 1 },
    },
    control: { toggle: { onoff: 1, lmTime: 1560124804 }, trigger: [], timer: [] },
  },
};

/** fw 2.1.17 System.All payload, derived from krahabb/meross_lan traces (MIT); `port`/`userId` stay obfuscated ("@0"). */
const ALL_FW2 = {
  all: {
    system: {
      hardware: {
        type: 'mss310',
        subType: 'us',
        version: '2.0.0',
        chipType: 'MT7682',
        uuid: '20091131118061251h5748e1e9334e2b',
        macAddress: '48:e1:e9:33:4e:2b',
      },
      firmware: {
        version: '2.1.17',
        compileTime: '2022/08/19 10:05:03 GMT +08:00',
        wifiMac: '2c:6e:a4:55:c6:47',
        innerIp: '198.51.100.20',
        server: 'mqtt-eu.meross.com',
        port: '@0',
        userId: '@0',
      },
      time: { timestamp: 1681841111, timezone: 'Europe/London', timeRule: [[1648342800, 3600, 1], [1667091600, 0, 0]] },
      online: { status: 1 },
    },
    digest: { togglex: [{ channel: 0, onoff: 0, lmTime: 1681840534 }], triggerx: [], timerx: [] },
  },
};

/** fw 1.1.13 Ability payload (with the stray inner payloadVersion), derived from arandall/meross (MIT). */
const ABILITY_FW1 = {
  payloadVersion: 1,
  ability: {
    'Appliance.Config.Key': {},
    'Appliance.System.All': {},
    'Appliance.System.Ability': {},
    'Appliance.System.DNDMode': {},
    'Appliance.Control.Toggle': {},
    'Appliance.Control.Timer': {},
    'Appliance.Control.Trigger': {},
    'Appliance.Control.Consumption': {},
    'Appliance.Control.ConsumptionX': {},
    'Appliance.Control.Electricity': {},
    'Appliance.Control.Upgrade': {},
  },
};

/** fw 2.1.17 Ability payload (excerpt), derived from krahabb/meross_lan traces (MIT). */
const ABILITY_FW2 = {
  payloadVersion: 1,
  ability: {
    'Appliance.Config.Key': {},
    'Appliance.System.All': {},
    'Appliance.System.Ability': {},
    'Appliance.System.DNDMode': {},
    'Appliance.Control.Multiple': { maxCmdNum: 5 },
    'Appliance.Control.ToggleX': {},
    'Appliance.Control.TimerX': { sunOffsetSupport: 1 },
    'Appliance.Control.ConsumptionX': {},
    'Appliance.Control.Electricity': {},
    'Appliance.Control.ConsumptionConfig': {},
  },
};

function expectDecodeError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DecodeError);
  expect(thrown).not.toBeInstanceOf(TypeError);
}

describe('decodeSystemAll', () => {
  it('reads a fw 1.1.13 reply (control.toggle)', () => {
    expect(decodeSystemAll(ALL_FW1)).toEqual({
      uuid: '11111111111111111111111111111111',
      mac: '34:29:8f:ff:ff:ff',
      model: 'mss310',
      subType: 'us',
      hardwareVersion: '1.0.0',
      firmwareVersion: '1.1.13',
      chipType: 'MT7688',
      lanIp: '192.0.2.21',
      on: true,
      relays: new Map([[0, true]]),
      deviceTime: 1560144444,
      timezone: 'Australia/Sydney',
      // The fixture's rules, as the plug applies them: AEST from April 2019, AEDT from October.
      timeRules: [
        [1554566400, 36000, 0],
        [1570291200, 39600, 1],
      ],
    });
  });

  it('reads a fw 2.1.17 reply (digest.togglex list), obfuscated "@0" numbers and all', () => {
    expect(decodeSystemAll(ALL_FW2)).toEqual({
      uuid: '20091131118061251h5748e1e9334e2b',
      mac: '48:e1:e9:33:4e:2b',
      model: 'mss310',
      subType: 'us',
      hardwareVersion: '2.0.0',
      firmwareVersion: '2.1.17',
      chipType: 'MT7682',
      lanIp: '198.51.100.20',
      on: false,
      relays: new Map([[0, false]]),
      deviceTime: 1681841111,
      timezone: 'Europe/London',
      // The trace's 20 London rules, unchanged: numbers already, sorted already.
      timeRules: (ALL_FW2.all as unknown as { system: { time: { timeRule: unknown } } }).system.time.timeRule,
    });
    expect(decodeSystemAll(ALL_FW2).timeRules?.slice(0, 2)).toEqual([
      [1648342800, 3600, 1],
      [1667091600, 0, 0],
    ]);
  });

  it('coerces numbers sent as numeric strings', () => {
    const all = structuredClone(ALL_FW2);
    const loose = all.all as unknown as { system: { time: Record<string, unknown> }; digest: { togglex: Array<Record<string, unknown>> } };
    loose.system.time.timestamp = '1681841111';
    loose.digest.togglex[0].onoff = '1';
    const info = decodeSystemAll(all);
    expect(info.deviceTime).toBe(1681841111);
    expect(info.on).toBe(true);
  });

  it('treats an unset timezone, empty innerIp and missing time as absent (unsynced fw 1.1.13 shape)', () => {
    const all = structuredClone(ALL_FW1);
    const loose = all.all.system as unknown as Record<string, Record<string, unknown>>;
    loose.time = { timestamp: 40, timezone: '', timeRule: [] };
    loose.firmware.innerIp = '';
    const info = decodeSystemAll(all);
    expect(info.deviceTime).toBe(40);
    expect(info.timezone).toBeUndefined();
    expect(info.timeRules).toEqual([]);
    expect(info.lanIp).toBeUndefined();
    delete loose.time;
    expect(decodeSystemAll(all).deviceTime).toBeUndefined();
  });

  it('picks channel 0 from a multi-channel digest', () => {
    const all = structuredClone(ALL_FW2);
    all.all.digest.togglex = [
      { channel: 1, onoff: 0, lmTime: 1 },
      { channel: 0, onoff: 1, lmTime: 2 },
    ];
    expect(decodeSystemAll(all).on).toBe(true);
    expect(decodeSystemAll(all).relays).toEqual(new Map([[1, false], [0, true]]));
  });

  it('reads every channel of a strip digest; without channel 0 the master reads on while any outlet is on', () => {
    const all = structuredClone(ALL_FW2);
    all.all.digest.togglex = [1, 2, 3].map((channel) => ({ channel, onoff: channel === 2 ? 1 : 0, lmTime: 1 }));
    const info = decodeSystemAll(all);
    expect([...info.relays]).toEqual([[1, false], [2, true], [3, false]]);
    expect(info.on).toBe(true);
  });
});

describe('decodeToggle', () => {
  it('reads the ToggleX object form with a stray top-level channel (MSS310 2.1.x)', () => {
    // Shape derived from krahabb/meross_lan traces (MIT).
    expect(decodeToggle({ channel: 0, togglex: { channel: 0, onoff: 1, lmTime: 1708530599 } }, 'Appliance.Control.ToggleX')).toBe(true);
    expect(decodeToggle({ channel: 0, togglex: { channel: 0, onoff: 0, lmTime: 1708530599 } }, 'Appliance.Control.ToggleX')).toBe(false);
  });

  it('reads the ToggleX list form (mss305 8.3.15, top-level channel 4294967295)', () => {
    // Shape derived from krahabb/meross_lan traces (MIT).
    const single = { channel: 4294967295, togglex: [{ channel: 0, onoff: 1, lmTime: 1739780266 }] };
    expect(decodeToggle(single, 'Appliance.Control.ToggleX')).toBe(true);
    const several = { channel: 4294967295, togglex: [{ channel: 1, onoff: 1 }, { channel: 0, onoff: 0 }] };
    expect(decodeToggle(several, 'Appliance.Control.ToggleX')).toBe(false);
    // No channel 0 at all: the first entry.
    const odd = { channel: 4294967295, togglex: [{ channel: 4294967295, onoff: 1 }] };
    expect(decodeToggle(odd, 'Appliance.Control.ToggleX')).toBe(true);
  });

  it('decodeRelays names every channel of a push or reply; Toggle has only channel 0', () => {
    const push = { togglex: [{ channel: 2, onoff: 1, lmTime: 1 }, { channel: 0, onoff: 1, lmTime: 1 }] };
    expect(decodeRelays(push, 'Appliance.Control.ToggleX')).toEqual(new Map([[2, true], [0, true]]));
    expect(decodeRelays({ togglex: { onoff: 0 } }, 'Appliance.Control.ToggleX')).toEqual(new Map([[0, false]]));
    expect(decodeRelays({ toggle: { onoff: 1 } }, 'Appliance.Control.Toggle')).toEqual(new Map([[0, true]]));
    for (const bad of [{ togglex: [] }, { togglex: [{ channel: -1, onoff: 1 }] }, { togglex: [{ channel: 1.5, onoff: 1 }] }, { togglex: [null] }]) {
      expect(() => decodeRelays(bad, 'Appliance.Control.ToggleX')).toThrow(DecodeError);
    }
  });

  it('reads the fw 1.x Toggle form', () => {
    // Shape derived from krahabb/meross_lan traces (MIT), fw 1.1.18.
    expect(decodeToggle({ toggle: { onoff: 1, lmTime: 1714345202 } }, 'Appliance.Control.Toggle')).toBe(true);
    expect(decodeToggle({ toggle: { onoff: 0, lmTime: 1714345202 } }, 'Appliance.Control.Toggle')).toBe(false);
  });
});

describe('decodeElectricity', () => {
  it('converts a fw 2.x reply with config to SI units', () => {
    // Values derived from krahabb/meross_lan traces (MIT) and protocol.md §3.6.
    const payload = {
      electricity: { channel: 0, current: 56, voltage: 2180, power: 714, config: { voltageRatio: 188, electricityRatio: 100 } },
    };
    expect(decodeElectricity(payload)).toEqual({ watts: 0.714, volts: 218, amps: 0.056 });
  });

  it('converts a fw 1.x reply without config to SI units', () => {
    // Values derived from krahabb/meross_lan traces (MIT), fw 1.1.18.
    expect(decodeElectricity({ electricity: { channel: 0, current: 418, voltage: 2387, power: 67379 } })).toEqual({
      watts: 67.379,
      volts: 238.7,
      amps: 0.418,
    });
  });

  it('reads zeros as zeros (unsynchronised clock)', () => {
    expect(decodeElectricity({ electricity: { channel: 0, current: 0, voltage: 0, power: 0 } })).toEqual({ watts: 0, volts: 0, amps: 0 });
  });
});

describe('decodeConsumption', () => {
  it('sorts a ring buffer with today first (fw 2.1.4 shape)', () => {
    // Entries derived from krahabb/meross_lan traces (MIT), mss310r fw 2.1.4 (shortened).
    const payload = {
      consumptionx: [
        { date: '2023-02-10', time: 1676020378, value: 0 },
        { date: '2023-01-12', time: 1673567883, value: 41 },
        { date: '2023-01-13', time: 1673654284, value: 39 },
        { date: '2023-01-28', time: 1674917476, value: 7 },
      ],
    };
    expect(decodeConsumption(payload)).toEqual([
      { date: '2023-01-12', time: 1673567883, wh: 41 },
      { date: '2023-01-13', time: 1673654284, wh: 39 },
      { date: '2023-01-28', time: 1674917476, wh: 7 },
      { date: '2023-02-10', time: 1676020378, wh: 0 },
    ]);
  });

  it('sorts a ring buffer with today in the middle (fw 2.1.17 shape)', () => {
    // Entries derived from krahabb/meross_lan traces (MIT), fw 2.1.17 (shortened).
    const payload = {
      consumptionx: [
        { date: '2024-03-09', time: 1710028683, value: 329 },
        { date: '2024-03-10', time: 1710076745, value: 180 },
        { date: '2024-02-24', time: 1708819083, value: 318 },
        { date: '2024-02-29', time: 1709251083, value: 335 },
      ],
    };
    expect(decodeConsumption(payload).map((e) => e.date)).toEqual(['2024-02-24', '2024-02-29', '2024-03-09', '2024-03-10']);
  });

  it('collapses a repeated day: the entry with the latest time wins, wherever it sits', () => {
    const payload = {
      consumptionx: [
        { date: '2024-03-10', time: 1710076745, value: 180 },
        { date: '2024-03-09', time: 1710028683, value: 329 },
        { date: '2024-03-10', time: 1710070000, value: 999 },
        { date: '2024-03-09', time: 1710029000, value: 5 },
      ],
    };
    expect(decodeConsumption(payload)).toEqual([
      { date: '2024-03-09', time: 1710029000, wh: 5 },
      { date: '2024-03-10', time: 1710076745, wh: 180 },
    ]);
  });

  it('returns an empty list for an empty buffer and accepts a missing time', () => {
    expect(decodeConsumption({ consumptionx: [] })).toEqual([]);
    expect(decodeConsumption({ consumptionx: [{ date: '2024-03-10', value: 3 }] })).toEqual([{ date: '2024-03-10', time: 0, wh: 3 }]);
  });
});

describe('decodeAbility', () => {
  it('fw 1.1.13: no Multiple, Toggle', () => {
    const a = decodeAbility(ABILITY_FW1);
    expect(a.multipleMax).toBe(0);
    expect(a.toggle).toBe('Appliance.Control.Toggle');
    expect(a.electricity).toBe(true);
    expect(a.consumptionX).toBe(true);
    expect(a.encrypted).toBe(false);
    expect(a.namespaces.has('Appliance.Control.Consumption')).toBe(true);
  });

  it('fw 2.1.17: Multiple with maxCmdNum 5, ToggleX', () => {
    const a = decodeAbility(ABILITY_FW2);
    expect(a.multipleMax).toBe(5);
    expect(a.toggle).toBe('Appliance.Control.ToggleX');
    expect(a.electricity).toBe(true);
    expect(a.consumptionX).toBe(true);
    expect(a.encrypted).toBe(false);
  });

  it('prefers ToggleX when both are listed, and reports ECDHE', () => {
    const a = decodeAbility({ ability: { 'Appliance.Control.Toggle': {}, 'Appliance.Control.ToggleX': {}, 'Appliance.Encrypt.ECDHE': {} } });
    expect(a.toggle).toBe('Appliance.Control.ToggleX');
    expect(a.encrypted).toBe(true);
    expect(a.electricity).toBe(false);
  });

  it('no relay namespace at all → toggle undefined; Multiple without a limit → 1', () => {
    const a = decodeAbility({ ability: { 'Appliance.Control.Multiple': {} } });
    expect(a.toggle).toBeUndefined();
    expect(a.multipleMax).toBe(1);
  });

  it('maxCmdNum as a numeric string (mss305 limit 3)', () => {
    expect(decodeAbility({ ability: { 'Appliance.Control.Multiple': { maxCmdNum: '3' } } }).multipleMax).toBe(3);
  });
});

describe('malformed payloads throw DecodeError, never TypeError', () => {
  const withAll = (mutate: (a: Record<string, unknown>) => void): unknown => {
    const copy = structuredClone(ALL_FW2) as unknown as { all: { system: Record<string, unknown> } };
    mutate(copy.all.system);
    return copy;
  };

  const cases: Array<[string, () => unknown]> = [
    ['ability: payload null', () => decodeAbility(null)],
    ['ability: payload is a list', () => decodeAbility([])],
    ['ability: no ability', () => decodeAbility({})],
    ['ability: ability is a list', () => decodeAbility({ ability: [] })],
    ['ability: maxCmdNum not a number', () => decodeAbility({ ability: { 'Appliance.Control.Multiple': { maxCmdNum: 'many' } } })],
    ['all: payload a string', () => decodeSystemAll('all')],
    ['all: no all', () => decodeSystemAll({})],
    ['all: no system', () => decodeSystemAll({ all: {} })],
    ['all: no hardware', () => decodeSystemAll(withAll((s) => delete s.hardware))],
    ['all: no firmware', () => decodeSystemAll(withAll((s) => delete s.firmware))],
    ['all: uuid a number', () => decodeSystemAll(withAll((s) => ((s.hardware as Record<string, unknown>).uuid = 12)))],
    ['all: mac missing', () => decodeSystemAll(withAll((s) => delete (s.hardware as Record<string, unknown>).macAddress))],
    ['all: firmware.version null', () => decodeSystemAll(withAll((s) => ((s.firmware as Record<string, unknown>).version = null)))],
    ['all: timestamp garbage', () => decodeSystemAll(withAll((s) => ((s.time as Record<string, unknown>).timestamp = 'soon')))],
    ['all: neither digest nor control', () => decodeSystemAll({ all: { system: ALL_FW2.all.system } })],
    ['all: empty togglex list', () => decodeSystemAll({ all: { system: ALL_FW2.all.system, digest: { togglex: [] } } })],
    ['all: togglex list of null', () => decodeSystemAll({ all: { system: ALL_FW2.all.system, digest: { togglex: [null] } } })],
    ['togglex missing', () => decodeToggle({ channel: 0 }, 'Appliance.Control.ToggleX')],
    ['togglex a number', () => decodeToggle({ togglex: 1 }, 'Appliance.Control.ToggleX')],
    ['togglex onoff missing', () => decodeToggle({ togglex: { channel: 0 } }, 'Appliance.Control.ToggleX')],
    ['togglex onoff 2', () => decodeToggle({ togglex: { channel: 0, onoff: 2 } }, 'Appliance.Control.ToggleX')],
    ['toggle onoff true', () => decodeToggle({ toggle: { onoff: true } }, 'Appliance.Control.Toggle')],
    ['toggle payload null', () => decodeToggle(null, 'Appliance.Control.Toggle')],
    ['electricity missing', () => decodeElectricity({})],
    ['electricity a list', () => decodeElectricity({ electricity: [] })],
    ['electricity power missing', () => decodeElectricity({ electricity: { voltage: 2300, current: 10 } })],
    ['electricity voltage null', () => decodeElectricity({ electricity: { power: 1, voltage: null, current: 10 } })],
    ['electricity current obfuscated', () => decodeElectricity({ electricity: { power: 1, voltage: 2300, current: '@0' } })],
    ['electricity blank string', () => decodeElectricity({ electricity: { power: ' ', voltage: 2300, current: 1 } })],
    ['electricity negative', () => decodeElectricity({ electricity: { power: -5, voltage: 2300, current: 1 } })],
    ['consumption missing', () => decodeConsumption({})],
    ['consumption an object', () => decodeConsumption({ consumptionx: { date: '2024-03-10' } })],
    ['consumption item null', () => decodeConsumption({ consumptionx: [null] })],
    ['consumption date a number', () => decodeConsumption({ consumptionx: [{ date: 20240310, time: 1, value: 1 }] })],
    ['consumption date garbage', () => decodeConsumption({ consumptionx: [{ date: 'yesterday', time: 1, value: 1 }] })],
    ['consumption value missing', () => decodeConsumption({ consumptionx: [{ date: '2024-03-10', time: 1 }] })],
    ['consumption time garbage', () => decodeConsumption({ consumptionx: [{ date: '2024-03-10', time: 'x', value: 1 }] })],
    ['consumption value negative', () => decodeConsumption({ consumptionx: [{ date: '2024-03-10', time: 1, value: -1 }] })],
  ];

  it.each(cases)('%s', (_name, fn) => {
    expectDecodeError(fn);
  });
});
