import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancelled, Prompter } from '../../src/cli/login';
import type { CliIo } from '../../src/cli/main';
import { FakeCloud, makeTestCert, type TestCert } from './fake-cloud';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const BASE_ENV: Record<string, string | undefined> = { ...process.env };
delete BASE_ENV.MEROSS_CLOUD_URL;
delete BASE_ENV.NODE_EXTRA_CA_CERTS;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `input` on a piped (non-TTY) stdin. */
async function run(args: string[], input: string, env: Record<string, string | undefined>): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...BASE_ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('meross-lan login (built CLI, real fetch, fake cloud over HTTPS)', () => {
  let cert: TestCert;
  let cloud: FakeCloud;
  const dirs: string[] = [];
  const storage = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'meross-login-'));
    dirs.push(dir);
    return dir;
  };
  const env = (): Record<string, string> => ({ MEROSS_CLOUD_URL: cloud.url, NODE_EXTRA_CA_CERTS: cert.certPath });

  beforeAll(async () => {
    cert = makeTestCert();
    cloud = await FakeCloud.start(
      [
        { email: 'plain@example.com', password: 'pw-plain', key: 'account-key-1', devices: [{ uuid: '2009113111806125175848e1e9000001', devName: 'Desk lamp' }] },
        { email: 'mfa@example.com', password: 'pw-mfa', key: 'mfa-key', mfaCode: '123456', devices: [] },
        { email: 'locked@example.com', password: 'pw-locked', key: 'k', locked: true, devices: [] },
      ],
      cert,
    );
  });

  afterAll(async () => {
    await cloud.stop();
    cert.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in through the region redirect and stores token and key (0600), never the password', async () => {
    const dir = storage();
    const result = await run(['login', '--email', 'plain@example.com', '-U', dir], 'pw-plain\n', env());
    expect(result.stderr).toBe('Meross password: \n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Signed in. Token and device key stored in');
    expect(result.stdout).toContain('1 device on the account: Desk lamp.');
    const file = join(dir, 'meross-lan', 'cloud.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('pw-plain');
    const cache = JSON.parse(text) as Record<string, unknown>;
    expect(cache).toMatchObject({ version: 1, email: 'plain@example.com', base: cloud.url, domain: cloud.regionUrl, key: 'account-key-1' });
    expect(cloud.issuedTokens).toContain(cache.token);
    for (const secret of ['pw-plain', 'account-key-1', String(cache.token)]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('asks for the one-time code when the account has MFA', async () => {
    const dir = storage();
    const result = await run(['login', '--email', 'mfa@example.com', '--storage', dir], 'pw-mfa\n 123 456 \n', env());
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('Meross password: \nOne-time code (MFA): \n');
    expect(JSON.parse(readFileSync(join(dir, 'meross-lan', 'cloud.json'), 'utf8'))).toMatchObject({ key: 'mfa-key' });
  });

  it.each([
    ['a wrong code', 'mfa@example.com', 'pw-mfa\n000000\n', 'meross-lan: login failed: the one-time code (MFA) was wrong or has expired; nothing was stored'],
    ['a wrong password', 'plain@example.com', 'nope\n', 'meross-lan: login failed: wrong email or password; nothing was stored'],
    [
      'a locked account',
      'locked@example.com',
      'pw-locked\n',
      'meross-lan: login failed: the Meross account is locked or disabled; open the Meross app to unlock it; nothing was stored',
    ],
    ['an empty one-time code', 'mfa@example.com', 'pw-mfa\n \n', 'meross-lan: login failed: no one-time code given (this account uses two-factor sign-in); nothing was stored'],
    ['input that ends before the code', 'mfa@example.com', 'pw-mfa\n', 'meross-lan: login failed: standard input ended before the one-time code was given; nothing was stored'],
    ['input that ends before the password', 'plain@example.com', '', 'meross-lan: login failed: standard input ended before the password was given; nothing was stored'],
  ])('reports %s in one line and stores nothing', async (_what, email, input, line) => {
    const dir = storage();
    const result = await run(['login', '--email', email, '-U', dir], input, env());
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('meross-lan:'))).toEqual([line]);
    expect(result.stdout).toBe('');
    expect(existsSync(join(dir, 'meross-lan', 'cloud.json'))).toBe(false);
    if (input !== '') expect(result.stderr).not.toContain(input.split('\n')[0]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a cloud whose certificate it does not trust (verification is never off)', async () => {
    const result = await run(['login', '--email', 'plain@example.com', '-U', storage()], 'pw-plain\n', { MEROSS_CLOUD_URL: cloud.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/login failed: cannot reach the Meross cloud at https:\/\/127\.0\.0\.1:\d+ \(its TLS certificate is not trusted: \w+\)/);
  });

  it('takes the cloud URL from the Homebridge config when MEROSS_CLOUD_URL is not set', async () => {
    const dir = storage();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ platforms: [{ platform: 'MerossLan', cloud: { email: 'plain@example.com', url: cloud.url } }] }));
    const result = await run(['login', '--email', 'plain@example.com', '-U', dir], 'pw-plain\n', { NODE_EXTRA_CA_CERTS: cert.certPath });
    expect(result.code).toBe(0);
  });

  it('rejects bad command lines', async () => {
    const bad = await run(['login', '-U', storage()], '', env());
    expect(bad).toMatchObject({ code: 2, stderr: "meross-lan: --email is required (the Meross account's email address) (see meross-lan login --help)\n" });
    const http = await run(['login', '--email', 'a@b.c'], '', { MEROSS_CLOUD_URL: 'http://192.0.2.1' });
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/MEROSS_CLOUD_URL must use https/);
    const help = await run(['login', '--help'], '', {});
    expect(help.stdout).toMatch(/^Usage: meross-lan login --email EMAIL/);
  });
});

describe('password prompt on a terminal', () => {
  function tty(): PassThrough & { isTTY: boolean; raw: boolean[]; setRawMode(mode: boolean): void } {
    const stream = new PassThrough() as PassThrough & { isTTY: boolean; raw: boolean[]; setRawMode(mode: boolean): void };
    stream.isTTY = true;
    stream.raw = [];
    stream.setRawMode = (mode: boolean) => void stream.raw.push(mode);
    return stream;
  }
  const io = (): CliIo & { err: string } => {
    const out = { err: '', stdout: () => undefined, stderr: (t: string) => void (out.err += t), env: {} };
    return out;
  };

  it('reads keys without echo, honours Backspace, and restores the terminal', async () => {
    const input = tty();
    const o = io();
    const prompter = new Prompter(input, o, undefined);
    const answer = prompter.ask('Meross password: ');
    input.write('sekr');
    input.write('x\u007fet\r');
    expect(await answer).toBe('sekret');
    prompter.close();
    expect(input.raw).toEqual([true, false]);
    // Only the prompt and the newline after it: the typed characters are never echoed.
    expect(o.err).toBe('Meross password: \n');
  });

  it('cancels on Ctrl-C', async () => {
    const input = tty();
    const prompter = new Prompter(input, io(), undefined);
    const answer = prompter.ask('Meross password: ');
    input.write('ab\u0003');
    await expect(answer).rejects.toBeInstanceOf(Cancelled);
    prompter.close();
  });
});
