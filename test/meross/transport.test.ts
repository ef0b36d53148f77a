import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionDroppedError, MalformedReplyError, ReplyTooLargeError } from '../../src/meross/errors';
import { postConfig, ReplyReader } from '../../src/meross/transport';
import { expectMerossError } from './helpers';

const BODY = JSON.stringify({ header: { method: 'GETACK' }, payload: { ok: 'ünïcode' } });
const crlf = (lines: string[], body = ''): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
const lf = (lines: string[], body = ''): Buffer => Buffer.from(`${lines.join('\n')}\n\n${body}`, 'utf8');
const length = (body: string): string => `Content-Length: ${Buffer.byteLength(body)}`;

interface Received {
  head: string;
  body: string;
  /** The client had half-closed its side before the reply was sent. */
  endedEarly: boolean;
}

/** A raw loopback server answering each request with whatever `answer` writes on the socket. */
class RawServer {
  readonly received: Received[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(answer: (socket: Socket) => void): Promise<RawServer> {
    const server = createServer({ allowHalfOpen: true });
    const raw = new RawServer(server);
    server.on('connection', (socket) => {
      raw.sockets.add(socket);
      socket.on('close', () => raw.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffer = Buffer.alloc(0);
      let ended = false;
      socket.on('end', () => {
        ended = true;
      });
      const onData = (chunk: Buffer): void => {
        buffer = Buffer.concat([buffer, chunk]);
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const size = Number(/content-length: (\d+)/i.exec(head)?.[1]);
        if (buffer.length < end + 4 + size) return;
        socket.off('data', onData);
        // A moment for a FIN the client might have sent right after its request.
        setImmediate(() => {
          raw.received.push({ head, body: buffer.subarray(end + 4).toString('utf8'), endedEarly: ended });
          answer(socket);
        });
      };
      socket.on('data', onData);
    });
    server.listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    return raw;
  }

  get address(): { hostname: string; port: number } {
    return { hostname: '127.0.0.1', port: (this.server.address() as AddressInfo).port };
  }

  get label(): string {
    return `127.0.0.1:${this.address.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(answer: (socket: Socket) => void): Promise<RawServer> {
  const server = await RawServer.start(answer);
  servers.push(server);
  return server;
}

const post = (server: RawServer, maxReplyBytes = 64 * 1024): Promise<string> =>
  postConfig(server.address, '{"x":"é"}', { timeoutMs: 5000, maxReplyBytes });

describe('postConfig on a real socket', () => {
  it('sends one POST /config with its headers and body, and keeps its side open until the reply', async () => {
    const server = await serve((s) => s.end(crlf(['HTTP/1.1 200 OK', length(BODY), 'Connection: close'], BODY)));
    expect(await post(server)).toBe(BODY);
    const [got] = server.received;
    expect(got.head.split('\r\n')).toEqual([
      'POST /config HTTP/1.1',
      `Host: ${server.label}`,
      'Content-Type: application/json',
      'Content-Length: 10',
      'Connection: close',
    ]);
    expect(got.body).toBe('{"x":"é"}');
    expect(got.endedEarly).toBe(false);
  });

  it('reads a head whose lines end with a bare LF (protocol.md §2.1)', async () => {
    const server = await serve((s) => s.end(lf(['HTTP/1.1 200 OK', 'Content-Type: application/json', length(BODY)], BODY)));
    expect(await post(server)).toBe(BODY);
  });

  it('reads a reply sent a few bytes at a time', async () => {
    const bytes = crlf(['HTTP/1.1 200 OK', length(BODY)], BODY);
    const server = await serve((s) => {
      let at = 0;
      const next = (): void => {
        if (at >= bytes.length) return void s.end();
        s.write(bytes.subarray(at, at + 7));
        at += 7;
        setTimeout(next, 1);
      };
      next();
    });
    expect(await post(server)).toBe(BODY);
  });

  it('reads a body framed by the close of the connection, or chunked', async () => {
    const closed = await serve((s) => s.end(crlf(['HTTP/1.0 200 OK'], BODY)));
    expect(await post(closed)).toBe(BODY);
    const half = Math.floor(BODY.length / 2);
    const chunked = await serve((s) =>
      s.end(lf(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `${half.toString(16)}\r\n${BODY.slice(0, half)}\r\n${Buffer.byteLength(BODY.slice(half)).toString(16)};x=y\n${BODY.slice(half)}\n0\r\n\r\n`)),
    );
    expect(await post(chunked)).toBe(BODY);
  });

  it('skips an informational 100 Continue before the reply', async () => {
    const server = await serve((s) => s.end(Buffer.concat([crlf(['HTTP/1.1 100 Continue']), crlf(['HTTP/1.1 200 OK', length(BODY)], BODY)])));
    expect(await post(server)).toBe(BODY);
  });

  it('a status other than 200 or a reply that is not HTTP → MalformedReplyError', async () => {
    const status = await serve((s) => s.end(crlf(['HTTP/1.1 500 Internal Server Error', 'Content-Length: 0'])));
    expect((await expectMerossError(post(status), MalformedReplyError, status.label, [])).message).toContain('HTTP status 500');
    const garbage = await serve((s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'));
    expect((await expectMerossError(post(garbage), MalformedReplyError, garbage.label, [])).message).toContain('invalid HTTP framing');
    const badHeader = await serve((s) => s.end(crlf(['HTTP/1.1 200 OK', 'no colon here', length(BODY)], BODY)));
    await expectMerossError(post(badHeader), MalformedReplyError, badHeader.label, []);
  });

  it('a body over the limit → ReplyTooLargeError, whether declared or only sent', async () => {
    const declared = await serve((s) => s.end(crlf(['HTTP/1.1 200 OK', length(BODY)], BODY)));
    await expectMerossError(post(declared, 10), ReplyTooLargeError, declared.label, []);
    const sent = await serve((s) => s.end(crlf(['HTTP/1.1 200 OK'], BODY)));
    await expectMerossError(post(sent, 10), ReplyTooLargeError, sent.label, []);
  });

  it('closed without a word → ConnectionDroppedError (unanswered); closed mid-body → broken reply', async () => {
    const silent = await serve((s) => s.destroy());
    const unanswered = await expectMerossError(post(silent), ConnectionDroppedError, silent.label, []);
    expect(unanswered.message).toBe(new ConnectionDroppedError(silent.label).message);
    const cut = await serve((s) => s.end(crlf(['HTTP/1.1 200 OK', length(BODY)], BODY.slice(0, 10))));
    const broken = await expectMerossError(post(cut), ConnectionDroppedError, cut.label, []);
    expect(broken.message).toContain('in the middle of the reply');
    const reset = await serve((s) => {
      s.write(crlf(['HTTP/1.1 200 OK', length(BODY)], BODY.slice(0, 10)));
      setTimeout(() => s.resetAndDestroy(), 5);
    });
    expect((await expectMerossError(post(reset), ConnectionDroppedError, reset.label, [])).message).toContain('in the middle of the reply');
  });
});

describe('ReplyReader', () => {
  const replies: Array<[string, Buffer]> = [
    ['CRLF with length', crlf(['HTTP/1.1 200 OK', 'Content-Type: application/json', length(BODY), 'Connection: close'], BODY)],
    ['LF with length', lf(['HTTP/1.1 200 OK', length(BODY)], BODY)],
    ['chunked', crlf(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `5\r\n${BODY.slice(0, 5)}\r\n${(Buffer.byteLength(BODY) - 5).toString(16)}\r\n${BODY.slice(5)}\r\n0\r\n\r\n`)],
  ];

  it.each(replies)('%s: the same body however the bytes are split', (_, bytes) => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new ReplyReader(64 * 1024);
      const first = reader.push(bytes.subarray(0, cut));
      const outcome = first.kind === 'more' ? reader.push(bytes.subarray(cut)) : first;
      expect(outcome.kind, `cut at ${cut}`).toBe('done');
      if (outcome.kind === 'done') expect(outcome.body.toString('utf8')).toBe(BODY);
    }
  });

  it('a close-delimited body is complete at the end of the connection', () => {
    const reader = new ReplyReader(1024);
    expect(reader.push(lf(['HTTP/1.1 200 OK'], 'abc')).kind).toBe('more');
    expect(reader.push(Buffer.from('def')).kind).toBe('more');
    const outcome = reader.end();
    expect(outcome.kind === 'done' && outcome.body.toString()).toBe('abcdef');
  });

  it('a head that never ends is refused past 16 kB', () => {
    const reader = new ReplyReader(1024);
    expect(reader.push(Buffer.from('HTTP/1.1 200 OK\r\n')).kind).toBe('more');
    expect(reader.push(Buffer.from(`X-Long: ${'a'.repeat(17 * 1024)}`)).kind).toBe('failed');
  });
});
