import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'vitest';
import { sign, type Header, type Method } from '../../src/meross/envelope';
import { MerossError } from '../../src/meross/errors';
import type { Json } from '../../src/meross/decode';

/** Asserts `promise` rejects with exactly `Class`, naming `host` and containing none of `secrets`; returns the error. */
export async function expectMerossError<E extends MerossError>(
  promise: Promise<unknown>,
  Class: new (...args: never[]) => E,
  host: string,
  secrets: string[],
): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a rejection').toBeDefined();
  expect(caught).toBeInstanceOf(Class);
  const error = caught as E;
  expect(error.constructor).toBe(Class);
  expectSafeMessage(error, host, secrets);
  return error;
}

/** Every error names the host and never leaks a key. */
export function expectSafeMessage(error: MerossError, host: string, secrets: string[]): void {
  expect(error.host).toBe(host);
  expect(error.message).toContain(host);
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(0);
    expect(error.message).not.toContain(secret);
    expect(String(error.stack)).not.toContain(secret);
  }
}

export interface FakeRequest {
  header: Header;
  payload: Json;
}

export type FakeAnswer =
  /** JSON-serialised and sent with the given framing. */
  | { reply: unknown; lfOnly?: boolean; status?: number }
  /** Sent verbatim as the body. */
  | { body: string; lfOnly?: boolean; status?: number }
  /** Close the connection without a word. */
  | { drop: true };

export type FakeHandler = (request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>;

/**
 * A tiny loopback "plug" on a raw TCP socket, so tests can craft any reply (bad signatures, LF-only heads…).
 * It does not serialise connections, unlike the simulator, and records what it received.
 */
export class FakePlug {
  readonly requests: FakeRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    private handler: FakeHandler,
  ) {}

  static async start(handler: FakeHandler): Promise<FakePlug> {
    const server = createServer();
    const fake = new FakePlug(server, handler);
    server.on('connection', (socket) => fake.serve(socket));
    server.listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  setHandler(handler: FakeHandler): void {
    this.handler = handler;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buffer.subarray(0, headEnd).toString('latin1');
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const body = buffer.subarray(headEnd + 4);
      if (body.length < length) return;
      socket.off('data', onData);
      const message = JSON.parse(body.subarray(0, length).toString('utf8')) as { header: Header; payload: Json };
      const request = { header: message.header, payload: message.payload };
      this.requests.push(request);
      void Promise.resolve(this.handler(request)).then((answer) => respond(socket, answer));
    };
    socket.on('data', onData);
  }
}

function respond(socket: Socket, answer: FakeAnswer): void {
  if (socket.destroyed) return;
  if ('drop' in answer) {
    socket.destroy();
    return;
  }
  const body = Buffer.from('reply' in answer ? JSON.stringify(answer.reply) : answer.body, 'utf8');
  const eol = answer.lfOnly ? '\n' : '\r\n';
  const status = answer.status ?? 200;
  const head = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Error'}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'];
  socket.end(Buffer.concat([Buffer.from(head.join(eol) + eol + eol, 'latin1'), body]));
}

export interface ReplyOptions {
  /** Key the device signs with. */
  key: string;
  uuid?: string;
  method?: Method;
  namespace?: string;
  messageId?: string;
  timestamp?: number;
  /** Override the computed signature. */
  sign?: string;
}

/** A device reply to `request`, signed like the firmware signs (protocol.md §1.3–1.4). */
export function deviceReply(request: FakeRequest, payload: Json, options: ReplyOptions): { header: Header; payload: Json } {
  const messageId = options.messageId ?? request.header.messageId;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const ack: Record<string, Method> = { GET: 'GETACK', SET: 'SETACK', PUSH: 'PUSH' };
  return {
    header: {
      messageId,
      namespace: options.namespace ?? request.header.namespace,
      method: options.method ?? ack[request.header.method] ?? 'ERROR',
      payloadVersion: 1,
      // Default uuid derived from krahabb/meross_lan traces (MIT).
      from: `/appliance/${options.uuid ?? '20091131118061251h5748e1e9334e2b'}/publish`,
      timestamp,
      timestampMs: 0,
      sign: options.sign ?? sign(messageId, options.key, timestamp),
    },
    payload,
  };
}
