/**
 * When to probe an unreachable plug next. Most outages are short (router reboot, Wi-Fi blip), so for the first
 * five minutes we keep the normal interval and recovery lands within one poll; after that each attempt waits
 * ×1.5 longer, capped at 300 s (never below the normal interval).
 */
export const FAST_RETRY_WINDOW_MS = 5 * 60_000;
export const MAX_BACKOFF_MS = 300_000;

export function nextProbeDelay(pollIntervalMs: number, outageMs: number, previousDelayMs: number): number {
  if (outageMs < FAST_RETRY_WINDOW_MS) return pollIntervalMs;
  const cap = Math.max(pollIntervalMs, MAX_BACKOFF_MS);
  return Math.min(cap, Math.max(pollIntervalMs, previousDelayMs * 1.5));
}

/** A delay a little shorter than `ms` (never longer: a poll must land within its interval) to spread plugs out. */
export function withJitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.95 + 0.05 * random()));
}
