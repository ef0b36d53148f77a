import type { API, Characteristic, CharacteristicProps, WithUUID } from 'homebridge' with { 'resolution-mode': 'import' };

/** All Eve types share `E863Fxxx-079E-48FF-8F27-9C2605A29F52`. */
export const eveUuid = (id: string): string => `E863F${id}-079E-48FF-8F27-9C2605A29F52`;

/** Seconds between the Unix epoch and Eve's (2001-01-01T00:00:00Z). */
export const EVE_EPOCH_OFFSET = 978_307_200;

export type CharacteristicClass = WithUUID<new () => Characteristic>;

export interface EveTypes {
  Power: CharacteristicClass;
  Voltage: CharacteristicClass;
  Current: CharacteristicClass;
  TotalEnergy: CharacteristicClass;
  ResetTotal: CharacteristicClass;
}

/**
 * Eve energy characteristics as real subclasses of the running HAP-NodeJS's Characteristic. `class extends`
 * works on HAP 0.x (HB 1.8, ES5 functions) and 1.x/2.x (HB 2, ES classes), unlike `Characteristic.call(this)`;
 * formats and perms come from `api.hap` because HB 2 removed the static enums on the class (shared/eve.md §1.2).
 */
export function makeEveTypes(api: API): EveTypes {
  const { Characteristic: Base, Formats, Perms, Units } = api.hap;
  const define = (name: string, uuid: string, props: Partial<CharacteristicProps>): CharacteristicClass => {
    const full = { format: Formats.FLOAT, perms: [Perms.PAIRED_READ, Perms.NOTIFY], ...props } as CharacteristicProps;
    return class EveCharacteristic extends Base {
      static readonly UUID = uuid;
      constructor() {
        super(name, uuid, full);
        this.value = this.getDefaultValue();
      }
    };
  };
  return {
    Power: define('Consumption', eveUuid('10D'), { unit: 'W', minValue: 0, maxValue: 12_000, minStep: 0.1 }),
    Voltage: define('Voltage', eveUuid('10A'), { unit: 'V', minValue: 0, maxValue: 380, minStep: 0.1 }),
    Current: define('Electric Current', eveUuid('126'), { unit: 'A', minValue: 0, maxValue: 48, minStep: 0.01 }),
    TotalEnergy: define('Total Consumption', eveUuid('10C'), { unit: 'kWh', minValue: 0, maxValue: 1_000_000, minStep: 0.001 }),
    ResetTotal: define('Reset Total', eveUuid('112'), {
      format: Formats.UINT32,
      unit: Units.SECONDS,
      perms: [Perms.PAIRED_READ, Perms.NOTIFY, Perms.PAIRED_WRITE],
    }),
  };
}
