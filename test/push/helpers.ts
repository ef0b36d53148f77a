import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PushConfig } from '../../src/config';
import { Plug, type PlugLogger, type PlugOptions } from '../../src/plug/plug';
import { PushHub } from '../../src/push/hub';
import { SimulatedPlug, type SimulatorOptions } from '../../src/simulator';
import { randomKey, randomMac, uuidForMac } from '../../src/simulator/identity';

export interface Captured extends PlugLogger {
  lines: Array<[level: string, message: string]>;
  text(): string;
}

export function logger(): Captured {
  const lines: Captured['lines'] = [];
  const at = (level: string) => (message: string) => void lines.push([level, message]);
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), text: () => lines.map((l) => l.join(' ')).join('\n') };
}

export const USER_ID = '4242';

/** One temp storage folder per test file: the broker certificate is made once and reused. */
export function storage(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meross-push-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startHub(dir: string, config: Partial<PushConfig> = {}, log = logger()): Promise<{ hub: PushHub; log: Captured; broker: string }> {
  const hub = new PushHub({ config: { enabled: true, port: 0, bind: '127.0.0.1', userId: USER_ID, ...config }, dir, log });
  await hub.start();
  return { hub, log, broker: `127.0.0.1:${hub.port ?? 0}` };
}

/** An identity made up front, so the plug model can be registered before the simulated plug logs in. */
export function identity(): { uuid: string; mac: string; key: string } {
  const mac = randomMac();
  return { uuid: uuidForMac(mac), mac, key: randomKey() };
}

export function plugFor(sim: { address: string; uuid: string; key: string }, log: PlugLogger, opts: Partial<PlugOptions> = {}): Plug {
  return new Plug({
    host: sim.address,
    key: sim.key,
    uuid: sim.uuid,
    name: 'Test plug',
    pollIntervalMs: 1000,
    energyPollIntervalMs: 60_000,
    timeoutMs: 1000,
    outletInUseWatts: 2,
    log,
    ...opts,
  });
}

/**
 * A simulated plug in MQTT mode and its plug model, served by `hub`; resolves once the plug's session is open (the
 * model is registered right after the simulator starts, before its first login can reach the broker).
 */
export async function connectedPlug(
  hub: PushHub,
  broker: string,
  log: PlugLogger,
  options: SimulatorOptions = {},
  plugOptions: Partial<PlugOptions> = {},
): Promise<{ sim: SimulatedPlug; plug: Plug }> {
  const sim = await SimulatedPlug.start({ ...options, mqtt: { broker, userId: USER_ID, reconnectMs: 200 } });
  const plug = plugFor(sim, log, plugOptions);
  hub.add(plug);
  if (!sim.mqtt?.connected) await waitFor<[string]>(sim, 'mqtt', (state) => state === 'connected');
  return { sim, plug };
}

/** The first event `name` whose arguments satisfy `accept` (default: any). */
export function waitFor<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  name: string,
  accept: (...args: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no "${name}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!accept(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(args as T);
    };
    emitter.on(name, listener);
  });
}

/** Resolves once `condition()` holds: at once if it already does, else at the first `name` event after which it does. */
export function until(emitter: EventEmitter, name: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  if (condition()) return Promise.resolve();
  return waitFor(emitter, name, condition, timeoutMs).then(() => undefined);
}
