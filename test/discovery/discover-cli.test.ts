import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedPlug } from '../../src/simulator';
import { commonPort, loopback, startPlugs } from './helpers';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const BASE_ENV: Record<string, string | undefined> = { ...process.env };
delete BASE_ENV.MEROSS_KEY;
delete BASE_ENV.MEROSS_LAN_SUBNETS;

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('meross-lan discover (built CLI)', () => {
  const KEY = 'discover-key';
  let sims: SimulatedPlug[] = [];
  let port = 0;
  const hosts = [5, 9, 33].map((h) => loopback(5, h));

  beforeAll(async () => {
    port = await commonPort(hosts);
    sims = await startPlugs(port, [
      { host: hosts[0], key: KEY, firmware: 2 },
      { host: hosts[1], key: 'someone-elses-key', firmware: 2 },
      { host: hosts[2], key: KEY, firmware: 1 },
    ]);
  });

  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('--json prints one array with host, port, uuid, model, firmware and keyOk', async () => {
    const result = await run(['discover', '--subnet', '127.42.5.2-127.42.5.20', '--subnet', '127.42.5.32/30', '--port', String(port), '--key', KEY, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toEqual([
      { host: hosts[0], port, uuid: sims[0].uuid, model: 'mss310', firmware: '2.1.17', keyOk: true },
      { host: hosts[1], port, uuid: sims[1].uuid, model: null, firmware: null, keyOk: false },
      { host: hosts[2], port, uuid: sims[2].uuid, model: 'mss310', firmware: '1.1.18', keyOk: true },
    ]);
  });

  it('reads the subnets from MEROSS_LAN_SUBNETS and the key from MEROSS_KEY, and prints a table', async () => {
    const result = await run(['discover', '--port', String(port)], { MEROSS_LAN_SUBNETS: '127.42.5.2-127.42.5.40', MEROSS_KEY: KEY });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^${hosts[0]}:${port} +MSS310 2\\.1\\.17 +${sims[0].uuid}$`));
    expect(lines[1]).toMatch(new RegExp(`^${hosts[1]}:${port} +key needed +${sims[1].uuid}$`));
    expect(lines[3]).toMatch(new RegExp(`^3 Meross plugs found in \\d+\\.\\d s \\(39 addresses in 127\\.42\\.5\\.2-127\\.42\\.5\\.40, port ${port}\\)\\.$`));
    expect(result.stdout).not.toContain(KEY);
  });

  it('without any key still lists every plug by uuid, as key needed', async () => {
    const result = await run(['discover', '--subnet', '127.42.5.5-9', '--port', String(port), '--json']);
    expect((JSON.parse(result.stdout) as Array<{ keyOk: boolean; uuid: string }>).map((r) => [r.uuid, r.keyOk])).toEqual([
      [sims[0].uuid, false],
      [sims[1].uuid, false],
    ]);
  });

  it('rejects subnets it will not scan, and never echoes a key', async () => {
    const big = await run(['discover', '--subnet', '203.0.0.0/8', '--port', String(port)]);
    expect(big).toMatchObject({ code: 2, stdout: '' });
    expect(big.stderr).toBe('meross-lan: --subnet: "203.0.0.0/8" is too large to scan (at most a /22, 1024 addresses) (see meross-lan discover --help)\n');
    const stray = await run(['discover', '--subnet', '127.42.5.5', 'Very-Secret-Key']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).not.toContain('Very-Secret-Key');
    const badPort = await run(['discover', '--port', '0']);
    expect(badPort.code).toBe(2);
  });
});
