/**
 * Waits `ms`, or less if `subscribe` calls `done` first (an abort, a closed socket …). `subscribe` returns how to
 * unsubscribe; the timer and the listener are both gone when the promise settles.
 */
export function waitOr(ms: number, subscribe: (done: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe = (): void => undefined;
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, ms);
    unsubscribe = subscribe(done);
  });
}
