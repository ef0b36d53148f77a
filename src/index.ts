import type { API } from 'homebridge' with { 'resolution-mode': 'import' };
import { MerossLanPlatform } from './platform';
import { PLATFORM_NAME, PLUGIN_NAME } from './settings';

/** Homebridge calls this with its API; nothing runs until a MerossLan platform block is configured. */
export = (api: API): void => {
  api.registerPlatform(PLUGIN_NAME, PLATFORM_NAME, MerossLanPlatform);
};
