/**
 * Just enough HTTP/1.1 to look like the plug's tiny web server: one request per connection, a body framed by
 * Content-Length only, and replies whose line endings can be bare LF (protocol.md §2.1).
 */

export interface HttpRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: Buffer;
}

export type ReadResult =
  | { state: 'more' }
  | { state: 'done'; request: HttpRequest }
  /** Not a request this server can read; `status` is what to answer, if anything. */
  | { state: 'bad'; status?: number; reason: string };

/** A plug has a few kB of RAM for this; anything bigger is not a Meross client. */
const MAX_HEAD_BYTES = 8 * 1024;
const MAX_BODY_BYTES = 64 * 1024;

/** Feeds raw bytes in as they arrive; reports once a whole request has been read. */
export class RequestReader {
  private buffer = Buffer.alloc(0);
  private head?: { method: string; path: string; headers: Record<string, string>; bodyStart: number; length: number };

  push(chunk: Buffer): ReadResult {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.head) {
      const end = findHeadEnd(this.buffer);
      if (end === undefined) {
        return this.buffer.length > MAX_HEAD_BYTES ? { state: 'bad', reason: 'request head too large' } : { state: 'more' };
      }
      const parsed = parseHead(this.buffer.subarray(0, end.headEnd).toString('latin1'));
      if ('reason' in parsed) return parsed;
      if (parsed.headers['transfer-encoding'] !== undefined) {
        return { state: 'bad', status: 411, reason: 'chunked bodies are not supported' };
      }
      const lengthHeader = parsed.headers['content-length'];
      const length = lengthHeader === undefined ? 0 : Number(lengthHeader);
      if (!Number.isInteger(length) || length < 0) return { state: 'bad', status: 400, reason: 'bad Content-Length' };
      if (length > MAX_BODY_BYTES) return { state: 'bad', reason: 'body too large' };
      this.head = { ...parsed, bodyStart: end.bodyStart, length };
    }
    const { bodyStart, length } = this.head;
    if (this.buffer.length - bodyStart < length) return { state: 'more' };
    const { method, path, headers } = this.head;
    return { state: 'done', request: { method, path, headers, body: this.buffer.subarray(bodyStart, bodyStart + length) } };
  }
}

/** Finds the empty line ending the head, accepting CRLF and bare LF line ends alike. */
function findHeadEnd(buf: Buffer): { headEnd: number; bodyStart: number } | undefined {
  let lineStart = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    const lineLength = i - lineStart;
    if (lineLength === 0 || (lineLength === 1 && buf[lineStart] === 0x0d)) {
      return { headEnd: lineStart, bodyStart: i + 1 };
    }
    lineStart = i + 1;
  }
  return undefined;
}

type Head = { method: string; path: string; headers: Record<string, string> };

function parseHead(text: string): Extract<ReadResult, { state: 'bad' }> | Head {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const requestLine = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!requestLine) return { state: 'bad', status: 400, reason: 'bad request line' };
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { state: 'bad', status: 400, reason: 'bad header line' };
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { method: requestLine[1], path: requestLine[2], headers };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  411: 'Length Required',
};

/** Status line and headers only, so a caller can send part of a body (reset fault) after them. */
export function responseHead(status: number, contentLength: number, lfOnly: boolean, contentType = 'application/json'): Buffer {
  const eol = lfOnly ? '\n' : '\r\n';
  const lines = [
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`,
    `Content-Type: ${contentType}`,
    `Content-Length: ${contentLength}`,
    'Connection: close',
  ];
  return Buffer.from(lines.join(eol) + eol + eol, 'latin1');
}

export function response(status: number, body: Buffer | string, lfOnly: boolean, contentType?: string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([responseHead(status, bytes.length, lfOnly, contentType), bytes]);
}
