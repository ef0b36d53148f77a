import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';

/**
 * Loopback addresses only (all of 127.0.0.0/8 is local on Linux). Each test file uses its own 127.42.N.0/24 so
 * scans never meet another suite's servers on 127.0.0.1.
 */
export function loopback(subnet: number, host: number): string {
  return `127.42.${subnet}.${host}`;
}

/** A port free on every given address (binding 0.0.0.0 first, so no wildcard listener holds it either). */
export async function commonPort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const held: Server[] = [];
    let ok = true;
    for (const host of hosts) {
      const s = createServer();
      try {
        s.listen(port, host);
        await once(s, 'listening');
        held.push(s);
      } catch {
        ok = false;
        break;
      }
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return port;
  }
  throw new Error('no common free port');
}

export async function startPlugs(port: number, specs: Array<SimulatorOptions & { host: string }>): Promise<SimulatedPlug[]> {
  return Promise.all(specs.map((spec) => SimulatedPlug.start({ ...spec, port })));
}

/** An HTTP server that answers 404 to everything: a router's web page, not a plug. */
export async function notAPlug(host: string, port: number): Promise<HttpServer> {
  const server = createHttpServer((_req, res) => res.writeHead(404).end('not found'));
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

/**
 * An HTTP server that reads requests and never answers (until the client gives up), counting requests in flight
 * across every server sharing the same counter.
 */
export class SilentHosts {
  inFlight = 0;
  maxInFlight = 0;
  requests = 0;
  private readonly servers: HttpServer[] = [];

  async start(hosts: readonly string[], port: number): Promise<void> {
    for (const host of hosts) {
      const server = createHttpServer((req, res) => {
        this.requests++;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        res.on('close', () => this.inFlight--);
        req.resume();
      });
      server.listen(port, host);
      await once(server, 'listening');
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => {
        s.closeAllConnections();
        return new Promise((r) => s.close(r));
      }),
    );
  }
}

export class Log {
  readonly lines: Array<[string, string]> = [];
  info = (m: string): void => void this.lines.push(['info', m]);
  warn = (m: string): void => void this.lines.push(['warn', m]);
  error = (m: string): void => void this.lines.push(['error', m]);
  debug = (m: string): void => void this.lines.push(['debug', m]);
  text(): string {
    return this.lines.map(([l, m]) => `${l}: ${m}`).join('\n');
  }
}
