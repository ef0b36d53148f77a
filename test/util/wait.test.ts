import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitOr } from '../../src/util/wait';

afterEach(() => {
  vi.useRealTimers();
});

describe('waitOr', () => {
  it('ends at the event when it comes first, and leaves no timer or listener behind', async () => {
    vi.useFakeTimers();
    let fire: (() => void) | undefined;
    let unsubscribed = 0;
    const waiting = waitOr(10_000, (done) => {
      fire = done;
      return () => void unsubscribed++;
    });
    fire!();
    await waiting;
    expect(unsubscribed).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends after the time when no event comes, and unsubscribes then', async () => {
    vi.useFakeTimers();
    let unsubscribed = 0;
    let ended = false;
    const waiting = waitOr(5_000, () => () => void unsubscribed++).then(() => {
      ended = true;
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(ended).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(ended).toBe(true);
    expect(unsubscribed).toBe(1);
  });
});
