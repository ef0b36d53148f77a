import type { CloudApi, CloudDevice, CloudSession, SignInOptions } from './api';
import { cloudCacheRecord, updateCloudCache, type CloudCache } from './cache';
import { CloudError } from './errors';

/**
 * A fresh sign-in and the device list right after it, as `meross-lan login` and the settings UI need them. When
 * the list is refused or fails, the new token is logged out again (nothing keeps it, so it must not stay live on
 * the account) and the error says the sign-in itself worked.
 */
export async function signInWithDevices(api: CloudApi, options: SignInOptions): Promise<{ session: CloudSession; devices: CloudDevice[] }> {
  const session = await api.signIn(options);
  try {
    return { session, devices: await api.devices(session) };
  } catch (error) {
    await api.logoutQuietly(session);
    if (!(error instanceof CloudError)) throw error;
    throw new CloudError(error.code, `the Meross cloud accepted the sign-in but then refused the device list (${error.message})`, error.apiStatus);
  }
}

export interface StoreSignInInput {
  api: CloudApi;
  /** `<storage>/meross-lan`. */
  pluginDir: string;
  email: string;
  /** The checked base URL the sign-in went to. */
  base: string;
  session: CloudSession;
  devices: CloudDevice[];
}

/**
 * Stores a new sign-in in cloud.json (atomically, 0600) and logs out the token it replaces, whichever account it
 * belonged to: a replaced token is never used again, and left live it counts against the account's token limit.
 * When the file cannot be written, the new token is logged out too (it would be lost) and the error rethrown.
 * Resolves to whether a replaced token was logged out (undefined: there was none).
 */
export async function storeSignIn(input: StoreSignInInput): Promise<{ replacedLoggedOut: boolean | undefined }> {
  let replaced: CloudCache | undefined;
  try {
    await updateCloudCache(input.pluginDir, (current) => {
      replaced = current;
      return cloudCacheRecord({ email: input.email, base: input.base, session: input.session, devices: input.devices, previous: current });
    });
  } catch (error) {
    await input.api.logoutQuietly(input.session);
    throw error;
  }
  return { replacedLoggedOut: await logoutReplaced(input.api, replaced, input.session.token) };
}

/** Logs out the token of a record being replaced, unless it is the one replacing it. Never throws. */
export async function logoutReplaced(api: CloudApi, replaced: CloudCache | undefined, keep: string | undefined): Promise<boolean | undefined> {
  if (!replaced?.token || replaced.token === keep) return undefined;
  // The token goes back only to the host that issued it.
  return api.logoutQuietly({ domain: replaced.domain ?? replaced.base, token: replaced.token });
}
