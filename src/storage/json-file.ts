import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The plugin's own files (energy ledgers, history, tokens, learned keys) live in `<storage>/meross-lan/`, are
 * readable by the owner only (0600; folder 0700) and are replaced atomically: written to a temp file, flushed,
 * then renamed over the old one, so a Homebridge killed mid-write leaves either the old or the new file.
 */
export const STORAGE_SUBDIR = 'meross-lan';

export function pluginStorageDir(homebridgeStorage: string): string {
  return join(homebridgeStorage, STORAGE_SUBDIR);
}

export async function writeJsonAtomic(path: string, data: unknown): Promise<void> {
  // Serialised first: the text is smaller than the objects it comes from, which can then go while the file is written.
  const text = JSON.stringify(data);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** The parsed file, or undefined when it does not exist. A corrupt file throws SyntaxError for the caller to report. */
export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
