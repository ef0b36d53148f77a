/**
 * homebridge-config-ui-x as users run it: `hb-service run`, which serves the UI and forks Homebridge, with this
 * plugin found through a plugin folder that links to the working tree. Loopback only, and kept off the network
 * (see ../shared/ui-testing.md): a dead proxy for the UI's update checks, HAP bound to `lo`, no mDNS for the UI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, nodeFor } from '../homebridge';
import { logLines } from '../log-lines';

export interface ConfigUiOptions {
  storageDir: string;
  /** Extra environment for the UI and everything it forks (Homebridge, the plugin's server.js). */
  env: Record<string, string>;
  /** Platform blocks besides the UI's own `config` block. */
  platforms?: Record<string, unknown>[];
}

interface LogWaiter {
  pattern: RegExp;
  from: number;
  resolve: (line: string) => void;
}

/** The environment that keeps config-ui-x and its children from reaching anything but loopback. */
export const OFFLINE_ENV: Record<string, string> = {
  HTTP_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  NO_PROXY: '127.0.0.1,localhost,::1',
  no_proxy: '127.0.0.1,localhost,::1',
  // Node's own fetch (server.js, the plugin's cloud calls) honours the proxy variables only with this.
  NODE_USE_ENV_PROXY: '1',
  NODE_OPTIONS: '--disable-warning=UNDICI-EHPA',
  FORCE_COLOR: '0',
};

export class ConfigUi {
  readonly logs: string[] = [];
  readonly bridge: { port: number; pin: string; username: string };
  private readonly waiters = new Set<LogWaiter>();
  private readonly exited: Promise<unknown>;

  private constructor(
    readonly child: ChildProcess,
    readonly storageDir: string,
    readonly uiPort: number,
    bridge: { port: number; pin: string; username: string },
  ) {
    this.bridge = bridge;
    const onData = logLines((line) => {
      this.logs.push(line);
      for (const w of this.waiters) {
        if (this.logs.length - 1 >= w.from && w.pattern.test(line)) {
          this.waiters.delete(w);
          w.resolve(line);
        }
      }
    });
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = once(child, 'exit');
  }

  get url(): string {
    return `http://127.0.0.1:${this.uiPort}`;
  }

  static async start(options: ConfigUiOptions): Promise<ConfigUi> {
    const { storageDir } = options;
    const uiPort = await freePort();
    const bridge = {
      port: await freePort(),
      pin: '031-45-154',
      username: [0x0e, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
    };
    writeFileSync(
      join(storageDir, 'config.json'),
      JSON.stringify(
        {
          bridge: { name: 'Meross UI test', ...bridge, bind: ['lo'], advertiser: 'ciao' },
          accessories: [],
          platforms: [
            { platform: 'config', name: 'Config', port: uiPort, host: '127.0.0.1', auth: 'none', log: { method: 'file', path: join(storageDir, 'homebridge.log') } },
            ...(options.platforms ?? []),
          ],
        },
        null,
        2,
      ),
    );
    writeAuth(storageDir);
    const pluginDir = join(storageDir, 'plugins');
    mkdirSync(pluginDir, { recursive: true });
    // config-ui-x finds plugins by folder name + keyword; a link to the working tree passes its realpath check.
    if (!existsSync(join(pluginDir, 'homebridge-meross-lan'))) symlinkSync(ROOT, join(pluginDir, 'homebridge-meross-lan'), 'dir');

    const child = spawn(
      nodeFor('v2'),
      [join(ROOT, 'node_modules', 'homebridge-config-ui-x', 'dist', 'bin', 'hb-service.js'), 'run', '--allow-root', '-U', storageDir, '-P', pluginDir, '--stdout'],
      {
        cwd: storageDir,
        // Its own process group: stop() ends the UI, Homebridge and server.js together, and nothing else.
        detached: true,
        env: { ...process.env, ...OFFLINE_ENV, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const ui = new ConfigUi(child, storageDir, uiPort, bridge);
    try {
      await Promise.race([
        // The UI is enough to begin with; Homebridge finishes starting meanwhile (restartHomebridge waits for it).
        ui.waitForLog(/Homebridge UI v[\d.]+ is listening on/, 60_000).then(() => ui.answering(10_000)),
        ui.exited.then(() => {
          throw new Error(`hb-service exited early:\n${ui.logs.slice(-30).join('\n')}`);
        }),
      ]);
    } catch (error) {
      await ui.stop();
      throw error;
    }
    return ui;
  }

  /** The UI logs "listening" a moment before it answers; its auth settings are the first thing the page asks for. */
  private async answering(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/api/auth/settings`);
        if (res.ok) return;
      } catch {
        // not accepting connections yet
      }
      if (Date.now() > deadline) throw new Error(`the UI at ${this.url} does not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The first line matching `pattern` at or after line index `from` (past or future). */
  waitForLog(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<string> {
    const seen = this.logs.slice(from).find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: LogWaiter = {
        pattern,
        from,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${pattern}; last lines:\n${this.logs.slice(-25).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** A bearer token as the browser gets it with auth off (for the UI's own API, e.g. a restart). */
  async token(): Promise<string> {
    const res = await fetch(`${this.url}/api/auth/noauth`, { method: 'POST' });
    if (!res.ok) throw new Error(`noauth: HTTP ${res.status}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** Restarts Homebridge the way the UI's restart button does; resolves when it runs again. */
  async restartHomebridge(): Promise<void> {
    await this.waitForLog(/is running on port/, 30_000);
    const from = this.logs.length;
    const res = await fetch(`${this.url}/api/server/restart`, { method: 'PUT', headers: { Authorization: `Bearer ${await this.token()}` } });
    if (!res.ok) throw new Error(`restart: HTTP ${res.status}`);
    await this.waitForLog(/Homebridge process ended/, 20_000, from);
    await this.waitForLog(/is running on port/, 30_000, from);
  }

  /** PIDs of this UI's process group running `script` (e.g. the plugin's server.js, forked while the dialog is open). */
  running(script: string): number[] {
    const pgid = this.child.pid;
    if (pgid === undefined) return [];
    return groupMembers(pgid).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith(script));
      } catch {
        return false;
      }
    });
  }

  /** Resolves once no process of this UI's group runs `script`; false after the timeout. */
  async gone(script: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running(script).length > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }

  /**
   * SIGKILL hb-service first (after SIGTERM it lingers and re-forks Homebridge), then SIGTERM what is left of its
   * group (Homebridge saves its accessory cache, server.js exits), and SIGKILL whatever still runs after that.
   */
  async stop(): Promise<void> {
    const pgid = this.child.pid;
    if (pgid === undefined) return;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    signalGroup(pgid, 'SIGTERM');
    if (!(await groupGone(pgid, 8000))) {
      signalGroup(pgid, 'SIGKILL');
      await groupGone(pgid, 5000);
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** PIDs whose process group is `pgid` (field 5 of /proc/<pid>/stat), zombies excluded. */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Waits until no process of the group is left. Processes give no exit event to a non-parent, so /proc is re-read. */
async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** With auth off the UI still issues its token for the first admin of auth.json; without one it opens the setup wizard. */
function writeAuth(storageDir: string): void {
  const salt = randomBytes(32).toString('hex');
  const hashedPassword = pbkdf2Sync(randomBytes(16).toString('hex'), salt, 210_000, 64, 'sha512').toString('hex');
  const user = { id: 1, username: 'admin', name: 'Admin', hashedPassword, salt, passwordIterations: 210_000, sessionVersion: 0, admin: true };
  writeFileSync(join(storageDir, 'auth.json'), JSON.stringify([user], null, 2), { mode: 0o600 });
}
