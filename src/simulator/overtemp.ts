/**
 * Over-temperature protection, on the models whose ability list names `Appliance.Config.OverTemp` and
 * `Appliance.Control.OverTemp` (MSS305 fw 8.3.15, MSS110 fw 7.3.37).
 *
 * What the peers show, and how sure it is:
 * - `GET Appliance.Config.OverTemp {"overTemp":{}}` → `{"overTemp":{"enable":1,"type":1}}` (mss305 8.3.15 trace) and
 *   `{"enable":1,"type":-1}` (mss110 7.3.37 trace) — real replies. meross_lan (`devices/mss.py`
 *   `_handle_Appliance_Config_OverTemp`) shows it as a switch (`enable`) and an enum sensor (`type`).
 *   SET `{"overTemp":{"enable":1|2,"type"?}}` with enable 1 on / 2 off: Doekse/node-meross-sdk
 *   `src/protocol/codecs/overtemp.ts` (`encodeConfigOverTempSet`); no trace shows a SET.
 * - `GET Appliance.Control.OverTemp` with `{"overTemp":[]}` (mss305 trace) or `{"overTemp":{}}` (mss110 trace):
 *   the firmware **drops the connection** (ServerDisconnectedError in both), and so does a `PUSH` query (mss110).
 *   Doekse/node-meross-sdk asks with a channel, `{"overTemp":[{"channel":0}]}`, and reads a list of
 *   `{channel, value, type?, timestamp?}` back (`encodeControlOverTempGet`, `decodeControlOverTemp`); this
 *   simulator answers that form and drops the others, as the traces do. The answered form is one source only.
 * - The state change itself is sent by the device: `value` 1 over temperature / 2 normal, `type` 1 early warning /
 *   2 relay cut off, `timestamp` (Doekse/merossiot `packages/meross-iot/lib/enums.js` `OverTempValueCodec` and
 *   `OverTempTypeCodec`, `lib/model/push/over-temp.js`). Method and form differ between peers: that library binds it
 *   as a `PUSH` notification with an `overTemp` object; Doekse/node-meross-sdk says "Device SET omits `channel`";
 *   older meross_lan `merossclient` grammars mark the namespace push-only (`PSH`). Here it goes out as `PUSH {"overTemp":{"value","type","timestamp"}}`.
 * - With type 2 the firmware has cut the relay, so the simulator switches it off too (the name says so; no capture).
 */
import type { OverTempState, OverTempType } from './types';

type Payload = Record<string, unknown>;

const TYPE_WIRE: Record<OverTempType, number> = { 'early-warning': 1, 'shutoff-relay': 2 };

function isObject(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `overTemp` object the device sends on a change (PUSH). */
export function overTempEvent(state: OverTempState): Payload {
  return { overTemp: { value: state.active ? 1 : 2, type: TYPE_WIRE[state.type], timestamp: state.timestamp } };
}

/** GET Appliance.Control.OverTemp: a list for the channels asked, or undefined (dropped) for other forms. */
export function overTempGet(payload: Payload, state: OverTempState): Payload | undefined {
  const asked = payload.overTemp;
  if (!Array.isArray(asked) || asked.length === 0) return undefined;
  const channels = asked.map((item) => (isObject(item) && typeof item.channel === 'number' ? item.channel : undefined));
  // A plug has one sensor, on channel 0.
  if (channels.some((c) => c !== 0)) return undefined;
  const { overTemp } = overTempEvent(state) as { overTemp: Payload };
  return { overTemp: [{ channel: 0, ...overTemp }] };
}

export interface OverTempConfig {
  enable: number;
  type: number;
}

/** SET Appliance.Config.OverTemp: enable 1 (on) or 2 (off), optional numeric type; undefined if malformed. */
export function overTempConfigSet(payload: Payload, config: OverTempConfig): OverTempConfig | undefined {
  const p = payload.overTemp;
  if (!isObject(p) || (p.enable !== 1 && p.enable !== 2)) return undefined;
  if (p.type !== undefined && typeof p.type !== 'number') return undefined;
  return { enable: p.enable, type: typeof p.type === 'number' ? p.type : config.type };
}
