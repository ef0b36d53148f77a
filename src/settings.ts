/** Must match package.json `name` and config.schema.json `pluginAlias`. */
export const PLUGIN_NAME = 'homebridge-meross-lan';
export const PLATFORM_NAME = 'MerossLan';
/** HAP's limit for one bridge: 150 accessories including the bridge itself. */
export const MAX_BRIDGED_ACCESSORIES = 149;

// Read at run time so the number in logs is always the installed package's.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PLUGIN_VERSION: string = (require('../package.json') as { version: string }).version;
