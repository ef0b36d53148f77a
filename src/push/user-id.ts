import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { createJsonExclusive } from '../claims';
import { JsonDocument } from '../storage/json-document';
import { parseUserId } from '../meross/mqtt';

/**
 * The userId in the plugs' MQTT password (`<userId>_md5(MAC+key)`, protocol.md §4.2) and in the Config.Key that
 * `meross-lan pair` sends. Paired plugs keep the number they were given, so once chosen it must not change under
 * them: it is written to `<storage>/meross-lan/push.json` on first use (once, exclusively) and read from there ever after.
 */
export const PUSH_FILE = 'push.json';

export type UserIdSource = 'config' | 'stored' | 'cloud' | 'generated';

export interface UserIdLogger {
  warn(message: string): void;
}

/**
 * `push.userId` when configured; else the stored number; else (first use) the signed-in Meross account's userId,
 * or a random number when there is no account, stored for next time. `accountUserId` reads the account's (the
 * cloud cache's) userId: the cloud room is above this transport, so its caller hands it in.
 */
export async function resolveUserId(
  dir: string,
  configured: string | undefined,
  log: UserIdLogger,
  accountUserId: () => unknown = () => undefined,
): Promise<{ userId: string; source: UserIdSource }> {
  if (configured !== undefined) return { userId: configured, source: 'config' };
  const path = join(dir, PUSH_FILE);
  const stored = await JsonDocument.read(path, (raw) => parseUserId((raw as { userId?: unknown } | null)?.userId), log);
  if (stored !== undefined) return { userId: stored, source: 'stored' };
  let cloud: string | undefined;
  try {
    cloud = parseUserId(accountUserId());
  } catch {
    // An unreadable cloud.json is the cloud module's to report; here it only means "no account".
  }
  const userId = cloud ?? String(randomInt(100_000, 1_000_000_000));
  // Written once and never overwritten: with several blocks (child bridges) starting together, the first one's
  // number is everyone's, and the others read it instead of writing their own.
  if (!createJsonExclusive(path, { version: 1, userId })) {
    const theirs = await JsonDocument.read(path, (raw) => parseUserId((raw as { userId?: unknown } | null)?.userId), log);
    if (theirs !== undefined) return { userId: theirs, source: 'stored' };
  }
  return { userId, source: cloud ? 'cloud' : 'generated' };
}
