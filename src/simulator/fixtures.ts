/**
 * Device constants for the simulated MSS310, taken from real replies.
 *
 * Derived from traces published by krahabb/meross_lan (emulator_traces, MIT, © Joakim Sørensen @ludeeus /
 * krahabb) and arandall/meross (testdata, MIT); see /work/shared/traces/README.md for the exact files.
 * Only shapes and constants are copied; identifiers are generated per simulated plug.
 */
import type { Firmware } from './types';

type Ability = Record<string, Record<string, number>>;

/** fw 1.1.18 (meross_lan trace …891B): no Multiple, legacy Toggle/Timer/Trigger. */
const ABILITY_FW1: Ability = {
  'Appliance.Config.Key': {},
  'Appliance.Config.WifiList': {},
  'Appliance.Config.Wifi': {},
  'Appliance.Config.Trace': {},
  'Appliance.System.Online': {},
  'Appliance.System.All': {},
  'Appliance.System.Hardware': {},
  'Appliance.System.Firmware': {},
  'Appliance.System.Time': {},
  'Appliance.System.Clock': {},
  'Appliance.System.Debug': {},
  'Appliance.System.Ability': {},
  'Appliance.System.Runtime': {},
  'Appliance.System.Report': {},
  'Appliance.System.Position': {},
  'Appliance.System.DNDMode': {},
  'Appliance.Control.Toggle': {},
  'Appliance.Control.Timer': { sunOffsetSupport: 1 },
  'Appliance.Control.Trigger': {},
  'Appliance.Control.ConsumptionX': {},
  'Appliance.Control.Electricity': {},
  'Appliance.Control.Upgrade': {},
  'Appliance.Control.Bind': {},
  'Appliance.Control.Unbind': {},
};

/** The System namespaces every 2.x-and-later trace lists, in the order the 2.1.17 and mss110 7.3.37 plugs list them. */
export const SYSTEM_ABILITY_2X = {
  'Appliance.System.All': {},
  'Appliance.System.Hardware': {},
  'Appliance.System.Firmware': {},
  'Appliance.System.Debug': {},
  'Appliance.System.Online': {},
  'Appliance.System.Time': {},
  'Appliance.System.Clock': {},
  'Appliance.System.Ability': {},
  'Appliance.System.Runtime': {},
  'Appliance.System.Report': {},
  'Appliance.System.Position': {},
  'Appliance.System.DNDMode': {},
} as const;

/** fw 2.1.17 (meross_lan trace …891A). */
const ABILITY_FW2: Ability = {
  'Appliance.Config.Key': {},
  'Appliance.Config.WifiList': {},
  'Appliance.Config.Wifi': {},
  'Appliance.Config.Trace': {},
  ...SYSTEM_ABILITY_2X,
  'Appliance.Control.Multiple': { maxCmdNum: 5 },
  'Appliance.Control.ToggleX': {},
  'Appliance.Control.TimerX': { sunOffsetSupport: 1 },
  'Appliance.Control.TriggerX': {},
  'Appliance.Control.Bind': {},
  'Appliance.Control.Unbind': {},
  'Appliance.Control.Upgrade': {},
  'Appliance.Control.ConsumptionX': {},
  'Appliance.Control.Electricity': {},
  'Appliance.Control.ConsumptionConfig': {},
  'Appliance.Digest.TriggerX': {},
  'Appliance.Digest.TimerX': {},
};

/** Europe/London DST switches as the 2.1.17 plug reported them: [utcEpochWhenRuleStarts, utcOffsetS, isDst]. */
export const TIME_RULE_LONDON: ReadonlyArray<readonly [number, number, number]> = [
  [1648342800, 3600, 1], [1667091600, 0, 0], [1679792400, 3600, 1], [1698541200, 0, 0],
  [1711846800, 3600, 1], [1729990800, 0, 0], [1743296400, 3600, 1], [1761440400, 0, 0],
  [1774746000, 3600, 1], [1792890000, 0, 0], [1806195600, 3600, 1], [1824944400, 0, 0],
  [1837645200, 3600, 1], [1856394000, 0, 0], [1869094800, 3600, 1], [1887843600, 0, 0],
  [1901149200, 3600, 1], [1919293200, 0, 0], [1932598800, 3600, 1], [1950742800, 0, 0],
];

export interface FirmwareProfile {
  hardwareVersion: string;
  chipType: string;
  version: string;
  compileTime: string;
  ability: Ability;
  /** 1.x System.All `firmware` also names a second broker. */
  secondServer: boolean;
  server: string;
  serverPort: number;
  /** Electricity and ConsumptionConfig carry the metering calibration on 2.x only. */
  calibration?: { voltageRatio: number; electricityRatio: number; maxElectricityCurrent?: number };
  /** Newer firmwares add `uuid` to reply headers. */
  headerUuid: boolean;
  /** `hardware.type` and `subType` when not the MSS310's (`mss310`, `us`). */
  type?: string;
  subType?: string;
  /** More `firmware` fields of System.All (fw 7.3.37: `homekitVersion`, `encrypt`). */
  firmwareExtra?: Record<string, unknown>;
  /** ToggleX GET answers the list form with `channel: 4294967295` (fw 7.3.37, 8.3.15) instead of the object form. */
  toggleXList?: boolean;
  /** HTTP bodies encrypted, plain requests other than System.Ability reset (profiles/mss110.ts, encrypted.ts). */
  encrypted?: boolean;
  /** The `Appliance.Encrypt.Suite` reply. */
  suite?: Record<string, string>;
  /** A power strip: outlet channels 1..`outlets` besides the master channel 0 (profiles/strip.ts, channels.ts). */
  outlets?: number;
  /** What `GET Appliance.Config.OverTemp` answers at start, where the model lists it (profiles/overtemp.ts). */
  overTempConfig?: { enable: number; type: number };
}

export const PROFILES: Record<Firmware, FirmwareProfile> = {
  1: {
    hardwareVersion: '1.0.0',
    chipType: 'MT7688',
    version: '1.1.18',
    compileTime: '2018-12-03 11:15:36',
    ability: ABILITY_FW1,
    secondServer: true,
    server: 'iot.meross.com',
    serverPort: 2001,
    headerUuid: false,
  },
  2: {
    hardwareVersion: '2.0.0',
    chipType: 'MT7682',
    version: '2.1.17',
    compileTime: '2022/08/19 10:05:03 GMT +08:00',
    ability: ABILITY_FW2,
    secondServer: false,
    server: 'mqtt-eu.meross.com',
    serverPort: 443,
    calibration: { voltageRatio: 186, electricityRatio: 121 },
    headerUuid: true,
  },
};

export const SUB_TYPE = 'us';
export const TIMEZONE = 'Europe/London';
export const USER_ID = 1234567;
/** BSSID of the access point the plug is joined to (`firmware.wifiMac`). */
export const AP_BSSID = '2c:6e:a4:55:c6:47';
export const WIFI_SIGNAL = 76;
/** Base64 of "meross-sim", as Config.WifiList reports SSIDs. */
export const WIFI_SSID_B64 = Buffer.from('meross-sim').toString('base64');
