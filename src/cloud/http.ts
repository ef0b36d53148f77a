import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CloudError } from './errors';

/** One HTTP exchange with the cloud; the API layer above knows nothing else about HTTP. */
export type CloudTransport = (url: URL, body: string, headers: Record<string, string>, timeoutMs: number) => Promise<CloudReply>;

export interface CloudReply {
  status: number;
  body: string;
}

/** Real replies are a few kB (a device list of dozens of plugs); anything far larger is not the Meross API. */
const MAX_REPLY_BYTES = 2 * 1024 * 1024;

/**
 * The default: Node's global fetch (undici). It trusts the system CAs plus `NODE_EXTRA_CA_CERTS`, which is how
 * the test suites make child processes trust their fake cloud. HTTP redirects are refused: following one would
 * resend the token to wherever the redirect points.
 */
export const fetchTransport: CloudTransport = async (url, body, headers, timeoutMs) => {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw unreachable(url, error, timeoutMs);
  }
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_REPLY_BYTES) {
    await res.body?.cancel();
    throw new CloudError('BAD_REPLY', `${url.origin} sent an oversized reply; is this really the Meross cloud?`);
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) throw new CloudError('BAD_REPLY', `${url.origin} sent an oversized reply; is this really the Meross cloud?`);
        chunks.push(Buffer.from(chunk));
      }
    }
    return { status: res.status, body: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    if (error instanceof CloudError) throw error;
    throw unreachable(url, error, timeoutMs);
  }
};

/**
 * node:https with an explicit CA bundle. Global fetch cannot take one (that needs undici's own Agent, which Node
 * does not expose), so in-process tests and callers that pin a CA use this; certificates are always verified.
 */
export function transportWithCa(ca: string | Buffer): CloudTransport {
  return (url, body, headers, timeoutMs) =>
    new Promise<CloudReply>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        ca: url.protocol === 'https:' ? ca : undefined,
        agent: false,
        timeout: timeoutMs,
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => reject(unreachable(url, error, timeoutMs)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            req.destroy();
            reject(new CloudError('BAD_REPLY', `${url.origin} sent an oversized reply; is this really the Meross cloud?`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => reject(unreachable(url, error, timeoutMs)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(body);
    });
}

/** One line naming the host and the low-level reason (a socket or TLS error code), nothing from the request. */
function unreachable(url: URL, error: unknown, timeoutMs: number): CloudError {
  const reason = lowLevelReason(error, timeoutMs);
  return new CloudError('UNREACHABLE', `cannot reach the Meross cloud at ${url.origin} (${reason})`);
}

function lowLevelReason(error: unknown, timeoutMs: number): string {
  // fetch wraps the socket error: TypeError('fetch failed', { cause }); node:https gives it directly.
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const name = inner instanceof Error ? inner.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const code = (inner as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return `its TLS certificate is not trusted: ${code}`;
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
    return code;
  }
  return inner instanceof Error ? inner.message.slice(0, 80) : 'unknown error';
}
