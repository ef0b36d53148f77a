/** The manifest and layout rules Homebridge's verification asks for, and the architecture's import boundaries. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & {
  scripts: Record<string, string>;
  engines: Record<string, string>;
  keywords: string[];
  bugs: { url: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const schema = JSON.parse(readFileSync(join(ROOT, 'config.schema.json'), 'utf8')) as {
  pluginAlias: string;
  pluginType: string;
  schema: { properties: Record<string, unknown> };
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('package manifest', () => {
  it('is a Homebridge platform plugin for Homebridge ^1.8 and ^2', () => {
    expect(pkg.name).toBe('homebridge-meross-lan');
    expect(pkg.keywords).toContain('homebridge-plugin');
    expect(pkg.engines.homebridge).toBe('^1.8.0 || ^2.0.0');
    expect(pkg.engines.node).toMatch(/20/);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/^https:\/\//);
    expect(pkg.main).toBe('dist/index.js');
  });

  it('has no install-time scripts and no Homebridge or HAP runtime dependency', () => {
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts[hook]).toBeUndefined();
    const runtime = Object.keys(pkg.dependencies ?? {});
    expect(runtime.filter((d) => ['homebridge', 'hap-nodejs', '@homebridge/hap-nodejs'].includes(d))).toEqual([]);
  });

  it('has a config schema for the MerossLan platform with a name', () => {
    expect(schema.pluginAlias).toBe('MerossLan');
    expect(schema.pluginType).toBe('platform');
    expect(schema.schema.properties.name).toBeDefined();
    for (const field of ['key', 'devices', 'pollInterval', 'energyPollInterval', 'timeout', 'outletInUseWatts']) {
      expect(schema.schema.properties[field], field).toBeDefined();
    }
  });

  it('ships a bin for the CLI', () => {
    expect(pkg.bin).toEqual({ 'meross-lan': 'dist/cli.js' });
  });
});

describe('architecture boundaries', () => {
  it('keeps the protocol library, plug model and simulator free of Homebridge and HAP imports', () => {
    for (const dir of ['meross', 'plug', 'simulator']) {
      for (const file of sources(join(ROOT, 'src', dir))) {
        const text = readFileSync(file, 'utf8');
        expect(text, file).not.toMatch(/from ['"](homebridge|hap-nodejs|@homebridge\/hap-nodejs)/);
        expect(text, file).not.toMatch(/from ['"]\.\.\/(homekit|platform)/);
      }
    }
  });

  it('never loads Homebridge or HAP at run time (types only), so it works with whichever Homebridge loads it', () => {
    const built = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? built(path) : path.endsWith('.js') ? [path] : [];
      });
    const files = built(join(ROOT, 'dist'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/require\(["'](homebridge|hap-nodejs|@homebridge\/hap-nodejs)["']\)/);
    }
  });
});
