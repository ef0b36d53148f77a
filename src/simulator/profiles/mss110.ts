/**
 * The newest plug generation, from the meross_lan trace of an MSS100 (hardware type mss110, hw 7.0.0, rtl8710cm,
 * fw 7.3.37; `emulator_traces/U01234567890123456789012345678920-Kpippo-mss100.json.txt` in krahabb/meross_lan, MIT;
 * see /work/shared/traces/README.md). Only shapes and constants are copied; identifiers are generated per plug.
 *
 * What the trace shows and this profile keeps: the Ability list (with `Appliance.Encrypt.ECDHE` and
 * `Appliance.Encrypt.Suite`, ToggleX, Multiple with maxCmdNum 3, no Electricity and no ConsumptionX: it does not
 * meter), `firmware.encrypt: 1` and `firmware.homekitVersion` in System.All (a HomeKit edition), the ToggleX list
 * reply with the `channel: 4294967295` stray, and the Encrypt.Suite reply. How the firmware treats plain requests
 * (a TCP reset for anything but System.Ability) and the payload encryption come from meross_lan's emulator
 * (`MerossEmulator.handle` and `_cipher`), see ../encrypted.ts.
 */
import { SYSTEM_ABILITY_2X, type FirmwareProfile } from '../fixtures';

export const MSS110_ABILITY: Record<string, Record<string, number>> = {
  'Appliance.Config.Key': {},
  'Appliance.Config.WifiList': {},
  'Appliance.Config.Wifi': {},
  'Appliance.Config.WifiX': {},
  'Appliance.Config.Trace': {},
  'Appliance.Config.Info': {},
  'Appliance.Config.OverTemp': {},
  'Appliance.Config.NtpSite': {},
  'Appliance.Encrypt.Suite': {},
  'Appliance.Encrypt.ECDHE': {},
  ...SYSTEM_ABILITY_2X,
  'Appliance.Control.Multiple': { maxCmdNum: 3 },
  'Appliance.Control.Bind': {},
  'Appliance.Control.Unbind': {},
  'Appliance.Control.Upgrade': {},
  'Appliance.Control.OverTemp': {},
  'Appliance.Control.ToggleX': {},
  'Appliance.Control.TimerX': { sunOffsetSupport: 1 },
  'Appliance.Digest.TimerX': {},
  'Appliance.Control.TriggerX': {},
  'Appliance.Digest.TriggerX': {},
};

export const MSS110_PROFILE: FirmwareProfile = {
  type: 'mss110',
  subType: 'un',
  hardwareVersion: '7.0.0',
  chipType: 'rtl8710cm',
  version: '7.3.37',
  compileTime: '2024/04/12-19:13:08',
  ability: MSS110_ABILITY,
  secondServer: false,
  server: 'mqtt-us.meross.com',
  serverPort: 443,
  headerUuid: true,
  firmwareExtra: { homekitVersion: '6.3', encrypt: 1 },
  toggleXList: true,
  encrypted: true,
  suite: { ka: 'ecdhe256', se: 'mrskey', ds: '' },
  // GET Appliance.Config.OverTemp → {"overTemp":{"enable":1,"type":-1}} in the 7.3.37 trace (profiles/overtemp.ts).
  overTempConfig: { enable: 1, type: -1 },
};
