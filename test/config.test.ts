import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config';

const UUID = '2009113111806125175848e1e9334e2b';

describe('config validation', () => {
  it('applies the documented defaults', () => {
    const { config, problems } = parseConfig({ platform: 'MerossLan', devices: [{ host: '192.0.2.10', key: 'k' }] });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ name: 'Meross', pollIntervalMs: 30_000, energyPollIntervalMs: 300_000, timeoutMs: 5000, outletInUseWatts: 2 });
    expect(config.devices).toEqual([{ host: '192.0.2.10', key: 'k' }]);
  });

  it('accepts intervals down to 1 s and hosts with a port', () => {
    const { config, problems } = parseConfig({ pollInterval: 1, energyPollInterval: 1, timeout: 1, devices: [{ host: '127.0.0.1:8081' }, { host: '[::1]:8082' }] });
    expect(problems).toEqual([]);
    expect(config.pollIntervalMs).toBe(1000);
    expect(config.devices.map((d) => d.host)).toEqual(['127.0.0.1:8081', '[::1]:8082']);
  });

  it('falls back from the platform key to each device', () => {
    const { config } = parseConfig({ key: 'account-key', devices: [{ host: 'plug.lan' }, { host: 'plug2.lan', key: 'own' }] });
    expect(config.devices.map((d) => d.key)).toEqual(['account-key', 'own']);
  });

  it('names every bad field in one line each and keeps the valid rest', () => {
    const { config, problems } = parseConfig({
      pollInterval: -5,
      energyPollInterval: 'often',
      timeout: 0,
      devices: [
        { host: 'not a host!', key: 'k' },
        { key: 'k' },
        { host: '192.0.2.11', uuid: 'short' },
        'nonsense',
        { host: '192.0.2.12', key: 'k', name: 'Good' },
        { host: '192.0.2.12', key: 'k', name: 'Duplicate' },
        { host: '192.0.2.13', key: 42 },
      ],
    });
    expect(config.pollIntervalMs).toBe(30_000);
    expect(config.energyPollIntervalMs).toBe(300_000);
    expect(config.timeoutMs).toBe(5000);
    expect(config.devices).toEqual([{ host: '192.0.2.12', key: 'k', name: 'Good' }]);
    expect(problems).toHaveLength(9);
    for (const field of ['"pollInterval"', '"energyPollInterval"', '"timeout"', '"devices[0].host"', '"devices[1]"', '"devices[2].uuid"', '"devices[3]"', '"devices[5]"', '"devices[6].key"']) {
      expect(problems.some((p) => p.startsWith(field)), field).toBe(true);
    }
  });

  it('rejects a duplicate uuid', () => {
    const { config, problems } = parseConfig({ devices: [{ host: 'a.lan', uuid: UUID }, { host: 'b.lan', uuid: UUID }] });
    expect(config.devices).toHaveLength(1);
    expect(problems[0]).toMatch(/same uuid/);
  });

  it('survives a devices value that is not a list', () => {
    const { config, problems } = parseConfig({ devices: { host: 'x' } });
    expect(config.devices).toEqual([]);
    expect(problems).toEqual(['"devices" must be a list of plugs; no plugs configured.']);
  });
});
