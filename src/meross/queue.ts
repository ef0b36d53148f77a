type Task<T> = () => Promise<T>;

interface Entry {
  run: () => Promise<void>;
}

/**
 * Runs one task at a time (the firmware misbehaves with parallel sessions, protocol.md §2.2).
 * Urgent tasks (user toggles) go ahead of queued routine ones (polls) so a write never waits behind a poll
 * backlog — only behind the single request already on the wire.
 */
export class SerialQueue {
  private readonly urgent: Entry[] = [];
  private readonly routine: Entry[] = [];
  private busy = false;

  get pending(): number {
    return this.urgent.length + this.routine.length + (this.busy ? 1 : 0);
  }

  push<T>(task: Task<T>, urgent = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        run: () => {
          // Started synchronously (a toggle goes on the wire in the same tick), but a task that throws
          // synchronously must reject its caller, not jam the queue.
          try {
            return task().then(resolve, reject);
          } catch (error) {
            reject(error);
            return Promise.resolve();
          }
        },
      };
      (urgent ? this.urgent : this.routine).push(entry);
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    const entry = this.urgent.shift() ?? this.routine.shift();
    if (!entry) return;
    this.busy = true;
    void entry.run().finally(() => {
      this.busy = false;
      this.next();
    });
  }
}
