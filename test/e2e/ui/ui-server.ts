/**
 * Runs homebridge-ui/server.js the way homebridge-config-ui-x does: fork()ed with an IPC channel and the
 * HOMEBRIDGE_* environment, talking `{action:'request'}` / `{action:'response'}` messages. For testing the
 * server's answers without a browser.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { ROOT, nodeFor } from '../homebridge';

export const SERVER_JS = join(ROOT, 'homebridge-ui', 'server.js');

export interface UiReply {
  success: boolean;
  data: Record<string, unknown> & { message?: string; error?: Record<string, unknown> };
}

interface Message {
  action: string;
  payload?: { requestId?: string; success?: boolean; data?: UiReply['data'] };
}

export class UiServer {
  readonly output: string[] = [];
  private nextId = 0;
  private readonly pending = new Map<string, (reply: UiReply) => void>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: Message) => {
      if (m.action !== 'response' || !m.payload?.requestId) return;
      const done = this.pending.get(m.payload.requestId);
      this.pending.delete(m.payload.requestId);
      done?.({ success: m.payload.success === true, data: m.payload.data ?? {} });
    });
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
  }

  /** Resolves once the server has said it is ready for requests. */
  static async start(storageDir: string, env: Record<string, string>): Promise<UiServer> {
    const child = fork(SERVER_JS, [], {
      execPath: nodeFor('v2'),
      silent: true,
      env: { ...process.env, HOMEBRIDGE_STORAGE_PATH: storageDir, HOMEBRIDGE_CONFIG_PATH: join(storageDir, 'config.json'), HOMEBRIDGE_UI_VERSION: '5.28.0', ...env },
    });
    const server = new UiServer(child);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: Message) => {
        if (m.action === 'ready') resolve();
      });
      child.once('exit', (code) => reject(new Error(`server.js exited (${code}): ${server.output.join('')}`)));
    });
    await ready;
    return server;
  }

  request(path: string, body: Record<string, unknown> = {}): Promise<UiReply> {
    const requestId = `r${++this.nextId}`;
    return new Promise((resolve) => {
      this.pending.set(requestId, resolve);
      this.child.send({ action: 'request', requestId, path, body });
    });
  }

  /** As config-ui-x closes the dialog: drop the IPC channel; the server must exit by itself. */
  async close(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    return code ?? (signal ? -1 : null);
  }
}
