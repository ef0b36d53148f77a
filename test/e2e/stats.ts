/**
 * Small measurement helpers shared by the fault matrix (faults.test.ts), the secrets test and the soak script:
 * poll starts from a simulator's request log, percentiles, a least-squares slope, and the log lines that mean
 * Homebridge (or the plugin) crashed or nearly did.
 */
import type { RequestRecord, SimulatedPlug } from '../../src/simulator';

const POLL_NAMESPACES = new Set(['Appliance.Control.Multiple', 'Appliance.Control.ToggleX', 'Appliance.Control.Toggle']);

/**
 * The first request of a poll cycle: a Multiple (fw 2), or the relay GET sent on its own (fw 1, or fw 2 once the
 * client stopped batching). A user toggle is a SET and a fw 1 poll's Electricity GET follows its Toggle GET, so
 * neither counts.
 */
export function isPollStart(r: Pick<RequestRecord, 'namespace' | 'method'>): boolean {
  return POLL_NAMESPACES.has(r.namespace) && r.method === (r.namespace === 'Appliance.Control.Multiple' ? 'SET' : 'GET');
}

/**
 * Records poll starts of a simulated plug as they arrive (with the simulator's own timestamps), and lets a test
 * wait for the next ones without sleeping. The simulator keeps only its last 1000 requests; this keeps all starts.
 */
export class PollWatch {
  readonly starts: number[] = [];
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly onRequest = (r: RequestRecord): void => {
    // A GET retried after a dropped attempt (every-other, a flaky network) is part of the same poll.
    if (!isPollStart(r)) return;
    const last = this.starts[this.starts.length - 1];
    if (last !== undefined && r.at - last < this.minGapMs) return;
    this.starts.push(r.at);
    for (const w of [...this.waiters]) {
      if (this.starts.length >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  private plug: SimulatedPlug;

  constructor(
    plug: SimulatedPlug,
    private readonly minGapMs = 200,
  ) {
    this.plug = plug;
    plug.on('request', this.onRequest);
  }

  /** Follows a replacement simulator at the same address (the wrong-key scenario swaps the plug). */
  follow(plug: SimulatedPlug): void {
    this.plug.off('request', this.onRequest);
    this.plug = plug;
    plug.on('request', this.onRequest);
  }

  /** Resolves once `n` more poll starts have been seen (rejects after `timeoutMs`). */
  next(n: number, timeoutMs: number): Promise<void> {
    const count = this.starts.length + n;
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.plug.name}: saw ${this.starts.length - count + n} of ${n} polls within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Gaps between consecutive poll starts that both lie in [from, to) (simulator clock, ms). */
  intervals(from = -Infinity, to = Infinity): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.starts.length; i++) {
      if (this.starts[i - 1] >= from && this.starts[i] < to) out.push(this.starts[i] - this.starts[i - 1]);
    }
    return out;
  }

  stop(): void {
    this.plug.off('request', this.onRequest);
  }
}

/** Nearest-rank percentile: always a value that was measured. NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const mx = xs.slice(0, n).reduce((s, v) => s + v, 0) / n;
  const my = ys.slice(0, n).reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Log lines that mean a crash or a near miss: unhandled rejections, uncaught exceptions, stack frames. */
export function crashLines(logs: readonly string[]): string[] {
  return logs.filter(
    (l) => /unhandledRejection|uncaughtException|UnhandledPromiseRejection|Unhandled (promise )?rejection/i.test(l) || /^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/.test(l),
  );
}
