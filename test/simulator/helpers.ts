import { request } from 'node:http';
import { connect } from 'node:net';
import { buildMessage, type Method } from '../../src/meross/envelope';
import { afterEach } from 'vitest';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';

/** What the helpers need of a plug: where it listens and its key (a SimulatedPlug, or one announced by the CLI). */
export type Target = Pick<SimulatedPlug, 'host' | 'port' | 'key'>;

/** A `start` for the calling test file: simulated plugs it starts are stopped after each test. */
export function simulatedPlugs(): (opts?: SimulatorOptions) => Promise<SimulatedPlug> {
  const plugs: SimulatedPlug[] = [];
  afterEach(async () => {
    await Promise.all(plugs.splice(0).map((p) => p.stop()));
  });
  return async (opts = {}) => {
    const plug = await SimulatedPlug.start(opts);
    plugs.push(plug);
    return plug;
  };
}

/** A signed request body for `plug` (or for another key, to provoke a sign error). */
export function message(plug: Target, namespace: string, method: Method, payload: unknown, key = plug.key): string {
  return JSON.stringify(buildMessage(namespace, method, payload, key));
}

export function rawRequest(body: string, opts: { path?: string; method?: string } = {}): string {
  const length = Buffer.byteLength(body);
  const head = [
    `${opts.method ?? 'POST'} ${opts.path ?? '/config'} HTTP/1.1`,
    'Host: plug',
    'Content-Type: application/json',
    `Content-Length: ${length}`,
    'Connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

export interface RawResult {
  bytes: Buffer;
  error?: NodeJS.ErrnoException;
}

/** Writes `data` on a fresh connection and collects every byte until the plug closes it. */
export function rawExchange(plug: Target, data: string): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    const socket = connect({ host: plug.host, port: plug.port }, () => socket.write(data));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
    socket.on('close', () => resolve({ bytes: Buffer.concat(chunks), error }));
  });
}

export interface ParsedResponse {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw reply bytes, accepting bare-LF line ends like a lenient client must. */
export function parseRaw(bytes: Buffer): ParsedResponse {
  const text = bytes.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) throw new Error(`no end of head in ${JSON.stringify(text.slice(0, 200))}`);
  const head = text.slice(0, m.index);
  const lines = head.split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = bytes.subarray(Buffer.byteLength(text.slice(0, m.index + m[0].length), 'latin1')).toString('utf8');
  return { status: Number(lines[0].split(' ')[1]), head, headers, body };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke into arbitrary reply shapes and assert on them
type Loose = Record<string, any>;
export interface Reply {
  header: Loose;
  payload: Loose;
}

/** One request/reply; rejects when the plug drops the connection without an HTTP reply. */
export async function call(plug: Target, body: string): Promise<Reply> {
  const { bytes, error } = await rawExchange(plug, rawRequest(body));
  if (bytes.length === 0) throw Object.assign(new Error('dropped'), { code: error?.code ?? 'DROPPED' });
  const res = parseRaw(bytes);
  return JSON.parse(res.body) as Reply;
}

export function get(plug: Target, namespace: string, payload: unknown = {}) {
  return call(plug, message(plug, namespace, 'GET', payload));
}

export function set(plug: Target, namespace: string, payload: unknown) {
  return call(plug, message(plug, namespace, 'SET', payload));
}

export interface HttpResult {
  status?: number;
  body?: string;
  error?: NodeJS.ErrnoException;
}

/** node:http as the plugin's client uses it; `insecure` toggles the lenient parser needed for bare-LF heads. */
export function httpPost(plug: Target, body: string, insecure = true, signal?: AbortSignal): Promise<HttpResult> {
  return new Promise((resolve) => {
    const req = request({
      host: plug.host,
      port: plug.port,
      path: '/config',
      method: 'POST',
      agent: false,
      insecureHTTPParser: insecure,
      signal,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' },
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: res.statusCode, error }));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}
