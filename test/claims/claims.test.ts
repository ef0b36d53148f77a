/**
 * Cross-process claims (src/claims): one owner per key, stale owners taken over, exclusive atomic files — in one
 * process with injected pids, and raced by real processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Claims, createJsonExclusive, type ClaimsOptions } from '../../src/claims';

const run = promisify(execFile);
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meross-claims-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Processes 100 and 200 run; everything else is gone. */
const running = new Set([100, 200]);
function claims(dir: string, block: string, pid: number, extra: Partial<ClaimsOptions> = {}): Claims {
  return new Claims({ dir, block, pid, alive: (p) => running.has(p), startedOf: (p) => (running.has(p) ? `t${p}` : undefined), ...extra });
}

describe('Claims', () => {
  it('gives a key to one block and names it to the others; released, the next one gets it', () => {
    const dir = tempDir();
    const a = claims(dir, 'Upstairs', 100);
    const b = claims(dir, 'Downstairs', 200);
    expect(a.claim('plug-abc')).toEqual({ ok: true });
    expect(a.claim('plug-abc')).toEqual({ ok: true });
    const refused = b.claim('plug-abc');
    expect(refused).toMatchObject({ ok: false, owner: { pid: 100, block: 'Upstairs' } });
    expect(b.holder('plug-abc')).toMatchObject({ block: 'Upstairs' });
    expect(a.holder('plug-abc')).toBeUndefined();
    a.releaseAll();
    expect(b.claim('plug-abc')).toEqual({ ok: true });
    expect(readdirSync(join(dir, 'claims'))).toEqual(['plug-abc.json']);
  });

  it('two blocks in one process (same pid) are still two owners', () => {
    const dir = tempDir();
    const a = claims(dir, 'A', 100);
    const b = claims(dir, 'B', 100);
    expect(a.claim('broker-8883').ok).toBe(true);
    expect(b.claim('broker-8883')).toMatchObject({ ok: false, owner: { block: 'A' } });
  });

  it('takes over a claim whose process is gone, whose pid another process got later, or from before the reboot', () => {
    const dir = tempDir();
    claims(dir, 'Crashed', 300).claim('plug-1');
    claims(dir, 'Reused', 200, { startedOf: () => 'earlier' }).claim('plug-2');
    claims(dir, 'Before reboot', 200, { now: () => 1000 }).claim('plug-3');
    const b = claims(dir, 'B', 100, { bootTime: () => 10_000_000 });
    for (const key of ['plug-1', 'plug-2', 'plug-3']) expect(b.claim(key), key).toEqual({ ok: true });
    expect(readdirSync(join(dir, 'claims')).sort()).toEqual(['plug-1.json', 'plug-2.json', 'plug-3.json']);
  });

  it('takes over an unreadable claim file, and never removes a claim that is no longer its own', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'claims'));
    writeFileSync(join(dir, 'claims', 'plug-x.json'), 'garbage');
    const a = claims(dir, 'A', 100);
    expect(a.claim('plug-x').ok).toBe(true);
    // Someone judged A dead and took the key over; A's release must leave that claim alone.
    writeFileSync(join(dir, 'claims', 'plug-x.json'), JSON.stringify({ pid: 200, block: 'B', instance: 'other', since: Date.now(), started: 't200' }));
    a.releaseAll();
    expect(existsSync(join(dir, 'claims', 'plug-x.json'))).toBe(true);
  });

  it('real processes racing for the same keys: exactly one wins each, and the files are owner-only', async () => {
    const dir = tempDir();
    const module = resolve(__dirname, '..', '..', 'src', 'claims', 'index.ts');
    const script = [
      `const { Claims } = require(${JSON.stringify(module)});`,
      `const c = new Claims({ dir: ${JSON.stringify(dir)}, block: 'p' + process.pid });`,
      `const won = []; for (let i = 0; i < 20; i++) if (c.claim('plug-' + i).ok) won.push(i);`,
      `process.stdout.write(JSON.stringify(won));`,
      // Held until exit, so the others see a live owner.
      `setTimeout(() => {}, 1500);`,
    ].join('\n');
    const tsx = resolve(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const results = await Promise.all([1, 2].map(() => run(tsx, ['-e', script]).then((r) => JSON.parse(r.stdout) as number[])));
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual([...Array(20).keys()]);
    expect(statSync(join(dir, 'claims', 'plug-0.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'claims')).filter((n) => !n.endsWith('.json'))).toEqual([]);
  }, 30_000);
});

describe('createJsonExclusive', () => {
  it('writes a file once; a second writer is told and changes nothing', () => {
    const path = join(tempDir(), 'sub', 'push.json');
    expect(createJsonExclusive(path, { userId: '1' })).toBe(true);
    expect(createJsonExclusive(path, { userId: '2' })).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ userId: '1' });
    expect(readdirSync(join(path, '..'))).toEqual(['push.json']);
  });
});
