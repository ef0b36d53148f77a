export type Firmware = 1 | 2;

/**
 * `mss310` (default; `firmware` picks its generation), the family plugs `mss110` (encrypted fw 7.3.37), `mss210`
 * (fw 1.1.12, no meter), `mss305` (fw 8.3.15), and the power strips `mss425e` (master + 3 outlets + USB) and
 * `mss425f` (master + 4 outlets + USB); see profiles/.
 */
export type Model = 'mss310' | 'mss110' | 'mss210' | 'mss305' | 'mss425e' | 'mss425f';

export type Fault =
  /** Connections refused: the listening socket is closed; clearing reopens it on the same port. */
  | { type: 'offline' }
  /** Accept and read the request, never answer (until the fault is cleared or the client gives up). */
  | { type: 'hang' }
  /** Answer normally, but after `ms`. */
  | { type: 'delay'; ms: number }
  /** HTTP 200 with a body that is not JSON. */
  | { type: 'garbage' }
  /** Headers and part of the body, then a TCP reset. */
  | { type: 'reset' }
  /** A 200 reply whose body is huge (default 1 MiB of valid-looking JSON padding). */
  | { type: 'oversize'; bytes?: number }
  /** Clock ≈ uptime (timestamp ~40), electricity 0/0/0, ConsumptionX dated 1970-01-01 with value 0. */
  | { type: 'unsynced-clock' }
  /** Another plug answers with the same key: replies are signed correctly but name another uuid. */
  | { type: 'wrong-uuid'; uuid?: string }
  /** Answers every second request only; the others are read and then dropped without reply. */
  | { type: 'every-other' };

export interface Readings {
  watts: number;
  volts: number;
  amps: number;
}

export interface SimulatorOptions {
  /** Default 2. 1 ⇒ hw 1.0.0 / fw 1.1.18 (Toggle, no Multiple); 2 ⇒ hw 2.0.0 / fw 2.1.17 (ToggleX, Multiple). */
  firmware?: Firmware;
  /**
   * Default `mss310`. Another model brings its own firmware (`firmware` is then ignored): `mss110` the encrypted
   * fw 7.3.37 plug of the mss100 trace, `mss425e`/`mss425f` power strips with channels 0..N (see `Model`).
   */
  model?: Model;
  /**
   * Namespaces the plug does not list (nor answer), e.g. both relay namespaces for a Meross device that is no switch
   * at all (a hub, a sensor), to see what the plugin does with something it cannot drive.
   */
  withoutAbilities?: readonly string[];
  /** Default: 32 chars, not all hex (like real units), ending with the MAC without colons. */
  uuid?: string;
  /** Default: random with the Meross prefix 48:e1:e9. */
  mac?: string;
  /** Default: 16 random hex chars. */
  key?: string;
  /** Default 127.0.0.1. Only loopback addresses are accepted. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** End HTTP status/header lines with a bare LF like some Meross firmwares (protocol.md §2.1). */
  lfOnly?: boolean;
  /** Relay state at start; on a power strip every outlet (and so the master channel 0) starts so. */
  on?: boolean;
  /** Readings while ON; while OFF electricity reports 0 W and 0 A, the voltage stays. */
  watts?: number;
  volts?: number;
  amps?: number;
  name?: string;
  /** Default 1850: a Multiple whose full reply would be larger is dropped without answer (fw 2.1.17). */
  maxReplyBytes?: number;
  /** Clock in ms, default Date.now. */
  now?: () => number;
  /** MQTT mode: log in to this broker at start (protocol.md §4), push changes, obey requests there too. */
  mqtt?: MqttSettings;
  /** Start in setup (pairing) mode: no sign check, waiting for Appliance.Config.Key and Config.Wifi. */
  setup?: boolean;
  /**
   * The plug's time zone (IANA), reported in System.All with `timeRule`s built for it; days are booked there.
   * Default Europe/London with the 2.1.17 trace's rules; '' for none (the mss310r 2.1.4 trace), which books UTC days.
   */
  timezone?: string;
  /** An explicit `timeRule` list, e.g. `[[0, 19800, 0]]` for a fixed offset; overrides the one built for `timezone`. */
  timeRule?: Array<[number, number, 0 | 1]>;
  /**
   * Which days ConsumptionX books. Default: fw 2 its local days, fw 1 UTC days whatever its zone (the fw 1.1.18
   * trace: Europe/Dublin at UTC+1, every day's last entry at 23:5x UTC).
   */
  dayBooking?: 'local' | 'utc';
  /** What the daily counter does at the plug's midnight (default `reset`); see consumption.ts. */
  midnight?: MidnightMode;
  /** The plug's clock minus the host's, ms (default 0). */
  clockSkewMs?: number;
  /** A drifting clock: it gains this many µs per second of host time (ppm; negative loses). */
  clockDriftPpm?: number;
}

export interface MqttSettings {
  /** `host:port` of the broker; TLS, certificate not checked, like the firmware. */
  broker: string;
  /** The userId in the MQTT password (`<userId>_md5(MAC+key)`). */
  userId: string | number;
  /** Between connection attempts; default 1000 ms. */
  reconnectMs?: number;
}

export interface RequestRecord {
  namespace: string;
  method: string;
  payload: unknown;
  /** ms, from the injected clock */
  at: number;
  signOk: boolean;
  /** How it arrived: over MQTT, or (when absent) over HTTP. */
  transport?: 'mqtt';
  /** An encrypted-firmware plug got it encrypted (true) or in clear (false); absent for other plugs. */
  encrypted?: boolean;
  /** Items of an Appliance.Control.Multiple; their signatures are reported but not enforced, like the firmware. */
  inner?: RequestRecord[];
}

export type ToggleSource = 'button' | 'local' | 'request';

export interface ToggleEvent {
  on: boolean;
  source: ToggleSource;
  /** The ToggleX channel that changed: 0 on a single plug; on a strip 0 is the master, 1..N the outlets. */
  channel: number;
}

/** `Appliance.Control.OverTemp` `type`: 1 an early warning, 2 the firmware cut the relay (profiles/overtemp.ts). */
export type OverTempType = 'early-warning' | 'shutoff-relay';

export interface OverTempState {
  /** Over temperature now (`value: 1`), or back to normal (`value: 2`). */
  active: boolean;
  type: OverTempType;
  /** Device seconds of the last change (0 before any). */
  timestamp: number;
}

export interface ConsumptionEntry {
  /** Device-local day, YYYY-MM-DD. */
  date: string;
  /** Epoch s of the entry's last update. */
  time: number;
  /** Wh used that day. */
  value: number;
}

/**
 * What the firmware does with its daily counter at its midnight (protocol.md §3.7; meross_lan #181, #264, #420):
 * - `reset`: the new day starts at 0 and appears once a whole Wh has accrued (the traces' firmwares);
 * - `carry-once`: at the next midnight the new day starts at yesterday's final figure, then it resets again;
 * - `cumulative`: every new day starts at yesterday's final figure: the counter never resets.
 */
export type MidnightMode = 'reset' | 'carry-once' | 'cumulative';
