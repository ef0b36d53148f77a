import { CloudApi, CloudError, cloudCachePath, readCloudCache, removeCloudCache, type CloudCache } from '../cloud';
import { pluginStorageDir } from '../storage/json-file';
import { commandValues } from './command';
import { resolveStorage } from './login';
import type { CliIo } from './io';

export const LOGOUT_USAGE = `Usage: meross-lan logout [-U|--storage DIR]

Signs the stored Meross sign-in out at the cloud (so it no longer counts against the account's limit of
sign-ins) and forgets DIR/meross-lan/cloud.json: the token, the account's device key and its plug list. Plugs
that got their key from the cloud need a new \`meross-lan login\` (or "cloud.password") to be controlled again.
If the cloud cannot be reached, nothing is forgotten and the exit status is 1: run it again later.

  -U, --storage DIR  the Homebridge storage folder (default ~/.homebridge)
  -h, --help         show this help
`;

const OPTIONS = {
  storage: { type: 'string', short: 'U' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `meross-lan logout`: log out the stored token, then delete cloud.json. Never prints the token or the key. */
export async function logout(argv: readonly string[], io: CliIo): Promise<number> {
  const values = commandValues('logout', argv, OPTIONS, LOGOUT_USAGE, io);
  if (typeof values === 'number') return values;
  const storage = resolveStorage(values.storage);
  const dir = pluginStorageDir(storage);
  const file = cloudCachePath(dir);
  let cache: CloudCache | undefined;
  try {
    cache = readCloudCache(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined) {
      io.stderr(`meross-lan: cannot read ${file} (${code})\n`);
      return 1;
    }
    // Unreadable content: there is no token to sign out, only a file to forget.
    await removeCloudCache(dir);
    io.stdout(`${file} was unreadable; it is forgotten (no sign-in could be signed out).\n`);
    return 0;
  }
  if (!cache) {
    io.stdout(`Not signed in: there is no ${file}.\n`);
    return 0;
  }
  if (cache.token) {
    const api = new CloudApi({ baseUrl: cache.base });
    try {
      await api.logout({ domain: cache.domain ?? cache.base, token: cache.token });
      io.stdout('Signed out at the Meross cloud.\n');
    } catch (error) {
      if (!(error instanceof CloudError)) throw error;
      if (error.code !== 'TOKEN_EXPIRED') {
        io.stderr(`meross-lan: logout failed: ${error.message}; ${file} was kept, run meross-lan logout again later\n`);
        return 1;
      }
      io.stdout('The stored sign-in had already expired at the Meross cloud.\n');
    }
  }
  try {
    await removeCloudCache(dir);
  } catch (error) {
    io.stderr(`meross-lan: cannot delete ${file} (${(error as NodeJS.ErrnoException).code ?? 'failed'})\n`);
    return 1;
  }
  io.stdout(`Forgot ${file} (token, device key and plug list of ${cache.email}).\n`);
  return 0;
}

