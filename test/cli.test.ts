import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { parseCli, UsageError, type CliCommand } from '../src/cli/args';
import { formatInfo, formatWatchLine, infoJson } from '../src/cli/format';
import { describeError, main, type CliIo } from '../src/cli/main';
import { MerossClient, WrongKeyError, type SystemInfo } from '../src/meross';
import { SimulatedPlug } from '../src/simulator';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** A developer's own MEROSS_KEY must not leak into the tests (nor their results). */
const BASE_ENV = { ...process.env };
delete BASE_ENV.MEROSS_KEY;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI to completion. Asynchronous on purpose: in-process simulators must keep answering meanwhile. */
async function run(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr, ms: performance.now() - started };
}

/** A long-running CLI (watch, simulate) whose stdout lines the test waits for, instead of sleeping. */
class Running {
  readonly lines: string[] = [];
  stderr = '';
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly closed: Promise<[number | null, NodeJS.Signals | null]>;
  private wake: () => void = () => undefined;
  private exited = false;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    this.closed = once(this.child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    void this.closed.then(() => {
      this.exited = true;
      this.wake();
    });
  }

  async waitForLines(n: number): Promise<string[]> {
    while (this.lines.length < n) {
      if (this.exited) throw new Error(`CLI exited after ${this.lines.length} of ${n} lines; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.lines.slice(0, n);
  }

  async interrupt(): Promise<[number | null, NodeJS.Signals | null]> {
    this.child.kill('SIGINT');
    return this.closed;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function fakeIo(env: Record<string, string | undefined> = {}, signal?: AbortSignal): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    signal,
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  };
  return io;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

const plugs: SimulatedPlug[] = [];
async function startPlug(options: Parameters<typeof SimulatedPlug.start>[0] = {}): Promise<SimulatedPlug> {
  const plug = await SimulatedPlug.start(options);
  plugs.push(plug);
  return plug;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
});

afterAll(async () => {
  await Promise.all(plugs.map((p) => p.stop()));
});

describe('parseCli', () => {
  const plugArgs = ['--host', '192.0.2.10:8081', '--key', 's3cret'];

  it('parses plug commands with defaults', () => {
    expect(parseCli(['info', ...plugArgs], {})).toEqual({
      kind: 'info',
      json: false,
      plug: { host: '192.0.2.10:8081', key: 's3cret', timeoutMs: 5000 },
    } satisfies CliCommand);
    expect(parseCli(['toggle', ...plugArgs, '--json', '--timeout', '1.5'], {})).toMatchObject({
      kind: 'switch',
      action: 'toggle',
      json: true,
      plug: { timeoutMs: 1500 },
    });
    expect(parseCli(['watch', ...plugArgs, '--interval', '0.5'], {})).toMatchObject({ kind: 'watch', intervalMs: 500 });
  });

  it('takes the key from MEROSS_KEY unless --key is given; an empty key is allowed', () => {
    expect(parseCli(['on', '--host', 'plug.lan'], { MEROSS_KEY: 'from-env' })).toMatchObject({ plug: { key: 'from-env' } });
    expect(parseCli(['on', '--host', 'plug.lan', '--key', 'flag'], { MEROSS_KEY: 'env' })).toMatchObject({ plug: { key: 'flag' } });
    expect(parseCli(['on', '--host', 'plug.lan', '--key='], {})).toMatchObject({ plug: { key: '' } });
  });

  it('parses simulate', () => {
    const defaults = { midnight: 'reset', clockSkewMs: 0, timezone: undefined };
    expect(parseCli(['simulate'], {})).toEqual({ kind: 'simulate', count: 1, firmware: 2, lfOnly: false, host: '127.0.0.1', port: 0, ...defaults });
    expect(parseCli(['simulate', '--count', '3', '--firmware', '1', '--lf-only', '--host', '::1', '--port', '9000'], {})).toEqual({
      kind: 'simulate',
      count: 3,
      firmware: 1,
      lfOnly: true,
      host: '::1',
      port: 9000,
      ...defaults,
    });
    expect(parseCli(['simulate', '--timezone', '', '--midnight', 'cumulative', '--clock-skew=-90.5'], {})).toMatchObject({
      timezone: '',
      midnight: 'cumulative',
      clockSkewMs: -90_500,
    });
    expect(() => parseCli(['simulate', '--midnight', 'sometimes'], {})).toThrow(/--midnight must be reset, carry-once or cumulative/);
    expect(() => parseCli(['simulate', '--timezone', 'Nowhere/Land'], {})).toThrow(/is not a time zone name/);
  });

  it('answers help and version before anything else', () => {
    expect(parseCli([], {})).toEqual({ kind: 'help' });
    expect(parseCli(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCli(['info', '-h'], {})).toEqual({ kind: 'help' });
    expect(parseCli(['--version'], {})).toEqual({ kind: 'version' });
  });

  it.each([
    [['info', '--host', 'h', '--key', 'k', '--bogus'], /unknown option --bogus/],
    [['info', '--key', 'k'], /--host is required/],
    [['info', '--host', 'not a host', '--key', 'k'], /not a valid address/],
    [['info', '--host', '192.0.2.1:99999', '--key', 'k'], /not a valid address/],
    [['info', '--host', '192.0.2.1'], /MEROSS_KEY/],
    [['info', '--host', 'h', '--key', 'k', '--interval', '2'], /--interval is not an option of info/],
    [['info', '--host', 'h', '--key', 'k', '--timeout', '0'], /--timeout/],
    [['watch', '--host', 'h', '--key', 'k', '--interval', 'x'], /--interval/],
    [['info', '--host', 'h', '--key'], /--key needs a value/],
    [['info', '--host', 'h', '--key', 'k', '--json=yes'], /--json does not take a value/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['toString', '--host', 'h', '--key', 'k'], /unknown command "toString"/],
    [['simulate', '--firmware', '3'], /--firmware must be 1 or 2/],
    [['simulate', '--count', '0'], /--count/],
    [['simulate', '--port', '65535', '--count', '2'], /no room/],
    [['simulate', '--host', '192.0.2.1'], /loopback/],
    [['simulate', '--key', 'k'], /--key is not an option of simulate/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(UsageError);
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  it('never echoes a value that may be the key', () => {
    const key = 'Very-Secret-Key-123';
    for (const argv of [
      ['info', '--host', 'h', key],
      ['info', '--host', 'h', `--ky=${key}`],
      ['info', '--host', 'h', '--key', key, '--json', key],
      ['info', '--host', 'h', `--json=${key}`],
    ]) {
      let message = '';
      try {
        parseCli(argv, {});
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(key);
      expect(message).not.toContain('\n');
    }
  });
});

describe('formatting', () => {
  const system: SystemInfo = {
    uuid: '2009113111806125135748e1e9aabbcc',
    mac: '48:e1:e9:aa:bb:cc',
    model: 'mss310',
    hardwareVersion: '2.0.0',
    firmwareVersion: '2.1.17',
    lanIp: '192.0.2.20',
    on: true,
    relays: new Map([[0, true]]),
  };

  it('builds the info JSON in SI units, with ip only when known', () => {
    expect(infoJson('192.0.2.20', system, { watts: 71.4, volts: 218, amps: 0.056 }, 76)).toEqual({
      host: '192.0.2.20',
      uuid: system.uuid,
      model: 'mss310',
      hardware: '2.0.0',
      firmware: '2.1.17',
      mac: system.mac,
      ip: '192.0.2.20',
      on: true,
      watts: 71.4,
      volts: 218,
      amps: 0.056,
      wifiSignal: 76,
    });
    const noIp = JSON.parse(JSON.stringify(infoJson('h', { ...system, lanIp: undefined }, undefined))) as Record<string, unknown>;
    expect(noIp).not.toHaveProperty('ip');
    expect(noIp).toMatchObject({ watts: null, volts: null, amps: null, wifiSignal: null });
  });

  it('prints a short human block and watch lines', () => {
    const text = formatInfo(infoJson('192.0.2.20', system, { watts: 71.4, volts: 218, amps: 0.056 }, 76));
    expect(text).toContain('Firmware  2.1.17\n');
    expect(text).toContain('Wi-Fi     76 % signal\n');
    expect(text).toContain('Relay     on\n');
    expect(text).toMatch(/Power +71\.4 W +218\.0 V +0\.056 A\n/);
    expect(formatWatchLine(new Date(2024, 0, 1, 9, 5, 7), false, { watts: 0, volts: 230.1, amps: 0 })).toMatch(
      /^09:05:07 {2}off +0\.0 W +230\.1 V +0\.000 A\n$/,
    );
  });

  it('keeps a key out of unexpected error messages and makes them one line', () => {
    expect(describeError(new Error('boom with hunter22\nsecond line'), 'hunter22')).toBe('unexpected error: boom with *** second line');
    expect(describeError(new WrongKeyError('192.0.2.1'))).toMatch(/^192\.0\.2\.1: the plug rejected the device key/);
  });
});

describe('main() in process', () => {
  it('runs simulate with --firmware 1 --lf-only until aborted, then stops the plug', async () => {
    const controller = new AbortController();
    const io = fakeIo({}, controller.signal);
    const done = main(['simulate', '--firmware', '1', '--lf-only'], io);
    while (!io.out.includes('\n')) await new Promise((resolve) => setImmediate(resolve));
    const announced = JSON.parse(lines(io.out)[0]) as { host: string; port: number; uuid: string; key: string; firmware: number };
    expect(announced.firmware).toBe(1);
    const client = new MerossClient({ host: `${announced.host}:${announced.port}`, key: announced.key, retries: 0 });
    const info = await client.systemAll();
    expect(info).toMatchObject({ uuid: announced.uuid, firmwareVersion: '1.1.18' });
    controller.abort();
    expect(await done).toBe(0);
    await expect(client.systemAll()).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(io.err).toBe('');
  });

  it('returns 130 without a message when interrupted during a one-shot command', async () => {
    const controller = new AbortController();
    controller.abort();
    const io = fakeIo({ MEROSS_KEY: 'k' }, controller.signal);
    expect(await main(['info', '--host', '127.0.0.1:1'], io)).toBe(130);
    expect(io.out + io.err).toBe('');
  });
});

describe('the built CLI', () => {
  it('prints usage for --help and for no command, and the version for --version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: meross-lan <command>/);
    expect(help.stdout).toContain('MEROSS_KEY');
    expect(help.stderr).toBe('');
    const bare = await run([]);
    expect(bare).toMatchObject({ code: 0, stdout: help.stdout });
    const version = await run(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('time shows a zoneless plug counting UTC days, sets --timezone on it, and refuses a zone that does not exist', async () => {
    const plug = await startPlug({ firmware: 2, timezone: '', clockSkewMs: 90_000 });
    const shown = await run(['time', '--host', `127.0.0.1:${plug.port}`, '--key', plug.key]);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/time zone {2}none \(the plug counts UTC days\), UTC\+00:00 now/);
    expect(shown.stdout).toMatch(/clock {6}\S+ \((89|90|91) s ahead of this computer\)/);
    const set = await run(['time', '--host', `127.0.0.1:${plug.port}`, '--key', plug.key, '--timezone', 'Asia/Kolkata', '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ timezone: 'Asia/Kolkata', utcOffsetSeconds: 19_800, changedFrom: '' });
    expect(plug.timezone).toBe('Asia/Kolkata');
    const bad = await run(['time', '--host', `127.0.0.1:${plug.port}`, '--key', plug.key, '--timezone', 'Mars/Olympus']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual(['meross-lan: --timezone "Mars/Olympus" is not a time zone name such as Europe/Berlin (see meross-lan --help)']);
    expect(plug.timezone).toBe('Asia/Kolkata');
  });

  it('a strip: info lists its outlets, --channel switches one of them, and an outlet it lacks is refused', async () => {
    const strip = await startPlug({ model: 'mss425e', on: false });
    const target = ['--host', `127.0.0.1:${strip.port}`, '--key', strip.key];
    const shown = await run(['info', ...target, '--json']);
    expect(shown.stderr).toBe('');
    expect(JSON.parse(shown.stdout)).toMatchObject({ model: 'mss425e', on: false, outlets: { 1: false, 2: false, 3: false, 4: false } });
    const on = await run(['on', ...target, '--channel', '2']);
    expect(on).toMatchObject({ code: 0, stderr: '' });
    expect(on.stdout).toBe(`127.0.0.1:${strip.port}: outlet 2 on\n`);
    expect([1, 2, 3, 4].map((c) => strip.channelOn(c))).toEqual([false, true, false, false]);
    const toggled = await run(['toggle', ...target, '--channel', '2', '--json']);
    expect(JSON.parse(toggled.stdout)).toEqual({ host: `127.0.0.1:${strip.port}`, channel: 2, on: false });
    expect(strip.channelOn(2)).toBe(false);
    const text = await run(['info', ...target]);
    expect(text.stdout).toMatch(/^Outlets {3}1 off, 2 off, 3 off, 4 off/m);
    const missing = await run(['on', ...target, '--channel', '9']);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual(['meross-lan: the plug has no outlet 9 (its outlets: 1, 2, 3, 4)']);
  });

  it('led shows the status LED, --set changes it, and a plug without the setting is told so', async () => {
    const plug = await startPlug({ model: 'mss305' });
    const target = ['--host', `127.0.0.1:${plug.port}`, '--key', plug.key];
    expect((await run(['led', ...target])).stdout).toBe(`127.0.0.1:${plug.port}: status LED on\n`);
    const off = await run(['led', ...target, '--set', 'off', '--json']);
    expect(off).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(off.stdout)).toEqual({ host: `127.0.0.1:${plug.port}`, led: false });
    const reader = new MerossClient({ host: `127.0.0.1:${plug.port}`, key: plug.key });
    expect(await reader.ledOn()).toBe(false);
    const bad = await run(['led', ...target, '--set', 'dim']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual(['meross-lan: --set must be on or off (see meross-lan --help)']);
  });

  it('rejects an unknown flag with exit 2 and one line on stderr', async () => {
    const result = await run(['info', '--host', '127.0.0.1', '--key', 'k', '--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual(['meross-lan: unknown option --frobnicate (see meross-lan --help)']);
  });

  it.each([1, 2] as const)('info --json reports a firmware %i plug', async (firmware) => {
    const plug = await startPlug({ firmware, on: true, watts: 123.4, volts: 231.2, amps: 0.551 });
    const result = await run(['info', '--host', `127.0.0.1:${plug.port}`, '--key', plug.key, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(1);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ uuid: plug.uuid, model: 'mss310', mac: plug.mac, ip: '127.0.0.1', on: true });
    expect(json.firmware).toMatch(new RegExp(`^${firmware}\\.\\d+\\.\\d+$`));
    expect(json.hardware).toBe(`${firmware}.0.0`);
    const { watts, volts, amps } = plug.readings;
    expect(json).toMatchObject({ watts, volts, amps });
    expect(watts).toBe(123.4);
    // Both traced firmwares list Appliance.System.Runtime; the simulator reports the traces' 76 %.
    expect(json.wifiSignal).toBe(76);
  });

  it('reads an LF-only plug (human output)', async () => {
    const plug = await startPlug({ lfOnly: true, on: false });
    const result = await run(['info', '--host', `127.0.0.1:${plug.port}`], { MEROSS_KEY: plug.key });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`UUID      ${plug.uuid}\n`);
    expect(result.stdout).toContain('Relay     off\n');
    expect(result.stdout).toMatch(/Power +0\.0 W +230\.1 V +0\.000 A/);
  });

  it.each([1, 2] as const)('on, off and toggle switch a firmware %i plug', async (firmware) => {
    const plug = await startPlug({ firmware, on: false });
    const target = ['--host', `127.0.0.1:${plug.port}`, '--key', plug.key];
    const on = await run(['on', ...target]);
    expect(on).toMatchObject({ code: 0, stdout: `127.0.0.1:${plug.port}: relay on\n`, stderr: '' });
    expect(plug.isOn).toBe(true);
    expect((await run(['off', ...target])).code).toBe(0);
    expect(plug.isOn).toBe(false);
    expect((await run(['toggle', ...target])).stdout).toContain('relay on');
    expect(plug.isOn).toBe(true);
    const toggled = await run(['toggle', ...target, '--json']);
    expect(JSON.parse(toggled.stdout)).toEqual({ host: `127.0.0.1:${plug.port}`, on: false });
    expect(plug.isOn).toBe(false);
  });

  describe('with a wrong key', () => {
    const wrongKey = 'not-the-right-key-4711';
    let plug: SimulatedPlug;
    beforeAll(async () => {
      plug = await startPlug({ on: true });
    });

    it.each([
      ['info', 'flag'],
      ['on', 'env'],
      ['watch', 'flag'],
    ])('%s (key from %s) fails with exit 1, says so in one line, and prints no key', async (command, source) => {
      const args = [command, '--host', `127.0.0.1:${plug.port}`];
      const result = source === 'flag' ? await run([...args, '--key', wrongKey]) : await run(args, { MEROSS_KEY: wrongKey });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const errors = lines(result.stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^meross-lan: 127\\.0\\.0\\.1:${plug.port}: the plug rejected the device key \\(error 5001`));
      const output = result.stdout + result.stderr;
      expect(output).not.toContain(wrongKey);
      expect(output).not.toContain(plug.key);
      expect(plug.isOn).toBe(true);
    });
  });

  describe('with no plug at the address', () => {
    let refusedPort: number;
    let silent: Server;
    const sockets = new Set<Socket>();
    let connections = 0;
    beforeAll(async () => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1');
      await once(probe, 'listening');
      refusedPort = (probe.address() as AddressInfo).port;
      probe.close();
      await once(probe, 'close');
      // Accepts and reads, never answers: a plug that hangs.
      silent = createServer((socket) => {
        connections++;
        sockets.add(socket);
        socket.resume();
        socket.on('close', () => sockets.delete(socket));
      });
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await once(silent, 'close');
    });

    it('reports a refused connection in one line', async () => {
      // A timeout far beyond the test's own limit: a CLI that waited for a reply instead of seeing the refusal fails.
      const result = await run(['info', '--host', `127.0.0.1:${refusedPort}`, '--key', 'k3y-k3y', '--timeout', '300']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toEqual([
        `meross-lan: 127.0.0.1:${refusedPort}: cannot connect (connection refused); check the address and that the plug is on the network.`,
      ]);
    });

    it('gives up on a silent plug after --timeout', async () => {
      const port = (silent.address() as AddressInfo).port;
      const before = connections;
      const result = await run(['on', '--host', `127.0.0.1:${port}`, '--key', 'k3y-k3y', '--timeout', '0.8']);
      expect(result.code).toBe(1);
      expect(lines(result.stderr)).toEqual([
        `meross-lan: 127.0.0.1:${port}: no reply within 0.8 s; check that the plug is powered and on the network.`,
      ]);
      // It waited the timeout (a lower bound, which a busy machine cannot break) and tried once: no retries.
      expect(result.ms).toBeGreaterThanOrEqual(700);
      expect(connections - before, 'one attempt').toBe(1);
    });
  });

  it('watch prints readings until SIGINT, then exits 0', async () => {
    const plug = await startPlug({ on: true, watts: 60.5, volts: 230.1, amps: 0.27 });
    const watch = new Running(['watch', '--host', `127.0.0.1:${plug.port}`, '--interval', '1'], { MEROSS_KEY: plug.key });
    try {
      const [first] = await watch.waitForLines(1);
      expect(first).toMatch(/^\d\d:\d\d:\d\d {2}on +60\.5 W +230\.1 V +0\.270 A$/);
      plug.setOn(false);
      const [, second] = await watch.waitForLines(2);
      expect(second).toMatch(/^\d\d:\d\d:\d\d {2}off +0\.0 W +230\.1 V +0\.000 A$/);
      expect(await watch.interrupt()).toEqual([0, null]);
      expect(watch.stderr).toBe('');
    } finally {
      watch.kill();
    }
  });

  it('simulate --count 2 serves plugs another CLI can read, and stops cleanly on SIGINT', async () => {
    const sim = new Running(['simulate', '--count', '2']);
    try {
      const announced = (await sim.waitForLines(2)).map(
        (line) => JSON.parse(line) as { host: string; port: number; uuid: string; key: string; firmware: number },
      );
      for (const a of announced) {
        expect(Object.keys(a).sort()).toEqual(['firmware', 'host', 'key', 'port', 'uuid']);
        expect(a).toMatchObject({ host: '127.0.0.1', firmware: 2 });
        expect(a.port).toBeGreaterThan(0);
      }
      expect(announced[0].port).not.toBe(announced[1].port);
      expect(announced[0].uuid).not.toBe(announced[1].uuid);
      const { host, port, key, uuid } = announced[1];
      const info = await run(['info', '--host', `${host}:${port}`, '--key', key, '--json']);
      expect(info.code).toBe(0);
      expect(JSON.parse(info.stdout)).toMatchObject({ uuid, model: 'mss310', firmware: '2.1.17', on: false });
      expect(await sim.interrupt()).toEqual([0, null]);
      expect(sim.stderr).toBe('');
    } finally {
      sim.kill();
    }
  });
});
