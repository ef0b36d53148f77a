/** Reading a HAP accessory database the way a controller sees it. */
import type { HttpClient } from 'hap-controller';

const APPLE_BASE = '-0000-1000-8000-0026BB765291';

/** HAP sends Apple types in short form ("25") and custom ones in full; compare in full form. */
export function longType(type: string): string {
  const t = type.toUpperCase();
  return /^[0-9A-F]{1,8}$/.test(t) ? `${t.padStart(8, '0')}${APPLE_BASE}` : t;
}

export const TYPES = {
  AccessoryInformation: longType('3E'),
  Outlet: longType('47'),
  On: longType('25'),
  OutletInUse: longType('26'),
  Name: longType('23'),
  Manufacturer: longType('20'),
  Model: longType('21'),
  SerialNumber: longType('30'),
  FirmwareRevision: longType('52'),
  HardwareRevision: longType('53'),
  EvePower: 'E863F10D-079E-48FF-8F27-9C2605A29F52',
  EveVoltage: 'E863F10A-079E-48FF-8F27-9C2605A29F52',
  EveCurrent: 'E863F126-079E-48FF-8F27-9C2605A29F52',
  EveTotal: 'E863F10C-079E-48FF-8F27-9C2605A29F52',
  EveResetTotal: 'E863F112-079E-48FF-8F27-9C2605A29F52',
} as const;

export interface HapCharacteristic {
  type: string;
  iid: number;
  value?: unknown;
  perms?: string[];
  format?: string;
  unit?: string;
}
export interface HapService {
  type: string;
  iid: number;
  characteristics: HapCharacteristic[];
}
export interface HapAccessory {
  aid: number;
  services: HapService[];
}

export class AccessoryView {
  constructor(readonly raw: HapAccessory) {}

  get aid(): number {
    return this.raw.aid;
  }

  service(type: string): HapService | undefined {
    return this.raw.services.find((s) => longType(s.type) === type);
  }

  characteristic(serviceType: string, type: string): HapCharacteristic | undefined {
    return this.service(serviceType)?.characteristics.find((c) => longType(c.type) === type);
  }

  /** `aid.iid` of a characteristic, as hap-controller addresses it. */
  id(serviceType: string, type: string): string {
    const c = this.characteristic(serviceType, type);
    if (!c) throw new Error(`accessory ${this.aid} has no ${type} on ${serviceType}`);
    return `${this.aid}.${c.iid}`;
  }

  info(type: string): unknown {
    return this.characteristic(TYPES.AccessoryInformation, type)?.value;
  }
}

export async function accessories(client: HttpClient): Promise<AccessoryView[]> {
  const db = (await client.getAccessories()) as unknown as { accessories: HapAccessory[] };
  return db.accessories.filter((a) => a.aid !== 1).map((a) => new AccessoryView(a));
}

export async function accessoryBySerial(client: HttpClient, serial: string): Promise<AccessoryView> {
  const found = (await accessories(client)).find((a) => a.info(TYPES.SerialNumber) === serial);
  if (!found) throw new Error(`no accessory with serial ${serial}`);
  return found;
}

export interface ReadResult {
  value?: unknown;
  status?: number;
}

/** Reads characteristics; a failed one comes back with its HAP status (e.g. -70402 = No Response). */
export async function read(client: HttpClient, ids: string[]): Promise<Record<string, ReadResult>> {
  const res = (await client.getCharacteristics(ids)) as unknown as {
    characteristics: Array<{ aid: number; iid: number; value?: unknown; status?: number }>;
  };
  const out: Record<string, ReadResult> = {};
  for (const c of res.characteristics) out[`${c.aid}.${c.iid}`] = { value: c.value, status: c.status };
  return out;
}

export async function readOne(client: HttpClient, id: string): Promise<ReadResult> {
  return (await read(client, [id]))[id];
}

/** Writes one characteristic; resolves with the HAP status (0 = success). */
export async function write(client: HttpClient, id: string, value: unknown): Promise<number> {
  try {
    const res = (await client.setCharacteristics({ [id]: value })) as {
      characteristics?: Array<{ status?: number }>;
    };
    return res?.characteristics?.[0]?.status ?? 0;
  } catch (error) {
    const status = /(-7\d{4})/.exec(String((error as Error).message ?? error));
    if (status) return Number(status[1]);
    throw error;
  }
}

export interface HapEvent {
  aid: number;
  iid: number;
  value: unknown;
}

/** Subscribes and resolves with the first event for `id` whose value satisfies `accept`. */
export function nextEvent(client: HttpClient, id: string, accept: (v: unknown) => boolean, timeoutMs: number): Promise<HapEvent & { at: number }> {
  return new Promise((resolveEvent, reject) => {
    const onEvent = (ev: { characteristics: HapEvent[] }): void => {
      for (const c of ev.characteristics) {
        if (`${c.aid}.${c.iid}` === id && accept(c.value)) {
          const at = performance.now();
          clearTimeout(timer);
          client.off('event', onEvent);
          resolveEvent({ ...c, at });
        }
      }
    };
    const timer = setTimeout(() => {
      client.off('event', onEvent);
      reject(new Error(`no event for ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('event', onEvent);
  });
}
