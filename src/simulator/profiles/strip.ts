/**
 * Meross power strips: a master channel 0 plus outlet channels 1..N, the last of them the USB ports (switched as one).
 *
 * MSS425E (the best documented strip, so the reference one here):
 * - System.All from MerossIot `tests/fixtures/handle_update/mss425e.json` (albertogeniola/MerossIot, MIT): hardware
 *   `mss425e`/`eu`/2.0.0/`mt7682`, firmware 2.1.5 compiled "2018/11/07 10:12:56 GMT +08:00", broker
 *   `mqtt-eu-5.meross.com:443`, and `digest.togglex` with channels 0..4, each with its own `lmTime`.
 * - Channels from the cloud device list in MerossIot issue #9 (a real `list_devices()` of an mss425e, hw 2.0.0,
 *   fw 2.1.3): `[{}, Switch 1, Switch 2, Switch 3, USB]`, i.e. three outlets and the USB group on channel 4; the old
 *   MerossIot `Mss425e.enable_usb()` switched channel 4 too.
 * - No ability list of an MSS425E is published by the peers. It is taken as the fw 2.1.17 MSS310 list of the same
 *   MT7682 generation without the meter (Electricity, ConsumptionX, ConsumptionConfig): the strip has no meter and
 *   no peer reads energy from it. Uncertain in detail (e.g. whether 2.1.5 lists Clock or Position).
 * - Reply headers without `uuid`: the 2019 fw 2.x replies quoted in Apollon77/ioBroker.meross issue #22 carry none;
 *   only later firmwares (2.1.17) add it.
 *
 * MSS425F: four outlets and the USB group (channels 0..5): bwp91/homebridge-meross `lib/utils/constants.js` counts
 * `MSS425F: 5` sub-channels (and `MSS425E: 4`), and builds channels 0..count for a local strip
 * (`lib/platform.js`). Its version strings are those of the HomeKit-edition MSS425F in Home Assistant's
 * homekit_controller test (`test_meross_mss425f.py`: hardware 4.0.0, software 4.2.3); no peer shows its System.All,
 * chip or ability list, so those follow the MSS425E. Prefer `mss425e` where faithfulness matters.
 */
import { CONSUMPTION_CONFIG, CONSUMPTIONX, ELECTRICITY } from '../../meross/namespaces';
import { PROFILES, type FirmwareProfile } from '../fixtures';

const STRIP_ABILITY: FirmwareProfile['ability'] = Object.fromEntries(
  Object.entries(PROFILES[2].ability).filter(([namespace]) => ![ELECTRICITY, CONSUMPTIONX, CONSUMPTION_CONFIG].includes(namespace)),
);

export const MSS425E_PROFILE: FirmwareProfile = {
  type: 'mss425e',
  subType: 'eu',
  hardwareVersion: '2.0.0',
  chipType: 'mt7682',
  version: '2.1.5',
  compileTime: '2018/11/07 10:12:56 GMT +08:00',
  ability: STRIP_ABILITY,
  secondServer: false,
  server: 'mqtt-eu-5.meross.com',
  serverPort: 443,
  headerUuid: false,
  outlets: 4,
};

export const MSS425F_PROFILE: FirmwareProfile = {
  ...MSS425E_PROFILE,
  type: 'mss425f',
  subType: 'us',
  hardwareVersion: '4.0.0',
  version: '4.2.3',
  server: 'mqtt-us.meross.com',
  outlets: 5,
};

/** What the cloud device list names a strip's channels (MerossIot issue #9): channel 0 `{}`, outlets, then USB. */
export function stripChannelNames(outlets: number): Array<Record<string, string>> {
  const names: Array<Record<string, string>> = [{}];
  for (let c = 1; c < outlets; c++) names.push({ type: 'Switch', devName: `Switch ${c}`, devIconId: 'device001' });
  names.push({ type: 'USB', devName: 'USB', devIconId: 'device001' });
  return names;
}
