/**
 * The one module the settings UI server (homebridge-ui/server.js) loads from the plugin: everything it needs to sign
 * in, scan and test a plug, with the plugin's own code so the dialog and the running plugin agree. An entry point
 * like index.ts: nothing in src/ imports it, and the UI server reaches no other part of dist/.
 */
export { CloudApi, CloudError, cloudText, isEmailAddress, readCloudCache, resolveCloudUrl, signInWithDevices, storeSignIn } from './cloud';
export { DEFAULT_CONCURRENCY, expandRanges, parseSubnet, probe, probeLabel, resolveSubnets, scan } from './discovery';
export { MerossClient, MerossError, parseHost } from './meross';
export { pluginStorageDir } from './storage/json-file';
