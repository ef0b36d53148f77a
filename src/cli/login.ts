import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudApi, CloudError, cloudCachePath, isEmailAddress, resolveCloudUrl, signInWithDevices, storeSignIn, type CloudDevice, type CloudSession } from '../cloud';
import { pluginStorageDir } from '../storage/json-file';
import { commandValues, usageError } from './command';
import type { CliIo, PromptInput } from './io';
import { describe } from '../util/describe';

export const LOGIN_USAGE = `Usage: meross-lan login --email EMAIL [-U|--storage DIR]

Signs in to your Meross account once, asking for the password and (for accounts with two-factor sign-in) the
one-time code, without echoing them. Stores the sign-in token, the account's device key and its plug list in
DIR/meross-lan/cloud.json (readable by you only) for the plugin; the password is never stored. The cloud is used
for keys and names only: the plugs are always controlled over the local network.

  --email EMAIL      the Meross account's email address
  -U, --storage DIR  the Homebridge storage folder (default ~/.homebridge)
  -h, --help         show this help

The cloud address is the environment variable MEROSS_CLOUD_URL, else "cloud.url" in DIR/config.json, else the
Meross default. Standard input that is not a terminal is read line by line (password, then code).
A sign-in stored there before is signed out at the cloud (Meross limits how many an account may have); if the
cloud refuses the device list right after signing in, nothing is stored and the exit status is 1.
`;

const OPTIONS = {
  email: { type: 'string' },
  storage: { type: 'string', short: 'U' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Ctrl-C, Ctrl-D or SIGINT at a prompt: exit 130, as a shell reports an interrupted command. */
export class Cancelled extends Error {}

/** Piped standard input ended before the answer (e.g. `echo pw | meross-lan login …` for an MFA account). */
export class InputEnded extends Error {}

/** `-U DIR` as given, else ~/.homebridge; `login` and `logout` use the same folder. */
export function resolveStorage(option: string | undefined): string {
  return resolve(option ?? join(homedir(), '.homebridge'));
}

/** `meross-lan login`: sign in (with MFA), store the token, never the password. */
export async function login(argv: readonly string[], io: CliIo): Promise<number> {
  const values = commandValues('login', argv, OPTIONS, LOGIN_USAGE, io);
  if (typeof values === 'number') return values;
  const email = values.email?.trim();
  if (!email || !isEmailAddress(email)) return usage(io, '--email is required (the Meross account\'s email address)');
  const storage = resolveStorage(values.storage);
  const url = resolveCloudUrl(io.env, configuredCloudUrl(storage));
  if ('error' in url) {
    io.stderr(`meross-lan: ${url.error}\n`);
    return 2;
  }

  const prompter = new Prompter(io.stdin ?? process.stdin, io, io.signal);
  const api = new CloudApi({ baseUrl: url.url });
  let session: CloudSession;
  let devices: CloudDevice[];
  let asking = 'the password';
  try {
    const password = await prompter.ask('Meross password: ');
    if (password === '') throw new LoginFailure('no password given');
    try {
      ({ session, devices } = await signInWithDevices(api, { email, password }));
    } catch (error) {
      if (!(error instanceof CloudError) || error.code !== 'MFA_REQUIRED') throw error;
      asking = 'the one-time code';
      const code = (await prompter.ask('One-time code (MFA): ')).replace(/\s+/g, '');
      if (code === '') throw new LoginFailure('no one-time code given (this account uses two-factor sign-in)');
      ({ session, devices } = await signInWithDevices(api, { email, password, mfaCode: code }));
    }
  } catch (error) {
    if (error instanceof Cancelled) return 130;
    io.stderr(`meross-lan: login failed: ${failure(error, asking)}; nothing was stored\n`);
    return 1;
  } finally {
    prompter.close();
  }

  const dir = pluginStorageDir(storage);
  let replacedLoggedOut: boolean | undefined;
  try {
    ({ replacedLoggedOut } = await storeSignIn({ api, pluginDir: dir, email, base: url.url, session, devices }));
  } catch (error) {
    io.stderr(`meross-lan: signed in, but cannot write ${cloudCachePath(dir)} (${(error as NodeJS.ErrnoException).code ?? 'write failed'}); the new sign-in was signed out again\n`);
    return 1;
  }
  io.stdout(`Signed in. Token and device key stored in ${cloudCachePath(dir)} (readable by you only); the password was not stored.\n`);
  if (replacedLoggedOut === true) io.stdout('The sign-in stored there before was signed out at the Meross cloud.\n');
  if (replacedLoggedOut === false) io.stdout('The sign-in stored there before could not be signed out at the Meross cloud; it expires on its own.\n');
  io.stdout(`${devices.length} device${devices.length === 1 ? '' : 's'} on the account${devices.length > 0 ? `: ${devices.map((d) => d.name).join(', ')}` : ''}.\n`);
  io.stdout(`Set "cloud": { "email": "${email}" } in the plugin's settings (no password needed) and restart Homebridge.\n`);
  return 0;
}

/** A login problem found before or without the cloud. */
class LoginFailure extends Error {}

function failure(error: unknown, asking: string): string {
  if (error instanceof CloudError || error instanceof LoginFailure) return error.message;
  if (error instanceof InputEnded) return `standard input ended before ${asking} was given`;
  return `unexpected error: ${describe(error)}`;
}

/** `cloud.url` of the MerossLan platform in the storage folder's config.json, if there is one. */
export function configuredCloudUrl(storage: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(storage, 'config.json'), 'utf8')) as { platforms?: Array<{ platform?: string; cloud?: { url?: unknown } }> };
    const url = config.platforms?.find((p) => p.platform === 'MerossLan')?.cloud?.url;
    return typeof url === 'string' && url.trim() ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks on stderr and reads the answer without echo. A terminal is switched to raw mode and read key by key
 * (Enter ends, Backspace deletes, Ctrl-C/Ctrl-D cancel); anything else (a pipe, a test) is read line by line,
 * and an input that ends before the answer's line is InputEnded (a last line without newline still counts).
 */
export class Prompter {
  private buffer = '';
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer | string): void => {
    this.buffer += chunk.toString();
    this.wake?.();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };
  private readonly onAbort = (): void => this.wake?.();
  private readonly tty: boolean;
  private listening = false;

  constructor(
    private readonly input: PromptInput,
    private readonly io: CliIo,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.tty = input.isTTY === true && typeof input.setRawMode === 'function';
  }

  async ask(question: string): Promise<string> {
    this.io.stderr(question);
    this.listen();
    try {
      return this.tty ? await this.readKeys() : await this.readLine();
    } finally {
      // The typed answer is never echoed, so end the prompt's line ourselves.
      this.io.stderr('\n');
    }
  }

  close(): void {
    if (!this.listening) return;
    this.listening = false;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.tty) this.input.setRawMode?.(false);
    this.input.pause();
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    if (this.tty) this.input.setRawMode?.(true);
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.signal?.addEventListener('abort', this.onAbort);
    this.input.resume();
  }

  private next(): Promise<void> {
    return new Promise((resolveNext) => {
      this.wake = () => {
        this.wake = undefined;
        resolveNext();
      };
    });
  }

  private async readLine(): Promise<string> {
    for (;;) {
      if (this.signal?.aborted) throw new Cancelled();
      const newline = this.buffer.indexOf('\n');
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline).replace(/\r$/, '');
        this.buffer = this.buffer.slice(newline + 1);
        return line;
      }
      if (this.ended) {
        if (this.buffer !== '') {
          const rest = this.buffer;
          this.buffer = '';
          return rest;
        }
        throw new InputEnded();
      }
      await this.next();
    }
  }

  private async readKeys(): Promise<string> {
    let answer = '';
    for (;;) {
      if (this.signal?.aborted) throw new Cancelled();
      while (this.buffer.length > 0) {
        const ch = this.buffer[0];
        this.buffer = this.buffer.slice(1);
        if (ch === '\r' || ch === '\n') return answer;
        if (ch === '\u0003' || (ch === '\u0004' && answer === '')) throw new Cancelled();
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else if (ch >= ' ') answer += ch;
      }
      if (this.ended) throw new InputEnded();
      await this.next();
    }
  }
}

function usage(io: CliIo, message: string): number {
  return usageError(io, 'login', message);
}
