import { join } from 'node:path';
import { JsonDocument, type DocumentLogger } from '../storage/json-document';
import { EnergyLedger } from './ledger';

/** Ledger changes come every energy read (minutes apart), so a short delay only merges bursts such as a reset. */
export const LEDGER_SAVE_DELAY_MS = 5_000;
/** Estimated energy changes every poll; writing it at most once a minute spares SD cards. */
export const ESTIMATE_SAVE_DELAY_MS = 60_000;

/**
 * `<plugin storage>/energy-<uuid>.json`: keyed by the plug's uuid, which survives renames and address changes.
 * The uuid comes from the plug itself, so anything unexpected in it is replaced rather than trusted in a path.
 */
export function ledgerFile(storageDir: string, plugUuid: string): string {
  return join(storageDir, `energy-${plugUuid.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

/** The saved ledger, or undefined if there is none yet (or it was unreadable: reported and set aside). */
export function loadLedger(file: string, now: () => number, log: DocumentLogger): Promise<EnergyLedger | undefined> {
  return JsonDocument.read(file, (raw) => EnergyLedger.fromJSON(raw, now), log);
}

/** Keeps `file` in step with whatever ledger `current()` returns. */
export function ledgerDocument(file: string, current: () => EnergyLedger, log: DocumentLogger): JsonDocument {
  return new JsonDocument(file, () => current().toJSON(), { delayMs: LEDGER_SAVE_DELAY_MS, log });
}
