import { createPrivateKey, X509Certificate } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { rename } from 'node:fs/promises';
import { createJsonExclusive } from '../claims';
import { readJson } from '../storage/json-file';
import { describe } from '../util/describe';

/**
 * The embedded broker's TLS certificate: made on first start, kept in `<storage>/meross-lan/push-tls.json` (0600,
 * written atomically like every file of the plugin) and reused after that. Plugs insist on TLS but do not check the
 * certificate against any CA (protocol.md §4.2), so a self-signed one is all they need.
 */
export const CERT_FILE = 'push-tls.json';

export interface TlsMaterial {
  cert: string;
  key: string;
}

export interface CertLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Ten years: long enough never to matter, and still before 2038 for firmware with a 32-bit clock. */
const VALID_DAYS = 3650;

export async function loadOrCreateCert(dir: string, log: CertLogger, now: () => number = Date.now): Promise<TlsMaterial> {
  const path = join(dir, CERT_FILE);
  let why = '';
  try {
    const saved = await readJson(path);
    if (saved !== undefined) {
      const usable = check(saved, now());
      if (typeof usable !== 'string') return usable;
      why = usable;
    }
  } catch (error) {
    why = describe(error);
  }
  const material = await generate(now());
  // Written once, never overwritten: several blocks (child bridges, each with its own broker port) share the file,
  // and one that starts at the same time must not replace the certificate another's plugs already see. An unusable
  // file is moved aside first; if another process wrote a new one in the meantime, that one is used.
  if (why) await rename(path, `${path}.replaced`).catch(() => undefined);
  if (!createJsonExclusive(path, { version: 1, ...material })) {
    const theirs = check(await readJson(path).catch(() => undefined), now());
    if (typeof theirs !== 'string') return theirs;
    log.warn(`Local push: ${path} is in use by another process and unusable (${theirs}); this broker uses a certificate of its own until restarted.`);
    return material;
  }
  log.info(`Local push: ${why ? `replaced the broker certificate (${why})` : 'made a TLS certificate for the broker'}, kept in ${path}.`);
  return material;
}

/** The saved material, or why it cannot be used. */
function check(saved: unknown, nowMs: number): TlsMaterial | string {
  if (typeof saved !== 'object' || saved === null) return 'unreadable file';
  const { cert, key } = saved as Record<string, unknown>;
  if (typeof cert !== 'string' || typeof key !== 'string') return 'unreadable file';
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return 'certificate and key do not match';
    if (Date.parse(x509.validTo) <= nowMs) return 'expired';
  } catch {
    return 'unreadable certificate';
  }
  return { cert, key };
}

async function generate(nowMs: number): Promise<TlsMaterial> {
  // Loaded only when a certificate has to be made: it pulls in an X.509 library nobody needs on later starts.
  const { generate: selfsigned } = await import('selfsigned');
  const addresses = lanAddresses();
  const name = addresses[0] ?? hostname();
  const notBeforeDate = new Date(nowMs - 24 * 3_600_000);
  const pems = await selfsigned([{ name: 'commonName', value: name }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALID_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: hostname() },
          { type: 2, value: 'localhost' },
          ...['127.0.0.1', ...addresses].map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** This machine's IPv4 addresses on the LAN: the CN is one the plugs will actually dial, which some TLS stacks prefer. */
function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}
