import { connect, type Socket } from 'node:net';
import type { HostAddress } from './host';
import { formatHost } from './host';
import {
  ConnectionDroppedError,
  MalformedReplyError,
  ReplyTooLargeError,
  TimeoutError,
  UnreachableError,
  type MerossError,
} from './errors';

export interface PostOptions {
  timeoutMs: number;
  maxReplyBytes: number;
  /** Default `application/json`; encrypted bodies go as `application/octet-stream`, as meross_lan sends them. */
  contentType?: string;
}

/** Longest response head accepted, as node:http's default (`--max-http-header-size`). */
const MAX_HEAD_BYTES = 16 * 1024;

/**
 * One HTTP/1.1 POST to `/config` on its own TCP connection, written and read directly on a socket. The plug's tiny
 * server answers one request per connection with a Content-Length body, and may end its header lines with a bare
 * LF (protocol.md §2.1), which undici and node:http's strict parser reject; node:http with `insecureHTTPParser`
 * accepts it, but builds an agent, a request and a response stream, header validation and a pooled parser around
 * every exchange, which cost more CPU than the exchange itself with 140 plugs. This reads just what the plug sends:
 * a status line and headers ended by CRLF or LF, then a body framed by Content-Length, chunked encoding or the
 * close of the connection. No keep-alive: the firmware's support for it is undocumented, and a fresh connection per
 * request is what every working client does.
 */
export function postConfig(address: HostAddress, body: string, options: PostOptions): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const bodyBytes = Buffer.from(body, 'utf8');
    const host = formatHost(address);
    const head =
      `POST /config HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${options.contentType ?? 'application/json'}\r\n` +
      `Content-Length: ${bodyBytes.length}\r\nConnection: close\r\n\r\n`;
    const reader = new ReplyReader(options.maxReplyBytes);
    let settled = false;
    const finish = (error: MerossError | undefined, text?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(text ?? '');
    };
    const timer = setTimeout(() => finish(new TimeoutError(host, options.timeoutMs)), options.timeoutMs);
    const socket: Socket = connect({ host: address.hostname, port: address.port });
    // One write, sent as soon as the connection is up: head and body in a single segment. Not end(): our side stays
    // open until the reply is in, as node:http leaves it, in case a plug takes a half-close for a client gone away.
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]));
    socket.on('data', (chunk: Buffer) => {
      const outcome = reader.push(chunk);
      if (outcome.kind === 'done') finish(undefined, outcome.body.toString('utf8'));
      else if (outcome.kind === 'failed') finish(outcome.error(host));
    });
    socket.on('end', () => {
      const outcome = reader.end();
      if (outcome.kind === 'done') finish(undefined, outcome.body.toString('utf8'));
      else if (outcome.kind === 'failed') finish(outcome.error(host));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the status line broke a reply; one before it is the firmware refusing the request (§3.13).
      if (reader.responded && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        finish(new ConnectionDroppedError(host, 'the connection broke in the middle of the reply'));
        return;
      }
      finish(classifySocketError(host, error));
    });
    // Every exchange ends here, also the ones settled long before: build the error (and its stack) only if needed.
    socket.on('close', () => {
      if (!settled) finish(new ConnectionDroppedError(host));
    });
  });
}

type Outcome =
  | { kind: 'more' }
  | { kind: 'done'; body: Buffer }
  | { kind: 'failed'; error: (host: string) => MerossError };

const MORE: Outcome = { kind: 'more' };
const framing = (why = 'invalid HTTP framing'): Outcome => ({ kind: 'failed', error: (host) => new MalformedReplyError(host, why) });
const tooLarge = (limit: number): Outcome => ({ kind: 'failed', error: (host) => new ReplyTooLargeError(host, limit) });
const broken: Outcome = { kind: 'failed', error: (host) => new ConnectionDroppedError(host, 'the connection broke in the middle of the reply') };

/**
 * The response side of one exchange, fed the bytes as they arrive: `push` for each chunk, `end` when the plug
 * closes its side. Exported for tests.
 */
export class ReplyReader {
  /** The response head has arrived: a reset from now on breaks a reply rather than refusing the request. */
  responded = false;
  private buffer: Buffer = Buffer.alloc(0);
  private framingKind: 'head' | 'length' | 'chunked' | 'close' = 'head';
  private length = 0;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private finished = false;

  constructor(private readonly maxReplyBytes: number) {}

  push(chunk: Buffer): Outcome {
    if (this.finished) return MORE;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    return this.settle(this.step());
  }

  end(): Outcome {
    if (this.finished) return MORE;
    // Closed before the head was complete: node:http's "socket hang up", an unanswered request.
    if (this.framingKind === 'head') return this.settle({ kind: 'failed', error: (host) => new ConnectionDroppedError(host) });
    if (this.framingKind === 'close') return this.settle({ kind: 'done', body: Buffer.concat(this.chunks) });
    return this.settle(broken);
  }

  private settle(outcome: Outcome): Outcome {
    if (outcome.kind !== 'more') this.finished = true;
    return outcome;
  }

  private step(): Outcome {
    for (;;) {
      switch (this.framingKind) {
        case 'head': {
          const outcome = this.readHead();
          if (outcome) return outcome;
          break;
        }
        case 'length': {
          if (!this.take(Math.min(this.buffer.length, this.length - this.size))) return tooLarge(this.maxReplyBytes);
          return this.size === this.length ? { kind: 'done', body: Buffer.concat(this.chunks) } : MORE;
        }
        case 'close': {
          if (!this.take(this.buffer.length)) return tooLarge(this.maxReplyBytes);
          return MORE;
        }
        case 'chunked':
          return this.readChunks();
      }
    }
  }

  /** Moves `n` bytes from the buffer to the body; false once the body is over the limit. */
  private take(n: number): boolean {
    if (n > 0) {
      this.chunks.push(this.buffer.subarray(0, n));
      this.buffer = this.buffer.subarray(n);
      this.size += n;
    }
    return this.size <= this.maxReplyBytes;
  }

  /** Undefined once the head is read and the body framing is known; an outcome to return otherwise. */
  private readHead(): Outcome | undefined {
    // Not an HTTP response at all: say so at once rather than wait for a head that never ends.
    if (this.buffer.length >= 5 && this.buffer.toString('latin1', 0, 5) !== 'HTTP/') return framing();
    const end = headEnd(this.buffer);
    if (end === undefined) return this.buffer.length > MAX_HEAD_BYTES ? framing() : MORE;
    const lines = this.buffer.toString('latin1', 0, end.headEnd).split('\n');
    this.buffer = this.buffer.subarray(end.bodyStart);
    const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?\r?$/.exec(lines[0]);
    if (!status) return framing();
    const code = Number(status[1]);
    let contentLength: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) return framing();
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (contentLength !== undefined && Number(value) !== contentLength)) return framing();
        contentLength = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked = value.toLowerCase().split(',').at(-1)?.trim() === 'chunked';
      }
    }
    // An informational reply (100 Continue) comes before the real one, as node:http skips it.
    if (code >= 100 && code < 200) return undefined;
    this.responded = true;
    if (code !== 200) return framing(`HTTP status ${code}`);
    if (chunked) this.framingKind = 'chunked';
    else if (contentLength !== undefined) {
      if (contentLength > this.maxReplyBytes) return tooLarge(this.maxReplyBytes);
      this.framingKind = 'length';
      this.length = contentLength;
    } else this.framingKind = 'close';
    return undefined;
  }

  private readChunks(): Outcome {
    for (;;) {
      if (this.length > 0) {
        // Inside a chunk: its data, then its CRLF (or LF).
        const n = Math.min(this.buffer.length, this.length);
        if (!this.take(n)) return tooLarge(this.maxReplyBytes);
        this.length -= n;
        if (this.length > 0) return MORE;
        this.length = -1;
      }
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) return this.buffer.length > MAX_HEAD_BYTES ? framing() : MORE;
      const line = this.buffer.toString('latin1', 0, lf).replace(/\r$/, '');
      this.buffer = this.buffer.subarray(lf + 1);
      if (this.length === -1) {
        // The line ending a chunk's data.
        if (line !== '') return framing();
        this.length = 0;
        continue;
      }
      const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(line.trim());
      if (!size) return framing();
      const n = parseInt(size[1], 16);
      // The last chunk; trailers, if any, are not waited for: the body is complete.
      if (n === 0) return { kind: 'done', body: Buffer.concat(this.chunks) };
      this.length = n;
    }
  }
}

/** Finds the empty line ending the head, accepting CRLF and bare LF line ends alike. */
function headEnd(buf: Buffer): { headEnd: number; bodyStart: number } | undefined {
  let lineStart = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    const lineLength = i - lineStart;
    if (lineLength === 0 || (lineLength === 1 && buf[lineStart] === 0x0d)) return { headEnd: Math.max(0, lineStart - 1), bodyStart: i + 1 };
    lineStart = i + 1;
  }
  return undefined;
}

function classifySocketError(label: string, error: NodeJS.ErrnoException): MerossError {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      // Connected, then closed without an answer: how the firmware reacts to queries it won't serve.
      return new ConnectionDroppedError(label);
    case 'ECONNREFUSED':
      return new UnreachableError(label, 'connection refused');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new UnreachableError(label, 'no route to host');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UnreachableError(label, 'host name not found');
    default:
      return new UnreachableError(label, error.code ?? error.message);
  }
}
