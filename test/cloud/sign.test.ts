import { describe, expect, it } from 'vitest';
import { checkCloudUrl, cloudRequestBody, cloudSign, encodeParams, md5Hex, randomNonce, resolveCloudUrl } from '../../src/cloud';

describe('cloud request signing (protocol.md §5)', () => {
  it('matches the documented vector', () => {
    expect(encodeParams({})).toBe('e30=');
    expect(cloudSign(1_700_000_000_000, 'ABCDEFGHIJKLMNOP', 'e30=')).toBe('25f64922be265cadcbb1eff4a691f017');
    expect(cloudRequestBody({}, { now: 1_700_000_000_000, nonce: 'ABCDEFGHIJKLMNOP' })).toEqual({
      timestamp: 1_700_000_000_000,
      nonce: 'ABCDEFGHIJKLMNOP',
      params: 'e30=',
      sign: '25f64922be265cadcbb1eff4a691f017',
    });
  });

  it('sends the timestamp in milliseconds and a fresh 16-character nonce', () => {
    const a = cloudRequestBody({ email: 'x' });
    const b = cloudRequestBody({ email: 'x' });
    expect(a.timestamp).toBeGreaterThan(1e12);
    expect(a.nonce).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(randomNonce(24)).toHaveLength(24);
    expect(JSON.parse(Buffer.from(a.params, 'base64').toString('utf8'))).toEqual({ email: 'x' });
  });

  it('hashes the password with md5', () => {
    expect(md5Hex('password')).toBe('5f4dcc3b5aa765d61d8327deb882cf99');
  });
});

describe('cloud base URL', () => {
  it('prefers MEROSS_CLOUD_URL over cloud.url over the default', () => {
    expect(resolveCloudUrl({ MEROSS_CLOUD_URL: 'https://iotx-us.meross.com/' }, 'https://iotx-eu.meross.com')).toEqual({
      url: 'https://iotx-us.meross.com',
      source: 'MEROSS_CLOUD_URL',
    });
    expect(resolveCloudUrl({}, 'iotx-eu.meross.com')).toEqual({ url: 'https://iotx-eu.meross.com', source: 'cloud.url' });
    expect(resolveCloudUrl({ MEROSS_CLOUD_URL: ' ' }, undefined)).toEqual({ url: 'https://iot.meross.com', source: 'default' });
  });

  it('accepts plain http only for loopback addresses', () => {
    expect(checkCloudUrl('http://127.0.0.1:8443')).toEqual({ url: 'http://127.0.0.1:8443' });
    expect(checkCloudUrl('http://[::1]:8443')).toEqual({ url: 'http://[::1]:8443' });
    expect(checkCloudUrl('http://localhost:1')).toEqual({ url: 'http://localhost:1' });
    for (const bad of ['http://iotx-eu.meross.com', 'http://192.168.1.2', 'http://127.example.com', 'ftp://127.0.0.1', 'https://u:p@x.com', 'https://x.com/?a=1']) {
      expect('error' in checkCloudUrl(bad), bad).toBe(true);
    }
    const fromEnv = resolveCloudUrl({ MEROSS_CLOUD_URL: 'http://10.0.0.2' }, undefined);
    expect(fromEnv).toMatchObject({ source: 'MEROSS_CLOUD_URL' });
    expect('error' in fromEnv && fromEnv.error).toMatch(/^MEROSS_CLOUD_URL must use https/);
  });
});
