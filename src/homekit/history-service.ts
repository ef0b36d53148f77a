import { join } from 'node:path';
import type { API, Characteristic, CharacteristicProps, CharacteristicValue, PlatformAccessory, Service } from 'homebridge' with { 'resolution-mode': 'import' };
import type { Plug, PlugLogger, PlugValues } from '../plug/plug';
import { JsonDocument } from '../storage/json-document';
import { eveUuid, type CharacteristicClass } from './eve';
import { EveHistory, HISTORY_INTERVAL_S } from './history';
import { decodeSetTime } from './history-frames';

export const HISTORY_SERVICE_UUID = eveUuid('007');
/** Entries come every 10 minutes; a save shortly after each is plenty, and an On/Off burst costs one write. */
const HISTORY_SAVE_DELAY_MS = 30_000;

interface HistoryTypes {
  Status: CharacteristicClass;
  Entries: CharacteristicClass;
  Request: CharacteristicClass;
  SetTime: CharacteristicClass;
}

const typesByApi = new WeakMap<API, HistoryTypes>();

/** The four history characteristics (eve.md §3.1), built once per HAP-NodeJS instance like the Eve energy types. */
function historyTypes(api: API): HistoryTypes {
  const known = typesByApi.get(api);
  if (known) return known;
  const { Characteristic: Base, Formats, Perms } = api.hap;
  const define = (name: string, id: string, perms: CharacteristicProps['perms']): CharacteristicClass => {
    const uuid = eveUuid(id);
    const props = { format: Formats.DATA, perms } as CharacteristicProps;
    return class EveHistoryCharacteristic extends Base {
      static readonly UUID = uuid;
      constructor() {
        super(name, uuid, props);
        this.value = this.getDefaultValue();
      }
    };
  };
  const types: HistoryTypes = {
    Status: define('History Status', '116', [Perms.PAIRED_READ, Perms.NOTIFY, Perms.HIDDEN]),
    Entries: define('History Entries', '117', [Perms.PAIRED_READ, Perms.NOTIFY, Perms.HIDDEN]),
    Request: define('History Request', '11C', [Perms.PAIRED_WRITE, Perms.HIDDEN]),
    SetTime: define('Set Time', '121', [Perms.PAIRED_WRITE, Perms.HIDDEN]),
  };
  typesByApi.set(api, types);
  return types;
}

/** `<plugin storage>/history-<uuid>.json`, keyed like the energy ledger so a rename keeps the graphs (eve.md §5). */
export function historyFile(storageDir: string, plugUuid: string): string {
  return join(storageDir, `history-${plugUuid.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
}

export interface HistoryServiceOptions {
  /** Folder for the history file; undefined keeps the history in memory only. */
  storageDir?: string;
  /** The plug's uuid: what the file is keyed on. */
  plugUuid: string;
  log: PlugLogger;
  /** Clock, Unix ms. */
  now?: () => number;
}

/**
 * The Eve history service (E863F007) of one outlet: a 10-minute tick feeds the log from the plug's energy counter,
 * On/Off changes are logged as they happen, and the Eve app's requests are answered from memory.
 */
export class EveHistoryService {
  readonly ready: Promise<void>;
  private history: EveHistory;
  private loaded = false;
  private doc: JsonDocument | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly status: Characteristic;
  private readonly now: () => number;

  constructor(
    api: API,
    accessory: PlatformAccessory,
    private readonly plug: Plug,
    private readonly options: HistoryServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.history = new EveHistory(this.now);
    const types = historyTypes(api);
    const service: Service =
      accessory.services.find((s) => s.UUID === HISTORY_SERVICE_UUID) ??
      accessory.addService(new api.hap.Service(`${accessory.displayName} History`, HISTORY_SERVICE_UUID));
    const char = (type: CharacteristicClass): Characteristic =>
      service.characteristics.find((c) => c.UUID === type.UUID) ?? service.addCharacteristic(type);
    this.status = char(types.Status);
    this.status.onGet(() => this.history.status().toString('base64'));
    char(types.Entries).onGet(() => this.history.readEntries().toString('base64'));
    char(types.Request).onSet((value) => this.history.request(fromBase64(value)));
    char(types.SetTime).onSet((value) => {
      const t = decodeSetTime(fromBase64(value));
      // Eve sends the phone's clock; a large difference explains odd graphs, so it is worth a debug line.
      if (t !== undefined) options.log.debug(`${plug.name}: Eve set time ${new Date(t * 1000).toISOString()} (ours is ${new Date(this.now()).toISOString()}).`);
    });

    plug.on('update', (changes) => this.onPlugUpdate(changes));
    this.ready = this.load();
    this.scheduleTick();
  }

  /** Stops the tick and saves the log. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ready;
    await this.doc?.flush();
  }

  private async load(): Promise<void> {
    const { storageDir, plugUuid, log } = this.options;
    if (storageDir) {
      const file = historyFile(storageDir, plugUuid);
      const docLog = { warn: (m: string) => log.warn(`${this.plug.name}: ${m}`) };
      const saved = await JsonDocument.read(file, (raw) => EveHistory.fromJSON(raw, this.now), docLog);
      if (saved) this.history = saved;
      this.doc = new JsonDocument(file, () => this.history.toJSON(), { delayMs: HISTORY_SAVE_DELAY_MS, log: docLog });
    }
    this.loaded = true;
    this.history.prime(this.plug.energyCounter());
    this.status.updateValue(this.history.status().toString('base64'));
  }

  private onPlugUpdate(changes: Partial<PlugValues>): void {
    if (!this.loaded) return;
    this.history.prime(this.plug.energyCounter());
    if (changes.on !== undefined && this.plug.reachability === 'online' && this.history.recordOn(changes.on)) this.added();
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    const interval = HISTORY_INTERVAL_S * 1000;
    // On the wall clock's 10-minute marks, so entries of all plugs line up in the graphs.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.loaded && this.history.tick(this.plug.energyCounter())) this.added();
      this.scheduleTick();
    }, interval - (this.now() % interval));
    this.timer.unref?.();
  }

  private added(): void {
    // Subscribed controllers learn from the status notification that there is something new to fetch.
    this.status.updateValue(this.history.status().toString('base64'));
    this.doc?.changed();
  }
}

/** HAP hands `data` values over as base64 strings. */
function fromBase64(value: CharacteristicValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
}
