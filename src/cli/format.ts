import type { Electricity, SystemInfo } from '../meross';
import { outletChannels } from '../plug/outlets';

/** The `info --json` object. Readings are null only for a plug that does not meter (no Electricity ability). */
export interface InfoJson {
  host: string;
  uuid: string;
  model: string;
  hardware: string;
  firmware: string;
  mac: string;
  ip?: string;
  on: boolean;
  watts: number | null;
  volts: number | null;
  amps: number | null;
  /** Wi-Fi signal in % (Appliance.System.Runtime), null where the plug does not list it. */
  wifiSignal: number | null;
  /** A strip's outlets (channel → on), without its master channel 0; absent for a single plug. */
  outlets?: Record<string, boolean>;
}

export function infoJson(host: string, info: SystemInfo, electricity: Electricity | undefined, wifiSignal?: number): InfoJson {
  return {
    host,
    uuid: info.uuid,
    model: info.model,
    hardware: info.hardwareVersion,
    firmware: info.firmwareVersion,
    mac: info.mac,
    ip: info.lanIp,
    on: info.on,
    watts: electricity?.watts ?? null,
    volts: electricity?.volts ?? null,
    amps: electricity?.amps ?? null,
    wifiSignal: wifiSignal ?? null,
    ...outletsOf(info),
  };
}

function outletsOf(info: SystemInfo): Pick<InfoJson, 'outlets'> {
  const channels = outletChannels(info.relays.keys());
  if (channels[0] === 0) return {};
  return { outlets: Object.fromEntries(channels.map((c) => [String(c), info.relays.get(c) === true])) };
}

export function formatInfo(info: InfoJson): string {
  const rows: [string, string][] = [
    ['Plug', info.host],
    ['Model', `${info.model} (hardware ${info.hardware})`],
    ['Firmware', info.firmware],
    ['UUID', info.uuid],
    ['MAC', info.mac],
  ];
  if (info.ip !== undefined) rows.push(['LAN IP', info.ip]);
  if (info.wifiSignal !== null) rows.push(['Wi-Fi', `${info.wifiSignal} % signal`]);
  rows.push(['Relay', onOff(info.on)]);
  if (info.outlets) {
    rows.push(['Outlets', Object.entries(info.outlets).map(([c, on]) => `${c} ${onOff(on)}`).join(', ') + ' (--channel N switches one)']);
  }
  const { watts, volts, amps } = info;
  rows.push(['Power', watts === null || volts === null || amps === null ? 'not metered' : formatElectricity({ watts, volts, amps })]);
  return rows.map(([label, value]) => `${label.padEnd(9)} ${value}\n`).join('');
}

export function formatElectricity(e: Electricity): string {
  return `${e.watts.toFixed(1).padStart(7)} W  ${e.volts.toFixed(1).padStart(5)} V  ${e.amps.toFixed(3).padStart(6)} A`;
}

export function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}

/** One `watch` line: local wall-clock time, relay, readings. */
export function formatWatchLine(at: Date, on: boolean, e: Electricity | undefined): string {
  const time = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${time}  ${onOff(on).padEnd(3)}  ${e ? formatElectricity(e) : 'not metered'}\n`;
}

export function watchJson(at: Date, on: boolean, e: Electricity | undefined): string {
  return `${JSON.stringify({ time: at.toISOString(), on, watts: e?.watts ?? null, volts: e?.volts ?? null, amps: e?.amps ?? null })}\n`;
}
