import { rename } from 'node:fs/promises';
import { readJson, writeJsonAtomic } from './json-file';
import { describe } from '../util/describe';

export interface DocumentLogger {
  warn(message: string): void;
}

export interface JsonDocumentOptions {
  /** Longest a change waits before it is written. Changes in the meantime share that one write. */
  delayMs: number;
  log: DocumentLogger;
  /** Test seam: how the file is written (default: atomically, owner-only). */
  write?: (path: string, data: unknown) => Promise<void>;
}

/** At most `size` tasks at once; the others wait their turn, first come first served. */
class Slots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, if any, so the count stays as it is.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}

/**
 * Writes in progress across all documents of the process. Documents fall due together (every plug's Eve history
 * 30 s after the same 10-minute mark, every ledger after the energy reads, all of them at shutdown); each write
 * holds its document's serialised form until the file is on disk, so 140 at once held 140 copies (28 days of Eve
 * history are 60 kB of JSON a plug, built from 4,000 small arrays). A few at a time keep the disk just as busy
 * (libuv runs four file operations at once) and hold a few copies.
 */
const writeSlots = new Slots(4);

/**
 * Reads in progress. Every plug loads its files at start-up: 140 Eve histories read at once had their text and
 * parsed arrays pile up faster than they were turned into the plugs' state, and took resident memory from 84 to
 * 155 MB; two at a time keep it near 92 MB, and finish sooner.
 */
const readSlots = new Slots(2);

/**
 * One JSON file that follows some in-memory state: `changed()` schedules a write of `serialize()` at most
 * `delayMs` later, so a burst of changes costs one write and a steady stream one write per `delayMs`; `flush()`
 * writes now (shutdown). Writes never overlap, and each one is atomic (json-file.ts).
 */
export class JsonDocument {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  private lastError = '';
  private readonly write: (path: string, data: unknown) => Promise<void>;

  constructor(
    readonly path: string,
    private readonly serialize: () => unknown,
    private readonly options: JsonDocumentOptions,
  ) {
    this.write = options.write ?? writeJsonAtomic;
  }

  /**
   * Reads and parses a document. A missing file is `undefined`; a file that is not JSON, or that `parse` rejects,
   * is moved aside to `<path>.corrupt` (so nothing overwrites what might still be rescued), reported, and also
   * `undefined`.
   */
  static async read<T>(path: string, parse: (raw: unknown) => T, log: DocumentLogger): Promise<T | undefined> {
    try {
      // Parsed inside the slot too, so the next file's text is read only once this one's arrays are garbage.
      return await readSlots.run(async () => {
        const raw = await readJson(path);
        return raw === undefined ? undefined : parse(raw);
      });
    } catch (error) {
      const why = describe(error);
      const aside = `${path}.corrupt`;
      const moved = await rename(path, aside).then(
        () => true,
        () => false,
      );
      log.warn(`${path} could not be read (${why}); starting afresh${moved ? ` and keeping the old file as ${aside}` : ''}.`);
      return undefined;
    }
  }

  changed(delayMs = this.options.delayMs): void {
    this.dirty = true;
    const due = Date.now() + delayMs;
    if (this.timer && due >= this.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    // Homebridge owns the process lifetime; shutdown flushes explicitly.
    this.timer.unref?.();
  }

  /** Writes pending changes now; resolves once everything asked for so far is on disk (or failed and was logged). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    if (!this.dirty) return this.writing;
    this.dirty = false;
    this.writing = this.writing.then(() => this.writeNow());
    return this.writing;
  }

  private async writeNow(): Promise<void> {
    try {
      // Serialised only once a write slot is free, so waiting documents hold no copy of their state.
      await writeSlots.run(() => this.write(this.path, this.serialize()));
      this.lastError = '';
    } catch (error) {
      // Try again with the next change; say so once per distinct problem, not on every attempt.
      this.dirty = true;
      const why = describe(error);
      if (why !== this.lastError) this.options.log.warn(`Could not save ${this.path}: ${why}`);
      this.lastError = why;
    }
  }
}
