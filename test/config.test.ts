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

  it("takes a plug's IANA time zone and names a wrong one without dropping the plug", () => {
    const { config, problems } = parseConfig({
      devices: [
        { host: 'a.lan', timezone: ' Asia/Kolkata ' },
        { host: 'b.lan', timezone: 'Mars/Olympus' },
        { host: 'c.lan', timezone: 3 },
        { host: 'd.lan', timezone: '' },
      ],
    });
    expect(config.devices.map((d) => d.timezone)).toEqual(['Asia/Kolkata', undefined, undefined, undefined]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/"devices\[1\]\.timezone" \("Mars\/Olympus"\) is not a time zone name such as "Europe\/Berlin"; the plug's own time zone is left as it is\./);
    expect(problems[1]).toMatch(/"devices\[2\]\.timezone" \(number\)/);
  });

  it("takes a plug's own Outlet In Use threshold and LED setting, and names wrong ones", () => {
    const { config, problems } = parseConfig({
      outletInUseWatts: 2,
      devices: [
        { host: 'a.lan', outletInUseWatts: 0.3, led: false },
        { host: 'b.lan', outletInUseWatts: -1, led: 'dim' },
        { host: 'c.lan', led: 'on' },
        { host: 'd.lan', led: 'off' },
        { host: 'e.lan', led: '' },
      ],
    });
    expect(config.devices.map((d) => [d.outletInUseWatts, d.led])).toEqual([
      [0.3, false],
      [undefined, undefined],
      [undefined, true],
      [undefined, false],
      [undefined, undefined],
    ]);
    expect(problems).toEqual([
      '"devices[1].outletInUseWatts" must be a number of watts from 0 to 4000; using the platform\'s "outletInUseWatts" for this plug.',
      '"devices[1].led" must be "on" or "off" (or true/false); the plug\'s LED is left as it is.',
    ]);
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

describe('cloud and discovery config', () => {
  it('is off by default', () => {
    const { config, problems } = parseConfig({ devices: [{ host: '192.0.2.10' }] });
    expect(problems).toEqual([]);
    expect(config.cloud).toBeUndefined();
    expect(config.discovery).toEqual({ enabled: false, subnets: [], port: 80, rescanAfterMs: 300_000 });
  });

  it('takes a full cloud and discovery block', () => {
    const { config, problems } = parseConfig({
      cloud: { email: ' me@example.com ', password: 'secret', url: 'https://iotx-eu.meross.com/' },
      discovery: { enabled: true, subnets: ['198.51.100.0/24', '203.0.113.20-40'], port: 8080, rescanAfter: 60 },
      devices: [{ uuid: UUID }],
    });
    expect(problems).toEqual([]);
    expect(config.cloud).toEqual({ email: 'me@example.com', password: 'secret', url: 'https://iotx-eu.meross.com' });
    expect(config.discovery).toEqual({ enabled: true, subnets: ['198.51.100.0/24', '203.0.113.20-40'], port: 8080, rescanAfterMs: 60_000 });
    // A uuid-only entry is valid: discovery finds its address.
    expect(config.devices).toEqual([{ uuid: UUID, key: '' }]);
  });

  it('treats an empty cloud block (as the settings form saves it) as no cloud', () => {
    const { config, problems } = parseConfig({ cloud: { email: '', password: '' }, discovery: { subnets: [''] } });
    expect(problems).toEqual([]);
    expect(config.cloud).toBeUndefined();
    expect(config.discovery.subnets).toEqual([]);
  });

  it('names every bad cloud and discovery field in one line, never echoing a secret', () => {
    const { config, problems } = parseConfig({
      cloud: { email: 'me@example.com', password: 12345678, url: 'http://iotx-eu.meross.com' },
      discovery: { enabled: 'yes', subnets: ['203.0.0.0/8', 42, '198.51.100.0/24'], port: 0, rescanAfter: 1 },
    });
    expect(config.cloud).toEqual({ email: 'me@example.com' });
    expect(config.discovery).toEqual({ enabled: false, subnets: ['198.51.100.0/24'], port: 80, rescanAfterMs: 300_000 });
    expect(problems).toEqual([
      '"cloud.password" must be a text value; ignoring it.',
      '"cloud.url" must use https:// (plain http:// is accepted only for loopback addresses such as 127.0.0.1); using the default.',
      '"discovery.enabled" must be true or false; using false.',
      '"discovery.subnets[0]": "203.0.0.0/8" is too large to scan (at most a /22, 1024 addresses); skipping it.',
      '"discovery.subnets[1]" is not a text value; skipping it.',
      '"discovery.port" must be a whole number from 1 to 65535; using the default 80.',
      '"discovery.rescanAfter" must be a whole number from 5 to 86400; using the default 300.',
    ]);
    expect(problems.join('\n')).not.toContain('12345678');
  });

  it('turns the cloud off for a bad email or a block that is not an object', () => {
    expect(parseConfig({ cloud: { email: 'not-an-email', password: 'pw' } }).problems).toEqual([
      '"cloud.email" must be the email address of your Meross account; cloud sign-in is off.',
    ]);
    expect(parseConfig({ cloud: { password: 'pw' } }).problems).toEqual(['"cloud.email" is missing; cloud sign-in is off.']);
    expect(parseConfig({ cloud: 'me@example.com', discovery: true }).problems).toEqual([
      '"cloud" must be an object such as { "email": …, "password": … }; cloud sign-in is off.',
      '"discovery" must be an object such as { "enabled": true }; using the defaults.',
    ]);
  });

  it('keeps local push off by default, and takes an embedded broker or the user\'s own', () => {
    expect(parseConfig({}).config.push).toEqual({ enabled: false, port: 8883 });
    const embedded = parseConfig({ push: { enabled: true, port: '18883', bind: '127.0.0.1', userId: 1234567 } });
    expect(embedded.problems).toEqual([]);
    expect(embedded.config.push).toEqual({ enabled: true, port: 18883, bind: '127.0.0.1', userId: '1234567' });
    // A broker address alone turns push on; "enabled": false still wins.
    expect(parseConfig({ push: { broker: 'mqtts://u:p@192.0.2.5:8883' } }).config.push).toMatchObject({ enabled: true, broker: 'mqtts://u:p@192.0.2.5:8883' });
    expect(parseConfig({ push: { broker: 'mqtt://192.0.2.5', enabled: false } }).config.push.enabled).toBe(false);
    expect(parseConfig({ push: { enabled: true, broker: '', bind: '', userId: '' } }).problems).toEqual([]);
  });

  it('names each bad "push" field in one line, without echoing the broker address', () => {
    const { config, problems } = parseConfig({ push: { enabled: 'yes', port: 70000, bind: 'eth0', broker: 'http://u:hunter2@192.0.2.5', userId: 'me' } });
    expect(config.push).toEqual({ enabled: false, port: 8883 });
    expect(problems).toEqual([
      expect.stringMatching(/^"push\.broker" must be a broker address such as mqtts:\/\/\S+:8883; using the embedded broker instead\.$/),
      '"push.enabled" must be true or false; using false.',
      '"push.port" must be a whole number from 1 to 65535; using the default 8883.',
      expect.stringMatching(/^"push\.bind" must be an IP address of this machine \(such as \S+\); listening on every interface\.$/),
      '"push.userId" must be a whole number (the user id the plugs were paired with); using the remembered one.',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(parseConfig({ push: true }).problems).toEqual(['"push" must be an object such as { "enabled": true }; local push is off.']);
  });

  it('publishes over Matter by default, takes true or false, and names any other "matter" value in one line', () => {
    expect(parseConfig({}).config.matter).toBe(true);
    expect(parseConfig({ matter: false }).config.matter).toBe(false);
    expect(parseConfig({ matter: true }).problems).toEqual([]);
    const { config, problems } = parseConfig({ matter: 'no' });
    expect(config.matter).toBe(true);
    expect(problems).toEqual(['"matter" must be true or false; using the default true (publish over Matter when the bridge has it).']);
  });
});
