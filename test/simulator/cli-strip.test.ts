import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/args';
import { main, type CliIo } from '../../src/cli/main';
import { MerossClient } from '../../src/meross';
import { get, set } from './helpers';

function fakeIo(signal: AbortSignal, interactive = false): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', env: {}, signal, interactive, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('meross-lan simulate --model for the power strips', () => {
  it('parses mss425e and mss425f, and names them in the error for an unknown model', () => {
    expect(parseCli(['simulate', '--model', 'mss425e'], {})).toMatchObject({ kind: 'simulate', model: 'mss425e' });
    expect(parseCli(['simulate', '--model', 'mss425f', '--count', '2'], {})).toMatchObject({ kind: 'simulate', model: 'mss425f', count: 2 });
    expect(() => parseCli(['simulate', '--model', 'mss426'], {})).toThrow(UsageError);
    expect(() => parseCli(['simulate', '--model', 'mss426'], {})).toThrow(/mss425e, mss425f/);
  });

  it('runs a strip that answers per channel and prints its channels', async () => {
    const controller = new AbortController();
    const io = fakeIo(controller.signal, true);
    const done = main(['simulate', '--model', 'mss425f'], io);
    while (!io.out.includes('\n')) await new Promise((resolve) => setImmediate(resolve));
    const announced = JSON.parse(io.out.trim()) as { host: string; port: number; key: string; model: string; channels: number[] };
    expect(announced).toMatchObject({ model: 'mss425f', channels: [0, 1, 2, 3, 4, 5] });
    const target = { host: announced.host, port: announced.port, key: announced.key };
    await set(target, 'Appliance.Control.ToggleX', { togglex: { channel: 5, onoff: 1 } });
    const all = await get(target, 'Appliance.System.All');
    expect(all.payload.all.digest.togglex.map((t: { onoff: number }) => t.onoff)).toEqual([1, 0, 0, 0, 0, 1]);
    const client = new MerossClient({ host: `${announced.host}:${announced.port}`, key: announced.key, retries: 0 });
    expect(await client.systemAll()).toMatchObject({ model: 'mss425f' });
    expect(io.err).toContain('master on (request)');
    expect(io.err).toContain('channel 5 on (request)');
    controller.abort();
    expect(await done).toBe(0);
  });
});
