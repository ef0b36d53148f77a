/**
 * The rest of the plug family from the meross_lan diagnostics traces (krahabb/meross_lan `emulator_traces`, MIT; see
 * /work/shared/traces/README.md): ability lists, System.All shapes and constants copied, identifiers generated per
 * plug. Behaviour without a trace follows the MSS310 profiles of the same generation.
 *
 * - MSS210 hw 1.0.0, MT7688, fw 1.1.12 (`…07-Kpippo-mss210`): the legacy generation (`Toggle`, `control` block, no
 *   Multiple) without any meter: no Electricity, no ConsumptionX; DNDMode and Runtime.
 * - MSS305 hw 8.0.0, rtl8720cf, fw 8.3.15 (`…24-Kpippo-mss305`): ToggleX answered in list form, Multiple with
 *   maxCmdNum 3, Electricity and ConsumptionConfig with `maxElectricityCurrent`, `ConsumptionH` listed (hourly, not
 *   answered here: the plugin does not read it), `firmware.encrypt: 1` while it takes plain JSON.
 */
import { MSS110_PROFILE } from './mss110';
import { MSS425E_PROFILE, MSS425F_PROFILE } from './strip';
import { CONSUMPTIONX, ELECTRICITY } from '../../meross/namespaces';
import { PROFILES, SYSTEM_ABILITY_2X, type FirmwareProfile } from '../fixtures';
import type { Firmware, Model } from '../types';

/** The 1.1.12 trace lists exactly the namespaces of the MSS310 1.1.18 trace, in the same order, less the meter's. */
const MSS210_ABILITY: FirmwareProfile['ability'] = Object.fromEntries(
  Object.entries(PROFILES[1].ability).filter(([namespace]) => namespace !== ELECTRICITY && namespace !== CONSUMPTIONX),
);

const MSS305_ABILITY: FirmwareProfile['ability'] = {
  'Appliance.Config.Info': {},
  'Appliance.Config.Key': {},
  'Appliance.Config.OverTemp': {},
  'Appliance.Config.StandbyKiller': {},
  'Appliance.Config.Trace': {},
  'Appliance.Config.Wifi': {},
  'Appliance.Config.WifiList': {},
  'Appliance.Config.WifiX': {},
  'Appliance.Control.AlertReport': {},
  'Appliance.Control.Bind': {},
  'Appliance.Control.ConsumptionConfig': {},
  'Appliance.Control.ConsumptionH': {},
  'Appliance.Control.ConsumptionX': {},
  'Appliance.Control.Electricity': {},
  'Appliance.Control.Multiple': { maxCmdNum: 3 },
  'Appliance.Control.OverTemp': {},
  'Appliance.Control.TimerX': { sunOffsetSupport: 1 },
  'Appliance.Control.ToggleX': {},
  'Appliance.Control.TriggerX': {},
  'Appliance.Control.Unbind': {},
  'Appliance.Control.Upgrade': {},
  'Appliance.Digest.TimerX': {},
  'Appliance.Digest.TriggerX': {},
  ...SYSTEM_ABILITY_2X,
};

export const MSS210_PROFILE: FirmwareProfile = {
  type: 'mss210',
  subType: 'us',
  hardwareVersion: '1.0.0',
  chipType: 'MT7688',
  version: '1.1.12',
  compileTime: '2018-12-17 11:01:45',
  ability: MSS210_ABILITY,
  secondServer: true,
  server: 'mqtt-eu-2.meross.com',
  serverPort: 443,
  headerUuid: false,
};

export const MSS305_PROFILE: FirmwareProfile = {
  type: 'mss305',
  subType: 'un',
  hardwareVersion: '8.0.0',
  chipType: 'rtl8720cf',
  version: '8.3.15',
  compileTime: '2025/01/02-16:34:01',
  ability: MSS305_ABILITY,
  secondServer: false,
  server: 'mqtt-eu-3.meross.com',
  serverPort: 443,
  calibration: { voltageRatio: 188, electricityRatio: 101, maxElectricityCurrent: 14000 },
  headerUuid: true,
  firmwareExtra: { encrypt: 1 },
  toggleXList: true,
  // GET Appliance.Config.OverTemp → {"overTemp":{"enable":1,"type":1}} in the 8.3.15 trace (profiles/overtemp.ts).
  overTempConfig: { enable: 1, type: 1 },
};

/** The profile and the generation (1: Toggle/control; 2: ToggleX/digest) of each model other than the MSS310. */
export const MODEL_PROFILES: Record<Exclude<Model, 'mss310'>, { profile: FirmwareProfile; generation: Firmware }> = {
  mss110: { profile: MSS110_PROFILE, generation: 2 },
  mss210: { profile: MSS210_PROFILE, generation: 1 },
  mss305: { profile: MSS305_PROFILE, generation: 2 },
  mss425e: { profile: MSS425E_PROFILE, generation: 2 },
  mss425f: { profile: MSS425F_PROFILE, generation: 2 },
};
