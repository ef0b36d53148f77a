import { isLoopback } from '../meross/host';

/** meross_lan's default; sign-in answers 1030 with the account's regional host, which is then used (protocol.md §5). */
export const DEFAULT_CLOUD_URL = 'https://iot.meross.com';

/** `127.0.0.0/8`, `::1` and `localhost`: the only places plain http may go (tests, a local fake cloud). */
export function isLoopbackHost(hostname: string): boolean {
  return isLoopback(hostname.replace(/^\[|\]$/g, ''));
}

/**
 * A cloud base URL, checked: https anywhere, http only on loopback (the token and the password hash must not
 * cross a LAN in clear). Returns the URL without trailing slash, or an error sentence.
 */
export function checkCloudUrl(input: string): { url: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(input.trim()) ? input.trim() : `https://${input.trim()}`);
  } catch {
    return { error: 'is not a URL (expected e.g. https://iotx-eu.meross.com)' };
  }
  if (url.username || url.password) return { error: 'must not contain a user name or password' };
  if (url.search || url.hash) return { error: 'must not contain a query or fragment' };
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return { error: 'must use https:// (plain http:// is accepted only for loopback addresses such as 127.0.0.1)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: 'must start with https://' };
  return { url: url.toString().replace(/\/+$/, '') };
}

export type CloudUrlSource = 'MEROSS_CLOUD_URL' | 'cloud.url' | 'default';

/** The environment variable wins over the config (tests, users in other regions), which wins over the default. */
export function resolveCloudUrl(
  env: Readonly<Record<string, string | undefined>>,
  configured: string | undefined,
): { url: string; source: CloudUrlSource } | { error: string; source: CloudUrlSource } {
  const fromEnv = env.MEROSS_CLOUD_URL?.trim();
  const [text, source]: [string, CloudUrlSource] = fromEnv
    ? [fromEnv, 'MEROSS_CLOUD_URL']
    : configured
      ? [configured, 'cloud.url']
      : [DEFAULT_CLOUD_URL, 'default'];
  const checked = checkCloudUrl(text);
  return 'url' in checked ? { url: checked.url, source } : { error: `${source} ${checked.error}`, source };
}
