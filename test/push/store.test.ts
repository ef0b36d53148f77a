import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { readCloudCache, writeCloudCache } from '../../src/cloud/cache';
import { CERT_FILE, loadOrCreateCert } from '../../src/push/cert';
import { PUSH_FILE, resolveUserId } from '../../src/push/user-id';
import { logger, storage } from './helpers';

const folders: Array<ReturnType<typeof storage>> = [];
afterEach(() => folders.splice(0).forEach((f) => f.remove()));
function folder(): string {
  const f = storage();
  folders.push(f);
  return f.dir;
}

describe('broker certificate', () => {
  it('is made on first start, kept owner-only, and reused after that', async () => {
    const dir = folder();
    const log = logger();
    const first = await loadOrCreateCert(dir, log);
    const path = join(dir, CERT_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    // Ten years, but before 2038 (firmware with a 32-bit clock).
    expect(Date.parse(cert.validTo)).toBeGreaterThan(Date.now() + 9 * 365 * 86_400_000);
    const second = await loadOrCreateCert(dir, log);
    expect(second).toEqual(first);
    expect(log.lines.filter(([, m]) => /certificate/.test(m))).toHaveLength(1);
    expect(log.text()).not.toContain('PRIVATE KEY');
  });

  it('replaces a broken or expired certificate and says why', async () => {
    const dir = folder();
    const log = logger();
    writeFileSync(join(dir, CERT_FILE), '{"version":1,"cert":"nonsense","key":"nonsense"}');
    const made = await loadOrCreateCert(dir, log);
    expect(made.cert).toMatch(/BEGIN CERTIFICATE/);
    expect(log.text()).toMatch(/replaced the broker certificate \(unreadable certificate\)/);
    const later = Date.now() + 11 * 365 * 86_400_000;
    await loadOrCreateCert(dir, log, () => later);
    expect(log.text()).toMatch(/replaced the broker certificate \(expired\)/);
  });
});

describe('MQTT user id', () => {
  it('prefers push.userId, and otherwise remembers what it chose first', async () => {
    const dir = folder();
    const log = logger();
    expect(await resolveUserId(dir, '77', log)).toEqual({ userId: '77', source: 'config' });
    const made = await resolveUserId(dir, undefined, log);
    expect(made.source).toBe('generated');
    expect(made.userId).toMatch(/^\d{6,9}$/);
    expect(statSync(join(dir, PUSH_FILE)).mode & 0o777).toBe(0o600);
    // A Meross sign-in later must not change the number already paired plugs use.
    await writeCloudCache(dir, { version: 1, email: 'a@b.c', base: 'https://x', userId: '1234567', devices: [] });
    expect(await resolveUserId(dir, undefined, log)).toEqual({ userId: made.userId, source: 'stored' });
  });

  it("takes the signed-in Meross account's user id on first use", async () => {
    const dir = folder();
    await writeCloudCache(dir, { version: 1, email: 'a@b.c', base: 'https://x', userId: '1234567', devices: [] });
    expect(await resolveUserId(dir, undefined, logger(), () => readCloudCache(dir)?.userId)).toEqual({ userId: '1234567', source: 'cloud' });
    expect(JSON.parse(readFileSync(join(dir, PUSH_FILE), 'utf8'))).toEqual({ version: 1, userId: '1234567' });
  });
});
