/**
 * push.json and push-tls.json with several blocks (child bridges) starting at once: written once, exclusively;
 * whoever comes second reads the first one's instead of overwriting it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateCert, CERT_FILE } from '../../src/push/cert';
import { resolveUserId, PUSH_FILE } from '../../src/push/user-id';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const quiet = { info: () => undefined, warn: () => undefined };

describe('shared push files', () => {
  it('two blocks making up a user id at the same time end up with the same one, written once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meross-push-shared-'));
    dirs.push(dir);
    const [a, b] = await Promise.all([resolveUserId(dir, undefined, quiet), resolveUserId(dir, undefined, quiet)]);
    expect(a.userId).toBe(b.userId);
    expect(JSON.parse(readFileSync(join(dir, PUSH_FILE), 'utf8'))).toEqual({ version: 1, userId: a.userId });
    expect(readdirSync(dir)).toEqual([PUSH_FILE]);
  });

  it('two brokers making a certificate at the same time use the one that was written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meross-push-shared-'));
    dirs.push(dir);
    const [a, b] = await Promise.all([loadOrCreateCert(dir, quiet), loadOrCreateCert(dir, quiet)]);
    const saved = JSON.parse(readFileSync(join(dir, CERT_FILE), 'utf8')) as { cert: string };
    expect(a.cert).toBe(saved.cert);
    expect(b.cert).toBe(saved.cert);
    expect(readdirSync(dir)).toEqual([CERT_FILE]);
  }, 20_000);
});
