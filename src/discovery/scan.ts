import { probe, type Found, type ProbeOptions } from './probe';

export interface ScanTarget {
  host: string;
  port: number;
}

export interface ScanOptions extends ProbeOptions {
  targets: readonly ScanTarget[];
  /** Keys to try, in order (the first that works is reported as keyIndex). */
  keys: readonly string[];
  /** Probes in flight at once. Default 32: a /24 of silent addresses then takes ≈ 8 × the connect timeout. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called as each plug is found, before the scan ends. */
  onFound?: (found: Found) => void;
  /** Test seam. */
  probe?: (host: string, port: number, keys: readonly string[], options: ProbeOptions) => Promise<Found | undefined>;
}

export const DEFAULT_CONCURRENCY = 32;

/** Probes every target with a bounded pool; resolves with the plugs found, in target order. */
export async function scan(options: ScanOptions): Promise<Found[]> {
  const { targets, keys } = options;
  const run = options.probe ?? probe;
  const results: Array<Found | undefined> = new Array(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length && !options.signal?.aborted) {
      const index = next++;
      const { host, port } = targets[index];
      const found = await run(host, port, keys, options);
      if (found) {
        results[index] = found;
        options.onFound?.(found);
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, targets.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results.filter((f): f is Found => f !== undefined);
}
