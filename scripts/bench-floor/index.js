/**
 * The floor of `npm run bench -- --floor`: what Homebridge costs for N accessories and the same requests the plugin
 * sends, with nothing else. Each accessory is a bare Outlet (On, Outlet In Use, the Accessory Information every
 * accessory has); each simulated plug gets the plugin's request schedule: every poll one signed Multiple
 * (ToggleX + Electricity) on firmware 2, a Toggle and an Electricity GET on firmware 1, and every energy interval a
 * ConsumptionX and a System.All GET. Each request is one POST on a fresh TCP connection, and its reply is parsed,
 * as any client has to; no Eve service, history, energy ledger, retries or checks. What the plugin costs above this
 * is what it can still save; what this costs is no plugin's to save.
 *
 * Plain CommonJS so it runs without a build; loaded by Homebridge from a plugin folder the bench links it into, never
 * part of the published package.
 */
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports */
const { connect } = require('node:net');
const { join } = require('node:path');
const { setInterval } = require('node:timers');
// The plugin's own signing, so the floor's messages are what the plugs accept.
const { buildMessage } = require(join(__dirname, '..', '..', 'dist', 'meross', 'envelope.js'));

const PLUGIN = 'homebridge-bench-floor';
const PLATFORM = 'BenchFloor';

function post(address, message) {
  const body = JSON.stringify(message);
  const socket = connect({ host: address.hostname, port: address.port });
  socket.write(
    `POST /config HTTP/1.1\r\nHost: ${address.hostname}:${address.port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  const chunks = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    } catch {
      // A broken reply costs the same to find out about; nothing to do with it here.
    }
  });
}

function schedule(plug, pollMs, energyMs) {
  const colon = plug.address.lastIndexOf(':');
  const address = { hostname: plug.address.slice(0, colon), port: Number(plug.address.slice(colon + 1)) };
  const get = (namespace, payload) => buildMessage(namespace, 'GET', payload, plug.key);
  const poll = () => {
    if (plug.firmware === 1) {
      post(address, get('Appliance.Control.Toggle', {}));
      post(address, get('Appliance.Control.Electricity', {}));
    } else {
      const multiple = [get('Appliance.Control.ToggleX', { togglex: { channel: 0 } }), get('Appliance.Control.Electricity', { electricity: { channel: 0 } })];
      post(address, buildMessage('Appliance.Control.Multiple', 'SET', { multiple }, plug.key));
    }
  };
  const energy = () => {
    post(address, get('Appliance.Control.ConsumptionX', {}));
    post(address, get('Appliance.System.All', {}));
  };
  // Random phases, as the plugin spreads its plugs over the intervals.
  setTimeout(() => {
    poll();
    setInterval(poll, pollMs).unref();
  }, Math.random() * pollMs).unref();
  setTimeout(() => {
    energy();
    setInterval(energy, energyMs).unref();
  }, Math.random() * energyMs).unref();
}

module.exports = (api) => {
  api.registerPlatform(PLUGIN, PLATFORM, class BenchFloor {
    constructor(log, config, homebridge) {
      this.cached = new Map();
      const { Service, Characteristic, uuid } = homebridge.hap;
      const plugs = config.plugs ?? [];
      homebridge.on('didFinishLaunching', () => {
        const fresh = [];
        for (const [i, plug] of plugs.entries()) {
          const id = uuid.generate(`bench-floor-${plug.address}`);
          let accessory = this.cached.get(id);
          if (!accessory) {
            accessory = new homebridge.platformAccessory(`Floor ${i + 1}`, id);
            fresh.push(accessory);
          }
          let on = false;
          const outlet = accessory.getService(Service.Outlet) ?? accessory.addService(Service.Outlet, `Floor ${i + 1}`);
          outlet.getCharacteristic(Characteristic.On).onGet(() => on).onSet((value) => {
            on = Boolean(value);
          });
          outlet.getCharacteristic(Characteristic.OutletInUse).onGet(() => on);
          accessory
            .getService(Service.AccessoryInformation)
            .setCharacteristic(Characteristic.Manufacturer, 'Meross')
            .setCharacteristic(Characteristic.Model, 'MSS310')
            .setCharacteristic(Characteristic.SerialNumber, plug.uuid ?? id);
          schedule(plug, (config.pollS ?? 30) * 1000, (config.energyS ?? 300) * 1000);
        }
        if (fresh.length > 0) homebridge.registerPlatformAccessories(PLUGIN, PLATFORM, fresh);
        log.info(`polling ${plugs.length} plugs`);
      });
    }

    configureAccessory(accessory) {
      this.cached.set(accessory.UUID, accessory);
    }
  });
};
