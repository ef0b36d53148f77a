import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MerossClient, MerossError } from '../meross';
import { DNDMODE, RUNTIME } from '../meross/namespaces';
import { SimulatedPlug } from '../simulator';
import { parseCli, USAGE, UsageError, type CliCommand, type PlugTarget, type SwitchAction } from './args';
import { formatInfo, formatWatchLine, infoJson, onOff, watchJson } from './format';
import { discover } from './discover';
import type { CliIo } from './io';
import { login } from './login';
import { logout } from './logout';
import { pair } from './pair';
import { outletChannels } from '../plug/outlets';
import { formatTime, plugTime } from './time';
import { describe } from '../util/describe';
import { waitOr } from '../util/wait';

/** The terminal the commands write to (its own module: every command takes it, and main imports every command). */
export type { CliIo } from './io';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** What a shell reports for a command ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;

const PREFIX = 'meross-lan: ';

class Interrupted extends Error {}

/** Runs one command line; resolves to the exit status. Never throws and never prints the device key. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  // These take options the shared parser has no room for (a repeatable --subnet, -U, …) and parse their own.
  if (argv[0] === 'discover') return discover(argv.slice(1), io);
  if (argv[0] === 'login') return login(argv.slice(1), io);
  if (argv[0] === 'logout') return logout(argv.slice(1), io);
  if (argv[0] === 'pair') return pair(argv.slice(1), io);
  let command: CliCommand;
  try {
    command = parseCli(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${PREFIX}${error.message} (see meross-lan --help)\n`);
    return EXIT_USAGE;
  }
  const signal = io.signal ?? new AbortController().signal;
  try {
    switch (command.kind) {
      case 'help':
        io.stdout(USAGE);
        return EXIT_OK;
      case 'version':
        io.stdout(`${version()}\n`);
        return EXIT_OK;
      case 'info':
        await interruptible(info(command.plug, command.json, io), signal);
        return EXIT_OK;
      case 'switch':
        await interruptible(switchRelay(command.plug, command.action, command.channel, command.json, io), signal);
        return EXIT_OK;
      case 'watch':
        await watch(command.plug, command.intervalMs, command.json, io, signal);
        return EXIT_OK;
      case 'time': {
        const report = await interruptible(plugTime(client(command.plug), command.timezone, () => (io.now ?? (() => new Date()))().getTime()), signal);
        io.stdout(command.json ? `${JSON.stringify(report)}\n` : formatTime(report));
        return EXIT_OK;
      }
      case 'led':
        await interruptible(led(command.plug, command.set, command.json, io), signal);
        return EXIT_OK;
      case 'simulate':
        await simulate(command, io, signal);
        return EXIT_OK;
    }
  } catch (error) {
    if (error instanceof Interrupted) return EXIT_INTERRUPTED;
    // A command line that only the plug's answer shows to be wrong (a strip outlet it lacks).
    if (error instanceof UsageError) {
      io.stderr(`${PREFIX}${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`${PREFIX}${describeError(error, 'plug' in command ? command.plug.key : undefined)}\n`);
    return EXIT_FAILED;
  }
}

/** MerossError messages name the host and never the key (errors.ts); anything else is a bug, reported tersely. */
export function describeError(error: unknown, key?: string): string {
  let text = error instanceof MerossError ? error.message : `unexpected error: ${describe(error)}`;
  // Only foreign messages could hold the key; a very short key would match ordinary words, hence the length floor.
  if (!(error instanceof MerossError) && key !== undefined && key.length >= 4) text = text.split(key).join('***');
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function version(): string {
  // __dirname is src/cli or dist/cli; package.json sits two levels up in both layouts.
  const pkg: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const v = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof v === 'string' ? v : 'unknown';
}

function client(plug: PlugTarget, io?: CliIo): MerossClient {
  // No retries: --timeout is then the longest a failing command waits, which is what a person at a shell expects.
  const notice = io ? (m: string): void => io.stderr(`${PREFIX}${plug.host}: ${m}\n`) : undefined;
  return new MerossClient({ host: plug.host, key: plug.key, timeoutMs: plug.timeoutMs, retries: 0, notice });
}

async function info(plug: PlugTarget, json: boolean, io: CliIo): Promise<void> {
  const c = client(plug, io);
  const abilities = await c.ability();
  const system = await c.systemAll();
  const electricity = abilities.electricity ? await c.electricity() : undefined;
  const wifiSignal = abilities.namespaces.has(RUNTIME) ? await c.wifiSignal() : undefined;
  const result = infoJson(c.label, system, electricity, wifiSignal);
  io.stdout(json ? `${JSON.stringify(result)}\n` : formatInfo(result));
}

/** The status LED (`Appliance.System.DNDMode`): shown, or set and then shown as the plug reports it. */
async function led(plug: PlugTarget, set: boolean | undefined, json: boolean, io: CliIo): Promise<void> {
  const c = client(plug, io);
  if (!(await c.ability()).namespaces.has(DNDMODE)) throw new UsageError('the plug has no status LED setting (it does not list Appliance.System.DNDMode)');
  if (set !== undefined && (await c.ledOn()) !== set) await c.setLed(set);
  const on = await c.ledOn();
  io.stdout(json ? `${JSON.stringify({ host: c.label, led: on })}\n` : `${c.label}: status LED ${onOff(on)}\n`);
}

async function switchRelay(plug: PlugTarget, action: SwitchAction, channel: number, json: boolean, io: CliIo): Promise<void> {
  const c = client(plug, io);
  let on = action === 'on';
  if (channel === 0) {
    if (action === 'toggle') on = !(await c.getOn());
  } else {
    // A strip lists its outlets in System.All (a ToggleX GET names channel 0 only); a channel it lacks is refused here.
    const relays = (await c.systemAll()).relays;
    const outlets = outletChannels(relays.keys()).filter((o) => o !== 0);
    if (!outlets.includes(channel)) {
      throw new UsageError(outlets.length > 0 ? `the plug has no outlet ${channel} (its outlets: ${outlets.join(', ')})` : 'the plug has one relay: leave out --channel');
    }
    if (action === 'toggle') on = relays.get(channel) !== true;
  }
  await c.setOn(on, { channel });
  const what = channel === 0 ? 'relay' : `outlet ${channel}`;
  io.stdout(json ? `${JSON.stringify({ host: c.label, ...(channel === 0 ? {} : { channel }), on })}\n` : `${c.label}: ${what} ${onOff(on)}\n`);
}

/**
 * Polls until the signal fires. A plug that cannot be read at the start is an error; later transient failures
 * (timeouts, drops) are reported on stderr and watching goes on, since plugs do miss the odd request.
 */
async function watch(plug: PlugTarget, intervalMs: number, json: boolean, io: CliIo, signal: AbortSignal): Promise<void> {
  const c = client(plug);
  const now = io.now ?? (() => new Date());
  for (let first = true; !signal.aborted; first = false) {
    const started = Date.now();
    try {
      const result = await interruptible(c.poll(), signal);
      const at = now();
      io.stdout(json ? watchJson(at, result.on, result.electricity) : formatWatchLine(at, result.on, result.electricity));
    } catch (error) {
      if (error instanceof Interrupted) return;
      if (first || !(error instanceof MerossError) || !error.retryable) throw error;
      io.stderr(`${PREFIX}${describeError(error)}\n`);
    }
    await sleep(intervalMs - (Date.now() - started), signal);
  }
}

async function simulate(command: Extract<CliCommand, { kind: 'simulate' }>, io: CliIo, signal: AbortSignal): Promise<void> {
  const plugs: SimulatedPlug[] = [];
  try {
    for (let i = 0; i < command.count && !signal.aborted; i++) {
      const port = command.port === 0 ? 0 : command.port + i;
      try {
        plugs.push(
          await SimulatedPlug.start({
            firmware: command.model ? undefined : command.firmware,
            model: command.model,
            lfOnly: command.lfOnly,
            host: command.host,
            port,
            timezone: command.timezone,
            midnight: command.midnight,
            clockSkewMs: command.clockSkewMs,
          }),
        );
      } catch (error) {
        const reason = describe(error);
        throw new Error(`cannot start simulated plug ${i + 1} on ${command.host} port ${port === 0 ? '(any)' : port}: ${reason}`);
      }
    }
    for (const plug of plugs) {
      const { host, port, uuid, key, firmware, channels } = plug;
      const strip = channels.length > 1;
      io.stdout(`${JSON.stringify({ host, port, uuid, key, firmware, ...(command.model ? { model: command.model } : {}), ...(strip ? { channels } : {}) })}\n`);
      if (io.interactive) {
        plug.on('toggle', (event) => {
          const what = strip ? (event.channel === 0 ? 'master' : `channel ${event.channel}`) : 'relay';
          io.stderr(`${PREFIX}${plug.address}: ${what} ${onOff(event.on)} (${event.source})\n`);
        });
      }
    }
    if (io.interactive && !signal.aborted) io.stderr(`${PREFIX}${plugs.length} simulated plug(s) running; Ctrl-C stops them\n`);
    await aborted(signal);
  } finally {
    await Promise.all(plugs.map((plug) => plug.stop()));
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return waitOr(ms, (done) => {
    signal.addEventListener('abort', done, { once: true });
    return () => signal.removeEventListener('abort', done);
  });
}

/**
 * Settles with the work, or rejects with Interrupted as soon as the signal fires. The client has no cancel, so
 * the request itself runs on; the bin does not wait for it (cli.ts exits shortly after main returns).
 */
function interruptible<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Abandoned, but its failure must not surface as an unhandled rejection.
    work.catch(() => undefined);
    return Promise.reject(new Interrupted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Interrupted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
      })
      .then(resolve, reject);
  });
}
