import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonDocument } from '../../src/storage/json-document';

const log = { warn: (): void => undefined };

describe('JsonDocument', () => {
  it('writes many documents due together a few at a time, each serialised only when its write starts', async () => {
    let writing = 0;
    let mostAtOnce = 0;
    let serialisedWaiting = 0;
    const pending: Array<() => void> = [];
    const written: string[] = [];
    const write = async (path: string, data: unknown): Promise<void> => {
      writing++;
      mostAtOnce = Math.max(mostAtOnce, writing);
      serialisedWaiting--;
      await new Promise<void>((resolve) => pending.push(resolve));
      written.push(`${path}=${JSON.stringify(data)}`);
      writing--;
    };
    const docs = Array.from({ length: 20 }, (_, i) =>
      new JsonDocument(
        `doc-${i}`,
        () => {
          serialisedWaiting++;
          // Serialised and handed to its write at once: never one serialised copy waiting for a slot.
          expect(serialisedWaiting).toBe(1);
          return { i };
        },
        { delayMs: 1000, log, write },
      ),
    );
    for (const doc of docs) doc.changed();
    const flushed = Promise.all(docs.map((d) => d.flush()));
    // Let the writes go one by one, however long each takes.
    while (written.length < docs.length) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(writing).toBeLessThanOrEqual(4);
      pending.shift()?.();
    }
    await flushed;
    expect(mostAtOnce).toBe(4);
    expect(new Set(written).size).toBe(20);
    expect(written).toContain('doc-7={"i":7}');
  });

  it('a write that fails frees its slot and is tried again with the next change', async () => {
    let fail = true;
    const written: unknown[] = [];
    const warnings: string[] = [];
    const write = async (_: string, data: unknown): Promise<void> => {
      await Promise.resolve();
      if (fail) throw new Error('disk full');
      written.push(data);
    };
    const docs = Array.from({ length: 6 }, (_, i) => new JsonDocument(`d${i}`, () => i, { delayMs: 1000, log: { warn: (m) => warnings.push(m) }, write }));
    for (const d of docs) d.changed();
    await Promise.all(docs.map((d) => d.flush()));
    expect(warnings).toHaveLength(6);
    fail = false;
    for (const d of docs) d.changed();
    await Promise.all(docs.map((d) => d.flush()));
    expect(written.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads many files asked for at once, each whole, and sets a corrupt one aside without holding up the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'json-doc-'));
    try {
      for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}.json`), JSON.stringify({ i, pad: 'x'.repeat(i * 100) }));
      writeFileSync(join(dir, 'f7.json'), '{"i": 7,');
      const warnings: string[] = [];
      const read = await Promise.all(
        Array.from({ length: 31 }, (_, i) => JsonDocument.read(join(dir, `f${i}.json`), (raw) => (raw as { i: number }).i, { warn: (m) => warnings.push(m) })),
      );
      expect(read).toEqual([...Array.from({ length: 30 }, (_, i) => (i === 7 ? undefined : i)), undefined]);
      expect(warnings).toHaveLength(1);
      expect(existsSync(join(dir, 'f7.json.corrupt'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
