/**
 * Cross-process claims for several MerossLan platform blocks, each maybe its own child bridge (its own process),
 * sharing one `<storage>/meross-lan/` folder: a plug (by uuid) or the embedded broker (by port) is run by one
 * block only. A claim is a small file `<dir>/claims/<key>.json` naming its owner (pid, block name, a random
 * instance id, when the process started); it is created exclusively and atomically (written to a temp file,
 * flushed, then hard-linked into place, which fails if the name exists), so two processes starting together can
 * never both win, and nobody ever reads a half-written claim. A claim whose process is gone (or is another process
 * that got the same pid later, or ran before the last reboot) is stale and taken over. Released on shutdown.
 *
 * Homebridge-free and synchronous: it runs while Homebridge launches the platform and in its shutdown handler,
 * where nothing asynchronous is sure to finish.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { uptime } from 'node:os';
import { dirname, join } from 'node:path';

export const CLAIMS_SUBDIR = 'claims';

export interface ClaimOwner {
  pid: number;
  /** The platform block's name (its "name" in config.json). */
  block: string;
  /** Random per platform instance: two blocks in one process (no child bridges) share a pid, not this. */
  instance: string;
  /** Unix ms when the claim was made. */
  since: number;
  /** The process's start time as the OS reports it (Linux /proc), to tell a reused pid from the owner. */
  started?: string;
}

export type ClaimResult = { ok: true } | { ok: false; owner: ClaimOwner };

export interface ClaimsOptions {
  /** `<storage>/meross-lan`; claims go to its `claims/` folder. */
  dir: string;
  block: string;
  /** Test seams. */
  pid?: number;
  now?: () => number;
  /** Whether a process with this pid runs (default: signal 0). */
  alive?: (pid: number) => boolean;
  /** A process's start time, or undefined where the OS does not say (default: Linux /proc). */
  startedOf?: (pid: number) => string | undefined;
  /** Unix ms of the last boot (default: now − uptime). */
  bootTime?: () => number;
}

/**
 * Creates `path` holding `data` as JSON only if no file of that name exists; false if one does. Atomic and
 * exclusive across processes (link(2) refuses an existing name); the file is owner-only (0600). `durable` (the
 * default) flushes it to the disk before it gets its name, for files that must outlive a power cut; other processes
 * see the whole file as soon as it is linked either way.
 */
export function createJsonExclusive(path: string, data: unknown, dirMode = 0o700, durable = true): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: dirMode });
  const text = JSON.stringify(data);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, text);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
    // A file system without hard links: still exclusive (O_EXCL), only not hidden from readers while written.
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallback;
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

export class Claims {
  readonly self: ClaimOwner;
  private readonly held = new Set<string>();
  private readonly folder: string;
  private readonly alive: (pid: number) => boolean;
  private readonly startedOf: (pid: number) => string | undefined;
  private readonly bootTime: () => number;

  constructor(options: ClaimsOptions) {
    const pid = options.pid ?? process.pid;
    this.alive = options.alive ?? processAlive;
    this.startedOf = options.startedOf ?? linuxStartTime;
    this.bootTime = options.bootTime ?? (() => Date.now() - uptime() * 1000);
    this.folder = join(options.dir, CLAIMS_SUBDIR);
    this.self = { pid, block: options.block, instance: randomBytes(8).toString('hex'), since: (options.now ?? Date.now)(), started: this.startedOf(pid) };
  }

  /** `plug-<uuid>`, `broker-<port>`: any key, kept to safe file-name characters. */
  private file(key: string): string {
    return join(this.folder, `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }

  /**
   * Takes `key` for this instance, or says who holds it. Taking one this instance holds already is fine. Never
   * throws for a busy or stale claim; an unwritable folder throws (the caller decides whether to run anyway).
   */
  claim(key: string): ClaimResult {
    const path = this.file(key);
    let owner: ClaimOwner | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      // Not flushed to the disk: a claim means nothing after a crash or reboot (its process is gone, so it is stale
      // and taken over, and an empty or torn file reads as stale too), and other processes see it without a flush.
      // 140 synchronous fsyncs held up start-up by a third of a second here, and by seconds on an SD card.
      if (createJsonExclusive(path, this.self, undefined, false)) {
        this.held.add(key);
        return { ok: true };
      }
      const text = readText(path);
      if (text === undefined) continue; // released in between: try again
      owner = parseOwner(text);
      if (owner?.instance === this.self.instance) {
        this.held.add(key);
        return { ok: true };
      }
      if (owner && this.live(owner)) return { ok: false, owner };
      this.takeOver(path, text);
    }
    // Only when other processes keep replacing the file faster than we can look: treat it as theirs.
    return { ok: false, owner: owner ?? { pid: 0, block: '?', instance: '', since: 0 } };
  }

  /** The live owner of `key` other than this instance, if any. */
  holder(key: string): ClaimOwner | undefined {
    const text = readText(this.file(key));
    const owner = text === undefined ? undefined : parseOwner(text);
    return owner && owner.instance !== this.self.instance && this.live(owner) ? owner : undefined;
  }

  release(key: string): void {
    if (!this.held.delete(key)) return;
    const path = this.file(key);
    // Only if it is still ours: a process that judged us dead may have taken it over.
    if (parseOwner(readText(path) ?? '')?.instance !== this.self.instance) return;
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }

  releaseAll(): void {
    for (const key of [...this.held]) this.release(key);
  }

  private live(owner: ClaimOwner): boolean {
    if (owner.since < this.bootTime() - 60_000) return false; // made before the last reboot
    if (!this.alive(owner.pid)) return false;
    // The pid runs, but a process that started at another time is someone else who got the pid later.
    const started = this.startedOf(owner.pid);
    return owner.started === undefined || started === undefined || started === owner.started;
  }

  /**
   * Moves a stale claim aside. If what got moved is not the file judged stale (another process took the stale
   * claim over in between and wrote its own), it is put back, unless a newer claim is already in place.
   */
  private takeOver(path: string, staleText: string): void {
    const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
    try {
      renameSync(path, aside);
    } catch {
      return; // someone else moved it first
    }
    try {
      if (readText(aside) !== staleText) {
        try {
          linkSync(aside, path);
        } catch {
          // a newer claim is in place; it wins
        }
      }
    } finally {
      try {
        unlinkSync(aside);
      } catch {
        // already gone
      }
    }
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseOwner(text: string): ClaimOwner | undefined {
  try {
    const raw = JSON.parse(text) as Partial<ClaimOwner> | null;
    if (!raw || typeof raw.pid !== 'number' || typeof raw.block !== 'string' || typeof raw.instance !== 'string' || typeof raw.since !== 'number') return undefined;
    return { pid: raw.pid, block: raw.block, instance: raw.instance, since: raw.since, started: typeof raw.started === 'string' ? raw.started : undefined };
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined off Linux. */
function linuxStartTime(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}
