import { describe, expect, it } from 'vitest';
import { FAST_RETRY_WINDOW_MS, MAX_BACKOFF_MS, nextProbeDelay, withJitter } from '../../src/plug/backoff';

describe('probe backoff', () => {
  it('keeps the normal interval for the first five minutes of an outage', () => {
    expect(nextProbeDelay(30_000, 0, 30_000)).toBe(30_000);
    expect(nextProbeDelay(30_000, FAST_RETRY_WINDOW_MS - 1, 30_000)).toBe(30_000);
  });

  it('then stretches ×1.5 per attempt up to 300 s', () => {
    const delays: number[] = [];
    let delay = 30_000;
    for (let i = 0; i < 8; i++) {
      delay = nextProbeDelay(30_000, FAST_RETRY_WINDOW_MS + i, delay);
      delays.push(delay);
    }
    expect(delays.slice(0, 4)).toEqual([45_000, 67_500, 101_250, 151_875]);
    expect(delays.at(-1)).toBe(MAX_BACKOFF_MS);
  });

  it('never probes faster than the poll interval, even when that is above the cap', () => {
    expect(nextProbeDelay(600_000, FAST_RETRY_WINDOW_MS, 600_000)).toBe(600_000);
  });

  it('jitters a little below the interval, never above', () => {
    expect(withJitter(30_000, () => 0)).toBe(28_500);
    expect(withJitter(30_000, () => 0.999999)).toBeLessThanOrEqual(30_000);
  });
});
