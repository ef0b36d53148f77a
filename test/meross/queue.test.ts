import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/meross/queue';

/** A task the test finishes by hand, recording when it starts. */
interface Gate<T> {
  task: () => Promise<T>;
  started: Promise<void>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function gate<T>(log: string[], name: string): Gate<T> {
  let markStarted!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    task: () => {
      log.push(name);
      markStarted();
      return done;
    },
    started,
    resolve,
    reject,
  };
}

describe('SerialQueue', () => {
  it('runs one task at a time, in order, and hands each caller its own result', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const a = gate<string>(log, 'a');
    const b = gate<string>(log, 'b');
    const c = gate<string>(log, 'c');
    const pa = q.push(a.task);
    const pb = q.push(b.task);
    const pc = q.push(c.task);
    await a.started;
    expect(log).toEqual(['a']);
    expect(q.pending).toBe(3);
    a.resolve('A');
    expect(await pa).toBe('A');
    await b.started;
    expect(log).toEqual(['a', 'b']);
    expect(q.pending).toBe(2);
    b.resolve('B');
    await c.started;
    c.resolve('C');
    expect(await Promise.all([pb, pc])).toEqual(['B', 'C']);
  });

  it('runs urgent tasks before queued routine ones, but never interrupts the running task', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const poll1 = gate<void>(log, 'poll1');
    const polls = [q.push(poll1.task)];
    await poll1.started;
    for (const name of ['poll2', 'poll3', 'poll4']) {
      polls.push(
        q.push(async () => {
          log.push(name);
        }),
      );
    }
    const set1 = q.push(async () => void log.push('set1'), true);
    const set2 = q.push(async () => void log.push('set2'), true);
    expect(log).toEqual(['poll1']);
    poll1.resolve();
    await Promise.all([...polls, set1, set2]);
    expect(log).toEqual(['poll1', 'set1', 'set2', 'poll2', 'poll3', 'poll4']);
  });

  it('a rejected task rejects only its caller and the queue goes on', async () => {
    const q = new SerialQueue();
    const failing = q.push(() => Promise.reject(new Error('boom')));
    const next = q.push(() => Promise.resolve(7));
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe(7);
  });

  it('starts an idle queue synchronously and accepts work again after draining', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const p = q.push(async () => void log.push('first'));
    // The task starts inside push() when nothing else is running.
    expect(log).toEqual(['first']);
    await p;
    await q.push(async () => void log.push('second'), true);
    expect(log).toEqual(['first', 'second']);
  });
});

describe('SerialQueue with a task that throws synchronously', () => {
  it('rejects that caller and keeps serving the next ones', async () => {
    const queue = new SerialQueue();
    const bad = queue.push((): Promise<number> => {
      throw new Error('sync');
    });
    await expect(bad).rejects.toThrow('sync');
    await expect(queue.push(() => Promise.resolve(1))).resolves.toBe(1);
  });
});
