/**
 * Meross sells editions that are in Apple Home by themselves: HomeKit-native ones (paired with a HomeKit code) and
 * Matter-native ones. Added again through this plugin, such a plug would show up twice. `nativeEdition` is the one
 * rule that recognises them, from what the cloud device list (`deviceType`, `hdwareVersion`) or a LAN scan
 * (System.All `hardware.type`/`version`, `firmware.homekitVersion`; the Ability list when known) tells.
 *
 * - HomeKit: the model and the major hardware version are in homebridge-meross's `hkNativeHardware` table (the
 *   table its `ignoreHKNative` option skips devices by, `lib/utils/constants.js`), or System.All carries
 *   `firmware.homekitVersion`, as the HomeKit MSS110 7.0.0 / fw 7.3.37 of the mss100 trace does (its
 *   `Appliance.Config.Info` holds the HomeKit setup code).
 * - Matter: the Ability list names `Appliance.Config.Matter` (a namespace meross_lan knows), or the model is the
 *   MSS315, the Matter plug issue 18 names. homebridge-meross skips Matter devices by a `matterHardware` table
 *   (`ignoreMatter`) whose contents could not be read; this part of the rule is therefore narrower and unverified.
 *
 * Pure and Homebridge-free. The platform asks it only for plugs the cloud or a scan would add: a plug listed in
 * `devices` is always added.
 */

export type NativeKind = 'homekit' | 'matter';

export interface EditionFacts {
  /** `deviceType` (cloud) or `hardware.type` (System.All), e.g. `mss110`. */
  model?: string;
  /** `hdwareVersion` (cloud) or `hardware.version` (System.All), e.g. `7.0.0`. */
  hardwareVersion?: string;
  /** System.All `firmware.homekitVersion`. */
  homekitVersion?: string;
  /** The Ability list's namespaces, when known. */
  namespaces?: Iterable<string>;
}

export interface NativeEdition {
  kind: NativeKind;
  /** Why, for the log line: "MSS110 hardware 7.x is a HomeKit edition". */
  why: string;
}

/** homebridge-meross `hkNativeHardware`: model → major hardware versions of its HomeKit editions. */
const HOMEKIT_HARDWARE: Readonly<Record<string, readonly string[]>> = {
  MAP100: ['7'],
  MDL110: ['4'],
  MDL110M: ['4'],
  MOD100: ['4'],
  MOD150: ['4'],
  MOD100HK: ['4'],
  MRS100: ['7'],
  MSG100: ['4'],
  MSG200: ['4'],
  MSL100D: ['4'],
  MSL100R: ['4'],
  MSL120D: ['4'],
  MSL120DBR: ['4'],
  MSL120DR: ['4'],
  MSL320C: ['4'],
  MSL320CP: ['4'],
  MSL320CPR: ['4'],
  MSL420: ['4'],
  MSL430: ['4'],
  MSL450: ['7'],
  MSL610: ['4'],
  MSS110: ['4', '7'],
  MSS110NR: ['4'],
  MSS110R: ['4'],
  MSS120B: ['4'],
  MSS210: ['4', '7'],
  MSS210RTL: ['4'],
  MSS425E: ['4'],
  MSS425ER: ['4'],
  MSS425F: ['4'],
  MSS510: ['4'],
  MSS510X: ['4'],
  MSS510XR: ['4'],
  MSS550X: ['4'],
  MSS560X: ['4'],
  MSS570X: ['4'],
  MSS620: ['4', '7'],
  MSS620R: ['4'],
  MSS620BR: ['4'],
  MSS710: ['4'],
  MSS810: ['7'],
  MTS200: ['7'],
  MTS200B: ['7'],
  SP425EW: ['4'],
};

const MATTER_MODELS: ReadonlySet<string> = new Set(['MSS315']);
const MATTER_NAMESPACE = 'Appliance.Config.Matter';

/** Which native edition the facts describe, if any; undefined for a plug only this plugin brings to Apple Home. */
export function nativeEdition(facts: EditionFacts): NativeEdition | undefined {
  const model = (facts.model ?? '').trim().toUpperCase();
  const major = (facts.hardwareVersion ?? '').trim().charAt(0);
  const namespaces = facts.namespaces ? new Set(facts.namespaces) : undefined;
  if (namespaces?.has(MATTER_NAMESPACE)) return { kind: 'matter', why: `${model || 'this plug'} lists ${MATTER_NAMESPACE}, so it is a Matter edition` };
  if (MATTER_MODELS.has(model)) return { kind: 'matter', why: `${model} is a Matter edition` };
  if (model && major && HOMEKIT_HARDWARE[model]?.includes(major)) {
    return { kind: 'homekit', why: `${model} hardware ${major}.x is a HomeKit edition` };
  }
  if (facts.homekitVersion) return { kind: 'homekit', why: `${model || 'this plug'} runs HomeKit firmware (homekitVersion ${facts.homekitVersion.slice(0, 12)})` };
  return undefined;
}

/** The log line for a skipped plug: its name, why, and how to add it anyway. Never a key. */
export function skipLine(name: string, uuid: string, edition: NativeEdition, source: 'cloud' | 'scan'): string {
  const where = edition.kind === 'homekit' ? 'Apple Home can add it directly (its HomeKit code)' : 'Apple Home can add it directly over Matter';
  return (
    `${name}: not added from the ${source === 'cloud' ? 'Meross cloud' : 'LAN scan'}: ${edition.why}; ${where}, and adding it ` +
    `here too would show it twice. To add it anyway, list it under "devices" with "uuid": "${uuid}".`
  );
}

/** Remembers which plugs were reported, so each skipped plug is logged once per run. */
export class NativeEditionGate {
  private readonly told = new Set<string>();

  constructor(private readonly log: (line: string) => void) {}

  /** True when this cloud or scan plug is a native edition and must not be added; logs once per uuid. */
  skips(plug: EditionFacts & { uuid: string; name: string }, source: 'cloud' | 'scan'): boolean {
    const edition = nativeEdition(plug);
    if (!edition) return false;
    if (!this.told.has(plug.uuid)) {
      this.told.add(plug.uuid);
      this.log(skipLine(plug.name, plug.uuid, edition, source));
    }
    return true;
  }
}
