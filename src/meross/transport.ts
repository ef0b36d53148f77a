import { request } from 'node:http';
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

/**
 * One HTTP POST to `/config`. node:http with `insecureHTTPParser` because Meross firmware may end header lines
 * with a bare LF, which undici and the strict parser reject (protocol.md §2.1). No keep-alive: the firmware's
 * support for it is undocumented, and a fresh connection per request is what every working client does.
 */
export function postConfig(address: HostAddress, body: string, options: PostOptions): Promise<string> {
  const label = formatHost(address);
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const fail = (error: MerossError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(error);
    };
    const req = request({
      host: address.hostname,
      port: address.port,
      path: '/config',
      method: 'POST',
      agent: false,
      insecureHTTPParser: true,
      headers: {
        'Content-Type': options.contentType ?? 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Connection: 'close',
      },
    });
    const timer = setTimeout(() => fail(new TimeoutError(label, options.timeoutMs)), options.timeoutMs);
    let responded = false;
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the status line broke a reply; one before it is the firmware refusing the request (§3.13).
      if (responded && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) {
        fail(new ConnectionDroppedError(label, 'the connection broke in the middle of the reply'));
        return;
      }
      fail(classifySocketError(label, error));
    });
    req.on('response', (res) => {
      responded = true;
      if (res.statusCode !== 200) {
        res.resume();
        fail(new MalformedReplyError(label, `HTTP status ${res.statusCode}`));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (declared > options.maxReplyBytes) {
        fail(new ReplyTooLargeError(label, options.maxReplyBytes));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxReplyBytes) {
          fail(new ReplyTooLargeError(label, options.maxReplyBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on('aborted', () => fail(new ConnectionDroppedError(label, 'the connection broke in the middle of the reply')));
      res.on('error', (error: NodeJS.ErrnoException) => fail(classifySocketError(label, error)));
      res.on('end', () => {
        if (settled) return;
        if (!res.complete) {
          fail(new ConnectionDroppedError(label, 'the connection broke in the middle of the reply'));
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.end(body);
  });
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
      if (error.message === 'socket hang up') return new ConnectionDroppedError(label);
      if (String(error.code ?? '').startsWith('HPE_')) return new MalformedReplyError(label, 'invalid HTTP framing');
      return new UnreachableError(label, error.code ?? error.message);
  }
}
