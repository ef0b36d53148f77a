import { isIP } from 'node:net';

/** A plug address as users write it: `192.0.2.10`, `192.0.2.10:8081`, `[::1]:8081`, `plug.lan`. */
export interface HostAddress {
  hostname: string;
  port: number;
}

const HOSTNAME = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Parses `host[:port]`; returns undefined for anything that is not a usable address. */
export function parseHost(input: string): HostAddress | undefined {
  const text = input.trim().replace(/^https?:\/\//, '').replace(/\/(config)?$/, '');
  let hostname: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    if (isIP(v6[1]) !== 6) return undefined;
    hostname = v6[1];
    portText = v6[2];
  } else {
    const parts = text.split(':');
    if (parts.length > 2) return undefined;
    [hostname, portText] = parts;
    if (!HOSTNAME.test(hostname)) return undefined;
  }
  // Digits only: Number() would also take "0x50", "8e1" or " 80".
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) return undefined;
  const port = portText === undefined ? 80 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { hostname, port };
}

export function formatHost({ hostname, port }: HostAddress): string {
  const h = hostname.includes(':') ? `[${hostname}]` : hostname;
  return port === 80 ? h : `${h}:${port}`;
}

/**
 * `localhost`, `127.0.0.0/8` and `::1` in any spelling (`0:0:0:0:0:0:0:1`, `::0:1`). The one check for "this never
 * leaves the machine": the simulator binds only there, plain-http cloud URLs may go only there.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  const kind = isIP(h);
  if (kind === 4) return h.startsWith('127.');
  // The URL parser writes an IPv6 address in its one canonical (compressed) form.
  return kind === 6 && new URL(`http://[${h}]/`).hostname === '[::1]';
}
