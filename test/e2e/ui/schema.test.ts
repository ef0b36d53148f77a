/**
 * config.schema.json against the plugin's own config parser: every field the plugin reads is in the form, the
 * form's defaults are the plugin's, and its validation patterns accept exactly what the plugin accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCloudUrl } from '../../../src/cloud/url';
import { DEFAULTS, DISCOVERY_DEFAULTS, parseConfig, PUSH_DEFAULTS } from '../../../src/config';
import { parseSubnet } from '../../../src/discovery/subnets';
import { parseHost } from '../../../src/meross/host';
import { ROOT } from '../homebridge';

interface Prop {
  type: string;
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Prop>;
  items?: Prop;
}
const file = JSON.parse(readFileSync(join(ROOT, 'config.schema.json'), 'utf8')) as {
  customUi?: boolean;
  customUiPath?: string;
  schema: Prop & { properties: Record<string, Prop> };
  layout: unknown[];
};
const props = file.schema.properties;

/** Dotted paths of every leaf of the schema (`devices[].host`, `cloud.email`, …). */
function leaves(p: Record<string, Prop>, prefix = ''): string[] {
  return Object.entries(p).flatMap(([name, prop]) => {
    const path = `${prefix}${name}`;
    if (prop.type === 'object' && prop.properties) return leaves(prop.properties, `${path}.`);
    if (prop.type === 'array' && prop.items?.type === 'object' && prop.items.properties) return leaves(prop.items.properties, `${path}[].`);
    return [path];
  });
}

/** Every key the layout shows, normalised to the same dotted form. */
function layoutKeys(items: unknown[]): string[] {
  return items.flatMap((item) => {
    if (typeof item === 'string') return [item];
    const o = item as { key?: string; items?: unknown[] };
    return [...(o.key ? [o.key] : []), ...(o.items ? layoutKeys(o.items) : [])];
  });
}

describe('config.schema.json', () => {
  it('opens the custom settings UI, which is shipped', () => {
    expect(file.customUi).toBe(true);
    const dir = join(ROOT, file.customUiPath ?? 'homebridge-ui');
    expect(existsSync(join(dir, 'server.js'))).toBe(true);
    expect(existsSync(join(dir, 'public', 'index.html'))).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
    expect(pkg.files).toContain('homebridge-ui');
    expect(pkg.dependencies['@homebridge/plugin-ui-utils']).toBeDefined();
  });

  it('has every field the plugin reads, each one placed in the layout', () => {
    expect(leaves(props).sort()).toEqual(
      [
        'name',
        'key',
        'devices[].name',
        'devices[].host',
        'devices[].key',
        'devices[].uuid',
        'devices[].timezone',
        'devices[].outletInUseWatts',
        'devices[].led',
        'pollInterval',
        'energyPollInterval',
        'timeout',
        'outletInUseWatts',
        'matter',
        'cloud.email',
        'cloud.password',
        'cloud.url',
        'discovery.enabled',
        'discovery.subnets',
        'discovery.port',
        'discovery.rescanAfter',
        'push.enabled',
        'push.port',
        'push.bind',
        'push.broker',
        'push.userId',
      ].sort(),
    );
    const shown = new Set(layoutKeys(file.layout).map((k) => k.replace(/\[\]$/, '')));
    for (const leaf of leaves(props)) expect(shown.has(leaf) || shown.has(leaf.split('[].')[0]), leaf).toBe(true);
    // Every field the parser knows about: an unknown one would be flagged by nothing, so check the parser sees each.
    const { problems } = parseConfig({
      name: 'x',
      key: 5,
      pollInterval: 0,
      energyPollInterval: 0,
      timeout: 0,
      outletInUseWatts: -1,
      matter: 'yes',
      cloud: { email: 'me@example.com', password: 1, url: 'http://192.0.2.1' },
      discovery: { enabled: 'yes', subnets: ['nope'], port: 0, rescanAfter: 1 },
      push: { enabled: 'yes', port: 0, bind: 'x', broker: 'http://x', userId: 'x' },
      devices: [{ host: 'a b' }],
    });
    for (const field of ['key', 'pollInterval', 'energyPollInterval', 'timeout', 'outletInUseWatts', 'matter', 'cloud.password', 'cloud.url', 'discovery.enabled', 'discovery.subnets', 'discovery.port', 'discovery.rescanAfter', 'push.enabled', 'push.port', 'push.bind', 'push.broker', 'push.userId', 'devices[0].host']) {
      expect(problems.join('\n'), field).toContain(`"${field}`);
    }
  });

  it('uses the plugin defaults and limits', () => {
    expect(props.name.default).toBe(DEFAULTS.name);
    for (const [field, min, max] of [
      ['pollInterval', 1, 3600],
      ['energyPollInterval', 1, 86_400],
      ['timeout', 0.5, 60],
      ['outletInUseWatts', 0, 4000],
    ] as const) {
      expect([props[field].default, props[field].minimum, props[field].maximum], field).toEqual([DEFAULTS[field], min, max]);
      expect(parseConfig({ [field]: max + 1 }).problems, field).toHaveLength(1);
    }
    const discovery = props.discovery.properties!;
    expect(discovery.port.default).toBe(DISCOVERY_DEFAULTS.port);
    expect(discovery.rescanAfter.default).toBe(DISCOVERY_DEFAULTS.rescanAfter);
    expect(props.matter.default).toBe(true);
    expect(props.push.properties!.port.default).toBe(PUSH_DEFAULTS.port);
  });

  it('validates hosts, subnets and the cloud address as the plugin does', () => {
    const host = new RegExp(props.devices.items!.properties!.host.pattern!);
    for (const h of ['198.51.100.50', '198.51.100.50:8080', 'plug-kitchen.lan', '[fe80::1]:80', '198.51.100.50:', 'a b', 'x:y', '198.51.100.50:80:80', '-bad.lan']) {
      expect(host.test(h), h).toBe(parseHost(h) !== undefined);
    }
    const subnet = new RegExp(props.discovery.properties!.subnets.items!.pattern!);
    for (const s of ['198.51.100.0/24', '198.51.100.20-40', '198.51.100.20 - 198.51.100.40', '203.0.113.7', 'x', '198.51.100.0/', '198.51.100.0/24/1']) {
      expect(subnet.test(s), s).toBe(!('error' in parseSubnet(s)));
    }
    const url = new RegExp(props.cloud.properties!.url.pattern!);
    for (const u of ['https://iotx-eu.meross.com', 'iotx-us.meross.com', 'https://127.0.0.1:8443', 'http://127.0.0.1:8080', 'http://localhost:1', 'http://iot.meross.com', 'http://localhost.example.com', 'https://user:pw@iot.meross.com', 'https://iot.meross.com/?a=1']) {
      expect(url.test(u), u).toBe('url' in checkCloudUrl(u));
    }
  });
});
