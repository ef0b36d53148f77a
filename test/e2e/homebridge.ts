/**
 * Starts a real Homebridge child process with the built plugin, and pairs a real HAP client with it.
 * Shared by the end-to-end tests, `npm start` (scripts/demo.ts) and `npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { HttpClient } from 'hap-controller';
import { logLines } from './log-lines';

export const ROOT = resolve(__dirname, '..', '..');

export type HomebridgeVersion = 'v2' | 'v1';

/** Which Node runs Homebridge 2: the `node` (22) or `node24` dev dependency. Homebridge 1 always runs on the system Node. */
export type NodeLine = '22' | '24';

export interface HomebridgeOptions {
  version?: HomebridgeVersion;
  /** Homebridge 2 only: run it on Node 22 (default) or Node 24. */
  node?: NodeLine;
  /** The MerossLan platform block (without "platform"). */
  platform?: Record<string, unknown>;
  /**
   * Several whole platform blocks instead of `platform` (each with its own "platform", "name" and, for a child
   * bridge, "_bridge"); `[]` runs Homebridge with no MerossLan block at all.
   */
  platforms?: Record<string, unknown>[];
  /** Extra environment for Homebridge (and its child bridges), on top of this process's. */
  env?: Record<string, string>;
  /** Reuse a storage folder (restart tests); default: a fresh one under .test-tmp/. */
  storageDir?: string;
  /** Interfaces to bind; default loopback only. */
  bind?: string[];
  port?: number;
  pin?: string;
  /** Bridge id; keep it (and storageDir) across a restart so paired controllers still recognise the bridge. */
  username?: string;
  /** Turn Matter on for the bridge (Homebridge 2.2+): becomes `bridge.matter`. Keep the port across a restart. */
  matter?: { port: number };
  /** Echo Homebridge's output to this process's stdout. */
  echo?: boolean;
  debug?: boolean;
  /** Extra arguments for Node before Homebridge's own, e.g. `--require` a stats reporter (scripts/soak.ts). */
  nodeArgs?: string[];
  /** Homebridge's `-P` plugin folder instead of the one holding the built plugin (the bench's floor plugin). */
  pluginPath?: string;
}

/** Node 22+ for Homebridge 2 (the node@22 package, or node@24 as `node24`), the system Node (20) for Homebridge 1. */
export function nodeFor(version: HomebridgeVersion, node: NodeLine = '22'): string {
  if (version === 'v2') return join(ROOT, 'node_modules', node === '24' ? 'node24' : 'node', 'bin', 'node');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue;
    const candidate = join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return '/usr/bin/node';
}

function homebridgeBin(version: HomebridgeVersion): string {
  return version === 'v2'
    ? join(ROOT, 'node_modules', 'homebridge', 'bin', 'homebridge.js')
    : join(ROOT, 'node_modules', 'homebridge-v1', 'bin', 'homebridge');
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function makeTempDir(prefix: string): string {
  const base = join(ROOT, '.test-tmp');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

/** A plugin folder holding only this repo, so Homebridge loads the built plugin and nothing else. */
function pluginDir(): string {
  const dir = join(ROOT, '.test-tmp', 'plugins');
  const link = join(dir, 'homebridge-meross-lan');
  if (!existsSync(link)) {
    mkdirSync(dir, { recursive: true });
    try {
      symlinkSync(ROOT, link, 'dir');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return dir;
}

/** A random bridge id (`0E:…`), so parallel runs never share a bridge identity; keep it across a restart. */
export const randomMac = (): string =>
  [0x0e, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');

interface LogWaiter {
  pattern: RegExp;
  resolve: (match: RegExpMatchArray) => void;
}

export class Homebridge {
  readonly logs: string[] = [];
  private readonly waiters = new Set<LogWaiter>();
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly storageDir: string,
    readonly port: number,
    readonly pin: string,
    readonly username: string,
    readonly version: HomebridgeVersion,
    echo: boolean,
  ) {
    const lines = logLines((line) => {
      this.logs.push(line);
      for (const waiter of this.waiters) {
        const match = line.match(waiter.pattern);
        if (match) {
          this.waiters.delete(waiter);
          waiter.resolve(match);
        }
      }
    });
    const onData = (chunk: Buffer): void => {
      if (echo) process.stdout.write(chunk);
      lines(chunk);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  }

  static async start(options: HomebridgeOptions): Promise<Homebridge> {
    const version = options.version ?? 'v2';
    const storageDir = options.storageDir ?? makeTempDir(`hb-${version}`);
    const port = options.port ?? (await freePort());
    const pin = options.pin ?? '031-45-154';
    const username = options.username ?? randomMac();
    const config = {
      bridge: {
        name: `Meross LAN ${version}`,
        username,
        port,
        pin,
        bind: options.bind ?? ['lo'],
        advertiser: 'ciao',
        ...(options.matter ? { matter: options.matter } : {}),
      },
      platforms: options.platforms ?? [{ platform: 'MerossLan', name: 'Meross', ...options.platform }],
      accessories: [],
    };
    writeFileSync(join(storageDir, 'config.json'), JSON.stringify(config, null, 2));
    const args = [...(options.nodeArgs ?? []), homebridgeBin(version), '-U', storageDir, '-P', options.pluginPath ?? pluginDir(), '--strict-plugin-resolution'];
    if (options.echo) args.push('-C'); // colour only for a person watching
    if (options.debug !== false) args.push('-D');
    const child = spawn(nodeFor(version, options.node), args, {
      cwd: storageDir,
      env: { ...process.env, ...options.env, FORCE_COLOR: '0', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hb = new Homebridge(child, storageDir, port, pin, username, version, options.echo ?? false);
    try {
      await Promise.race([
        // HAP's line; with Matter on, the Matter server logs its own "is running on port" earlier.
        hb.waitForLog(/^(?!.*\[Matter\/).*is running on port/, 60_000),
        hb.exited.then((code) => {
          throw new Error(`Homebridge exited early (code ${code}):\n${hb.logs.slice(-30).join('\n')}`);
        }),
      ]);
    } catch (error) {
      // The caller gets no handle to stop it with, so never leave it running.
      await hb.stop({ keepStorage: true });
      throw error;
    }
    return hb;
  }

  /** Resolves with the first log line (past or future) matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs = 20_000, fromIndex = 0): Promise<RegExpMatchArray> {
    for (const line of this.logs.slice(fromIndex)) {
      const match = line.match(pattern);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolveLog, reject) => {
      const waiter: LogWaiter = {
        pattern,
        resolve: (m) => {
          clearTimeout(timer);
          resolveLog(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for log ${pattern}; last lines:\n${this.logs.slice(-20).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Pairs a fresh HAP controller (the same SRP pair-setup an iPhone does). */
  async pair(): Promise<HttpClient> {
    const client = new HttpClient(this.username, '127.0.0.1', this.port, undefined, { usePersistentConnections: true });
    await client.pairSetup(this.pin);
    return client;
  }

  /** A controller that reuses existing pairing data (a second iPhone of the same home, or after a restart). */
  connect(pairing: NonNullable<ReturnType<HttpClient['getLongTermData']>>): HttpClient {
    return new HttpClient(this.username, '127.0.0.1', this.port, pairing, { usePersistentConnections: true });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Child bridge processes Homebridge said it started ("pid N" in 2.x, "PID N" in 1.x). */
  get childPids(): number[] {
    return this.logs.flatMap((l) => {
      const m = l.match(/child bridge (?:starting \(pid|with PID) (\d+)/i);
      return m ? [Number(m[1])] : [];
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(options: { keepStorage?: boolean } = {}): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (!options.keepStorage) rmSync(this.storageDir, { recursive: true, force: true });
    return code;
  }
}
