import { networkInterfaces } from 'node:os';
import { DEFAULT_CONCURRENCY, expandRanges, resolveSubnets, scan, type Found, type ScanTarget } from '../discovery';
import { commandValues, usageError } from './command';
import type { CliIo } from './io';

export const DISCOVER_USAGE = `Usage: meross-lan discover [--subnet CIDR]... [--port 80] [--key KEY]... [--json]

Probes every address of the subnets with a signed Appliance.System.All and lists the Meross plugs that answer.
A plug that refuses the key is still listed (by the uuid in its error reply), as "key needed".

  --subnet S   where to look: 192.168.1.0/24, a range 192.168.1.20-40, or one address; repeatable.
               Default: the environment variable MEROSS_LAN_SUBNETS (comma list), else this host's own
               IPv4 networks, each capped at a /24.
  --port P     port to probe (default 80)
  --key KEY    device key to try; repeatable. Default: the environment variable MEROSS_KEY, else none
               (every plug is then listed as "key needed", still with its uuid)
  --timeout S  seconds to wait for a plug's reply once connected (default 2.5)
  --json       one JSON array of {"host","port","uuid","model","firmware","keyOk"}
  -h, --help   show this help
`;

const OPTIONS = {
  subnet: { type: 'string', multiple: true },
  port: { type: 'string' },
  key: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `meross-lan discover`: never sends anywhere but the listed (or the host's own, /24-capped) subnets. */
export async function discover(argv: readonly string[], io: CliIo): Promise<number> {
  const values = commandValues('discover', argv, OPTIONS, DISCOVER_USAGE, io);
  if (typeof values === 'number') return values;
  const port = values.port === undefined ? 80 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '80') || port < 1 || port > 65535) return usage(io, '--port must be a whole number from 1 to 65535');
  const timeoutS = values.timeout === undefined ? 2.5 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS < 0.1 || timeoutS > 60) return usage(io, '--timeout must be a number of seconds from 0.1 to 60');
  const subnets = resolveSubnets({ configured: values.subnet, configuredSource: '--subnet', env: io.env, interfaces: networkInterfaces });
  if (subnets.problems.length > 0) return usage(io, subnets.problems[0].replace(/; skipping it\.$/, ''));
  if (subnets.ranges.length === 0) {
    io.stderr('meross-lan: no subnet to scan: this host has no IPv4 network; pass --subnet\n');
    return 1;
  }
  const keys = values.key ?? (io.env.MEROSS_KEY !== undefined ? [io.env.MEROSS_KEY] : []);
  const targets: ScanTarget[] = expandRanges(subnets.ranges).map((host) => ({ host, port }));
  const started = Date.now();
  const found = await scan({
    targets,
    // Without a key, an empty one: self-paired plugs often use it, and every other plug still names its uuid.
    keys: keys.length > 0 ? keys : [''],
    concurrency: DEFAULT_CONCURRENCY,
    replyTimeoutMs: Math.round(timeoutS * 1000),
    signal: io.signal,
  });
  if (io.signal?.aborted) return 130;
  const rows: Row[] = found.map((f) => ({ host: f.host, port: f.port, uuid: f.uuid, model: f.model, firmware: f.firmware, keyOk: f.keyOk }));
  if (values.json) {
    io.stdout(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  for (const r of rows) {
    const where = r.port === 80 ? r.host : `${r.host}:${r.port}`;
    const what = r.keyOk ? `${(r.model ?? '').toUpperCase()} ${r.firmware ?? ''}`.trim() : 'key needed';
    io.stdout(`${where.padEnd(21)} ${what.padEnd(16)} ${r.uuid ?? '(uuid unknown)'}\n`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  io.stdout(
    `${rows.length} Meross plug${rows.length === 1 ? '' : 's'} found in ${seconds} s ` +
      `(${targets.length} address${targets.length === 1 ? '' : 'es'} in ${subnets.ranges.map((r) => r.label).join(', ')}, port ${port}).\n`,
  );
  return 0;
}

/** One line of the listing (and of `--json`): what a scan found, never which key worked. */
type Row = Pick<Found, 'host' | 'port' | 'uuid' | 'model' | 'firmware' | 'keyOk'>;

function usage(io: CliIo, message: string): number {
  return usageError(io, 'discover', message);
}
