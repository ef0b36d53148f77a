/**
 * Shutdown with a plug caught mid-connect: the embedded broker must end connections that are no MQTT session yet (a
 * TLS handshake not finished, or no CONNECT sent), or its server stays open for the 15 s connect timeout, past
 * Homebridge's 5 s shutdown limit, and the platform never finishes saving.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { startHub, storage } from './helpers';

describe('local push stop', () => {
  it('ends connections that are no session yet, in the handshake or before CONNECT, and closes its port', async () => {
    const folder = storage();
    const { hub } = await startHub(folder.dir);
    const port = hub.port!;
    // One plain TCP connection that never starts TLS, one TLS connection that never sends CONNECT.
    const silent: Socket = connect({ host: '127.0.0.1', port });
    await once(silent, 'connect');
    const handshaken = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(handshaken, 'secureConnect');
    // The broker resets them: that is the point, not an error of the test (and events.once would reject on it).
    const ended = [silent, handshaken].map((socket) => {
      socket.on('error', () => undefined);
      return new Promise<void>((resolve) => socket.once('close', () => resolve()));
    });
    await hub.stop();
    await Promise.all(ended);
    const refused = connect({ host: '127.0.0.1', port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    folder.remove();
  });
});
