import { parseArgs } from 'node:util';
import { isLoopback, isTimeZone, parseHost } from '../meross';
import type { MidnightMode } from '../simulator';
import type { Model } from '../simulator/types';
import { describe } from '../util/describe';

/** Bad command line: reported as one line on stderr with exit status 2. */
export class UsageError extends Error {}

export interface PlugTarget {
  /** `host[:port]` as given; validated with parseHost. */
  host: string;
  key: string;
  timeoutMs: number;
}

export type SwitchAction = 'on' | 'off' | 'toggle';

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'info'; plug: PlugTarget; json: boolean }
  | { kind: 'switch'; action: SwitchAction; plug: PlugTarget; json: boolean; channel: number }
  | { kind: 'watch'; plug: PlugTarget; json: boolean; intervalMs: number }
  | { kind: 'time'; plug: PlugTarget; json: boolean; timezone?: string }
  | { kind: 'led'; plug: PlugTarget; json: boolean; set?: boolean }
  | {
      kind: 'simulate';
      count: number;
      firmware: 1 | 2;
      /** Another model than the MSS310 (its own firmware; --firmware is ignored); undefined for the MSS310 of `firmware`. */
      model?: Exclude<Model, 'mss310'>;
      lfOnly: boolean;
      host: string;
      port: number;
      /** Undefined: the simulator's default (Europe/London); '' for none. */
      timezone?: string;
      midnight: MidnightMode;
      clockSkewMs: number;
    };

export const DEFAULT_TIMEOUT_S = 5;
export const DEFAULT_INTERVAL_S = 2;
/** homebridge-meross keeps ≥ 250 ms between requests; a poll is two of them on fw 1.x, so stay above that. */
export const MIN_INTERVAL_S = 0.5;
export const MAX_SIMULATED_PLUGS = 50;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  host: { type: 'string' },
  key: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  interval: { type: 'string' },
  count: { type: 'string' },
  firmware: { type: 'string' },
  model: { type: 'string' },
  'lf-only': { type: 'boolean' },
  port: { type: 'string' },
  timezone: { type: 'string' },
  midnight: { type: 'string' },
  'clock-skew': { type: 'string' },
  channel: { type: 'string' },
  set: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

const PLUG_OPTIONS: readonly OptionName[] = ['host', 'key', 'timeout', 'json'];
const ALLOWED: Record<string, readonly OptionName[]> = {
  info: PLUG_OPTIONS,
  on: [...PLUG_OPTIONS, 'channel'],
  off: [...PLUG_OPTIONS, 'channel'],
  toggle: [...PLUG_OPTIONS, 'channel'],
  watch: [...PLUG_OPTIONS, 'interval'],
  time: [...PLUG_OPTIONS, 'timezone'],
  led: [...PLUG_OPTIONS, 'set'],
  simulate: ['count', 'firmware', 'model', 'lf-only', 'host', 'port', 'timezone', 'midnight', 'clock-skew'],
};

// login, logout, discover and pair parse their own options (src/cli/login.ts, logout.ts, discover.ts, pair.ts).
export const COMMANDS = [...Object.keys(ALLOWED), 'discover', 'login', 'logout', 'pair'];

export const USAGE = `Usage: meross-lan <command> [options]

Control Meross smart plugs and strips over the local network (no cloud).

Commands:
  info       show the plug's model, firmware, uuid, relay state and power reading
             (a strip: each outlet's state)
  on         switch the relay on (a strip: every outlet, or --channel N)
  off        switch the relay off (a strip: every outlet, or --channel N)
  toggle     flip the relay (reads the current state first)
  watch      print power, voltage and current every few seconds until Ctrl-C
  time       show the plug's clock, time zone and when its energy day begins;
             with --timezone ZONE, set the plug's time zone (e.g. Europe/Berlin)
  led        show whether the plug's status LED is on; with --set on|off, change it
  simulate   run simulated plugs on this machine for testing, until Ctrl-C
  discover   find Meross plugs on the local network (meross-lan discover --help)
  login      sign in to a Meross account once, for the plugs' key and names
             (meross-lan login --help)
  logout     sign the stored Meross sign-in out and forget it
             (meross-lan logout --help)
  pair       set up a factory-reset plug for local push, without the Meross app
             (meross-lan pair --help)

Plug options (info, on, off, toggle, watch, time, led):
  --host HOST[:PORT]  the plug's address (port 80 unless given)
  --key KEY           the plug's device key; instead you can set the environment
                      variable MEROSS_KEY, which keeps the key out of your shell
                      history (--key wins if both are given)
  --timeout S         seconds to wait for each reply (default ${DEFAULT_TIMEOUT_S})
  --json              machine-readable output: one JSON object per line
  --channel N         on, off, toggle: a strip's outlet N (see info); default 0,
                      a plug's relay or a strip's master switch (every outlet)
  --interval S        watch only: seconds between readings (default ${DEFAULT_INTERVAL_S}, min ${MIN_INTERVAL_S})
  --set on|off        led only: turn the status LED on or off (plugs that list
                      Appliance.System.DNDMode; the config's "led" does it at start)
  --timezone ZONE     time only: tell the plug to count its days in ZONE (an IANA
                      name such as Europe/Berlin); without it nothing is changed

Simulator options (simulate):
  --count N           how many plugs (default 1, max ${MAX_SIMULATED_PLUGS})
  --firmware 1|2      1: hardware 1.0.0, firmware 1.1.18 (Toggle, no Multiple)
                      2: hardware 2.0.0, firmware 2.1.17 (ToggleX, Multiple; default)
  --model MODEL       another plug of the family instead of an MSS310 (--firmware
                      is then ignored), from the real traces:
                      mss110  hardware 7.0.0, firmware 7.3.37: encrypted local
                              messages, no power metering
                      mss210  hardware 1.0.0, firmware 1.1.12: Toggle, no meter
                      mss305  hardware 8.0.0, firmware 8.3.15: energy, ToggleX
                              list replies, Multiple of 3, over-temperature
                      mss425e power strip, hardware 2.0.0, firmware 2.1.5:
                              master channel 0, outlets 1-3, USB on 4
                      mss425f power strip: master 0, outlets 1-4, USB on 5
  --lf-only           end HTTP header lines with a bare LF, like some firmwares
  --host HOST         loopback address to listen on (default 127.0.0.1)
  --port P            first port: plugs get P, P+1, ... (default 0: any free port)
  --timezone ZONE     the plugs' time zone (default Europe/London; "" for none:
                      UTC days, like a plug never given a zone)
  --midnight MODE     reset (default) | carry-once | cumulative: what the daily
                      energy counter does at the plug's midnight (some firmware
                      does not reset it)
  --clock-skew S      the plugs' clocks run S seconds ahead (negative: behind)
  Prints one JSON line per plug: {"host","port","uuid","key","firmware"}, plus
  "model" and, for a strip, "channels".
  The keys are the simulator's own, made up at start.

  -h, --help          show this help
  -v, --version       show the version

Exit status: 0 done, 1 the plug failed or refused, 2 bad command line.
`;

/**
 * Turns argv (without node and the script) into a command. Throws UsageError with a one-line message that
 * never repeats an option's value: a mistyped command line may well contain the key.
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length === 0) return { kind: 'help' };

  const [command, ...extra] = positionals;
  // hasOwn: a command named like an Object.prototype member ("toString") must not slip through.
  const allowed = Object.hasOwn(ALLOWED, command) ? ALLOWED[command] : undefined;
  if (!allowed) throw new UsageError(`unknown command "${printable(command)}" (commands: ${COMMANDS.join(', ')})`);
  // Extra words are not echoed: a forgotten `--key` in front of one would print the key.
  if (extra.length > 0) throw new UsageError(`${command} takes no arguments besides options (got ${extra.length} more)`);
  for (const name of Object.keys(values) as OptionName[]) {
    if (name !== 'help' && name !== 'version' && !allowed.includes(name)) {
      throw new UsageError(`--${name} is not an option of ${command}`);
    }
  }

  if (command === 'simulate') {
    const port = values.port === undefined ? 0 : integer(values.port, '--port', 0, 65535);
    const count = values.count === undefined ? 1 : integer(values.count, '--count', 1, MAX_SIMULATED_PLUGS);
    if (port !== 0 && port + count - 1 > 65535) throw new UsageError(`--port ${port} leaves no room for ${count} plugs`);
    const host = values.host ?? '127.0.0.1';
    if (!isLoopback(host)) throw new UsageError('--host for simulate must be a loopback address such as 127.0.0.1 or ::1');
    let firmware: 1 | 2 = 2;
    if (values.firmware !== undefined) {
      if (values.firmware !== '1' && values.firmware !== '2') throw new UsageError('--firmware must be 1 or 2');
      firmware = values.firmware === '1' ? 1 : 2;
    }
    const models = ['mss110', 'mss210', 'mss305', 'mss425e', 'mss425f'] as const satisfies ReadonlyArray<Exclude<Model, 'mss310'>>;
    const model = models.find((m) => m === values.model);
    if (values.model !== undefined && !model) throw new UsageError(`--model must be one of ${models.join(', ')} (leave it out for an MSS310)`);
    const timezone = values.timezone;
    if (timezone !== undefined && timezone !== '' && !isTimeZone(timezone)) throw new UsageError(`--timezone "${printable(timezone)}" is not a time zone name such as Europe/Berlin`);
    const midnight = values.midnight ?? 'reset';
    if (midnight !== 'reset' && midnight !== 'carry-once' && midnight !== 'cumulative') throw new UsageError('--midnight must be reset, carry-once or cumulative');
    const skew = values['clock-skew'] === undefined ? 0 : Number(values['clock-skew']);
    if (!Number.isFinite(skew) || Math.abs(skew) > 7 * 86_400) throw new UsageError('--clock-skew must be a number of seconds within a week');
    return { kind: 'simulate', count, firmware, model, lfOnly: values['lf-only'] ?? false, host, port, timezone, midnight, clockSkewMs: Math.round(skew * 1000) };
  }

  const plug = plugTarget(values, env);
  const json = values.json ?? false;
  if (command === 'info') return { kind: 'info', plug, json };
  if (command === 'time') {
    const timezone = values.timezone;
    if (timezone !== undefined && !isTimeZone(timezone)) throw new UsageError(`--timezone "${printable(timezone)}" is not a time zone name such as Europe/Berlin`);
    return { kind: 'time', plug, json, timezone };
  }
  if (command === 'led') {
    const set = values.set;
    if (set !== undefined && set !== 'on' && set !== 'off') throw new UsageError('--set must be on or off');
    return { kind: 'led', plug, json, set: set === undefined ? undefined : set === 'on' };
  }
  if (command === 'watch') {
    const interval = values.interval === undefined ? DEFAULT_INTERVAL_S : seconds(values.interval, '--interval', MIN_INTERVAL_S, 3600);
    return { kind: 'watch', plug, json, intervalMs: Math.round(interval * 1000) };
  }
  // A strip's outlets are channels 1..N; 0, the default, is a single plug's relay or a strip's master (all outlets).
  const channel = values.channel === undefined ? 0 : integer(values.channel, '--channel', 0, 64);
  return { kind: 'switch', action: command as SwitchAction, plug, json, channel };
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
}

function plugTarget(values: ReturnType<typeof parse>['values'], env: Readonly<Record<string, string | undefined>>): PlugTarget {
  if (values.host === undefined) throw new UsageError('--host is required (the plug\'s IP address or name, optionally :port)');
  if (!parseHost(values.host)) {
    throw new UsageError(`--host "${printable(values.host)}" is not a valid address (expected an IP address or name, optionally :port)`);
  }
  // An empty key is legitimate: self-paired plugs often use "" (protocol.md §1.3).
  const key = values.key ?? env.MEROSS_KEY;
  if (key === undefined) throw new UsageError('no device key: pass --key KEY or set the environment variable MEROSS_KEY');
  const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_S : seconds(values.timeout, '--timeout', 0.1, 300);
  return { host: values.host, key, timeoutMs: Math.round(timeout * 1000) };
}

function integer(text: string, option: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min} to ${max}`);
  return n;
}

function seconds(text: string, option: string, min: number, max: number): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${option} must be a number of seconds from ${min} to ${max}`);
  return n;
}

/** Keeps an echoed word short and on one line. */
function printable(text: string): string {
  const clean = text.replace(/\p{Cc}/gu, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/**
 * parseArgs messages span several lines and suggest `--` tricks; this keeps the option name only. Values are
 * never part of these messages, but the rewrite makes sure of it.
 */
export function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = describe(error);
  const option = /'(-{1,2}[^'\s=<]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${printable(option)}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (message.includes('does not take an argument')) return `${option} does not take a value`;
    if (message.includes('ambiguous')) return `${option} needs a value (write ${option}=VALUE if the value starts with "-")`;
    return `${option} needs a value`;
  }
  return 'cannot parse the command line';
}
