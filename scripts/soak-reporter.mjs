/**
 * Preloaded into the Homebridge process by `npm run soak` (node --import): every SOAK_STATS_INTERVAL_MS it
 * appends one JSON line to SOAK_STATS_FILE with the process's memory (after a full GC when --expose-gc is on, so
 * the heap figure is what is really retained), event-loop delay since the previous line, and its live handles by
 * type. Plain JavaScript so that Node can load it before Homebridge without a build step. Not part of the plugin.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setInterval } from 'node:timers';

const file = process.env.SOAK_STATS_FILE;
const intervalMs = Number(process.env.SOAK_STATS_INTERVAL_MS) || 10_000;

/**
 * Timers are not handles (unref'd ones do not even show in getActiveResourcesInfo), so count them here: every
 * timer made through the global setTimeout/setInterval that has neither fired nor been cleared. The plugin uses
 * the globals; timers made through `node:timers` directly are not counted.
 */
const live = new Set();
function trackTimers() {
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = globalThis;
  globalThis.setTimeout = function (callback, ...rest) {
    if (typeof callback !== 'function') return st.call(this, callback, ...rest);
    const timer = st.call(
      this,
      function (...args) {
        live.delete(timer);
        return callback.apply(this, args);
      },
      ...rest,
    );
    live.add(timer);
    return timer;
  };
  globalThis.setInterval = function (...args) {
    const timer = si.apply(this, args);
    live.add(timer);
    return timer;
  };
  globalThis.clearTimeout = function (timer) {
    live.delete(timer);
    return ct.call(this, timer);
  };
  globalThis.clearInterval = function (timer) {
    live.delete(timer);
    return ci.call(this, timer);
  };
}

if (file) {
  trackTimers();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const sample = () => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const memory = process.memoryUsage();
    const resources = {};
    for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] || 0) + 1;
    const line = {
      t: Date.now(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      lag: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max), mean: ms(lag.mean) },
      resources,
      timers: live.size,
    };
    lag.reset();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // The soak run reads what it can; a lost line must not disturb Homebridge.
    }
  };
  // The reporter's own timer: counted in `resources`, constant, and never keeps Homebridge alive.
  setInterval(sample, intervalMs).unref();
}
