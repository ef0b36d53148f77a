import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pluginStorageDir, readJson, writeJsonAtomic } from '../../src/storage/json-file';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'meross-json-'));
  dirs.push(d);
  return d;
};

describe('plugin files', () => {
  it('writes owner-only files in an owner-only folder and reads them back', async () => {
    const dir = pluginStorageDir(tempDir());
    const path = join(dir, 'ledger-abc.json');
    await writeJsonAtomic(path, { a: 1 });
    expect(await readJson(path)).toEqual({ a: 1 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('replaces the whole file and leaves no temp files behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'x.json');
    await writeJsonAtomic(path, { v: 1 });
    await Promise.all([writeJsonAtomic(path, { v: 2 }), writeJsonAtomic(path, { v: 3 })]);
    expect([2, 3]).toContain((await readJson(path) as { v: number }).v);
    expect(readdirSync(dir)).toEqual(['x.json']);
  });

  it('returns undefined for a missing file and throws for a corrupt one', async () => {
    const dir = tempDir();
    expect(await readJson(join(dir, 'missing.json'))).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), '{"trunc');
    await expect(readJson(join(dir, 'bad.json'))).rejects.toBeInstanceOf(SyntaxError);
  });
});
