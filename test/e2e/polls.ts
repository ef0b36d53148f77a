import { vi } from 'vitest';
import { SYSTEM_ALL } from '../../src/meross/namespaces';
import type { SimulatedPlug } from '../../src/simulator';

/**
 * Resolves once the plugin has read a strip `count` more times (a strip is polled with System.All): the wait behind
 * "and nothing else happened", counted in polls rather than in seconds, so a busy machine cannot shorten it.
 */
export async function furtherPolls(strip: SimulatedPlug, count: number): Promise<void> {
  const reads = (): number => strip.requests.filter((r) => r.namespace === SYSTEM_ALL).length;
  const target = reads() + count;
  await vi.waitFor(() => {
    if (reads() < target) throw new Error(`the strip was read ${reads()} times, waiting for ${target}`);
  }, { timeout: 30_000, interval: 50 });
}
