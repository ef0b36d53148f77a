import { AP_BSSID, SUB_TYPE, USER_ID, WIFI_SIGNAL, type FirmwareProfile } from './fixtures';

/** Payload building blocks shared by System.All, System.Hardware/Firmware and System.Debug. */

type Payload = Record<string, unknown>;

export function hardwarePayload(p: FirmwareProfile, uuid: string, mac: string): Payload {
  return { type: p.type ?? 'mss310', subType: p.subType ?? SUB_TYPE, version: p.hardwareVersion, chipType: p.chipType, uuid, macAddress: mac };
}

export function firmwarePayload(p: FirmwareProfile, innerIp: string): Payload {
  const fw: Payload = {
    version: p.version,
    compileTime: p.compileTime,
    wifiMac: AP_BSSID,
    innerIp,
    server: p.server,
    port: p.serverPort,
  };
  if (p.secondServer) {
    fw.secondServer = p.server;
    fw.secondPort = p.serverPort;
  }
  fw.userId = USER_ID;
  return { ...fw, ...p.firmwareExtra };
}

/** System.Debug in the layout of each generation (1.1.18 and 2.1.17 traces). */
export function debugPayload(p: FirmwareProfile, legacy: boolean, innerIp: string, uptimeS: number, deviceS: number): Payload {
  const upTime = `${Math.floor(uptimeS / 3600)}h${Math.floor(uptimeS / 60) % 60}m${uptimeS % 60}s`;
  const localTime = ctime(deviceS);
  const cloud: Payload = {
    activeServer: p.server,
    mainServer: p.server,
    mainPort: p.serverPort,
    secondServer: p.server,
    secondPort: p.serverPort,
    userId: USER_ID,
    sysConnectTime: localTime,
    sysOnlineTime: upTime,
    sysDisconnectCount: 0,
  };
  if (legacy) {
    return {
      debug: {
        system: {
          version: p.version,
          compileTime: p.compileTime,
          sysUpTime: upTime,
          memory: 'Total 3319k, Free 1615k, Largest free block 1606k',
          suncalc: '6:53;19:0',
          localTime,
          localTimeOffset: 0,
        },
        network: { linkStatus: 0, signal: WIFI_SIGNAL, wifiDisconnectCount: 0, ssid: 'meross-sim', gatewayMac: AP_BSSID, innerIp },
        cloud: { ...cloud, pingTrace: [] },
      },
    };
  }
  return {
    debug: {
      system: { version: p.version, sysUpTime: upTime, localTimeOffset: 0, localTime, suncalc: '6:6;18:13' },
      network: { linkStatus: 'connected', signal: WIFI_SIGNAL, ssid: 'meross-sim', gatewayMac: AP_BSSID, innerIp, wifiDisconnectCount: 0 },
      cloud,
    },
  };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C `ctime()` layout, as Debug's `localTime` shows it ("Sun Mar 10 13:19:09 2024"). UTC, like the day counters. */
export function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${clock} ${d.getUTCFullYear()}`;
}
