/** Meross cloud sign-in, for the account key and the plug names only: control is always local. No Homebridge imports. */
export { CloudAccount, type CloudAccountOptions, type CloudLogger, type CloudState } from './account';
export { CloudApi, type CloudApiOptions, type CloudDevice, type CloudSession, type SignInOptions } from './api';
export {
  CLOUD_FILE,
  cloudCachePath,
  cloudCacheRecord,
  readCloudCache,
  removeCloudCache,
  updateCloudCache,
  writeCloudCache,
  type CloudCache,
  type CloudRecordInput,
} from './cache';
export { isEmailAddress } from './email';
export { CloudError, cloudStatusError, cloudText, cloudTokenStatusError, DEAD_TOKEN_STATUSES, type CloudErrorCode } from './errors';
export { fetchTransport, transportWithCa, type CloudReply, type CloudTransport } from './http';
export { CLOUD_SECRET, cloudRequestBody, cloudSign, encodeParams, md5Hex, randomNonce } from './sign';
export { logoutReplaced, signInWithDevices, storeSignIn, type StoreSignInInput } from './sign-in';
export { checkCloudUrl, DEFAULT_CLOUD_URL, isLoopbackHost, resolveCloudUrl, type CloudUrlSource } from './url';
