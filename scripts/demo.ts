/**
 * `npm start`: the plugin running in a real Homebridge against a mixed house of simulated plugs, no hardware
 * needed: an MSS310 on firmware 2 and on firmware 1, an MSS305 (firmware 8.3.15), a plug without a meter (MSS210),
 * an encrypted MSS110 (firmware 7.3.37) and an MSS425E power strip (master channel 0, three outlets, USB). Pair it
 * with the Home app (use --lan, or MEROSS_DEMO_LAN=1, so the bridge is reachable from your phone) or drive the plugs
 * with the CLI. Ctrl-C stops everything; pairing survives in .demo/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedPlug, type SimulatorOptions } from '../src/simulator';
import { Homebridge, ROOT } from '../test/e2e/homebridge';

const lan = process.argv.includes('--lan') || process.env.MEROSS_DEMO_LAN === '1';
const PIN = '031-45-154';

async function startPlug(kind: Pick<SimulatorOptions, 'firmware' | 'model'>, port: number, uuid: string, on: boolean, watts: number): Promise<SimulatedPlug> {
  const options: SimulatorOptions = { ...kind, uuid, key: 'demo-key', on, watts, volts: 230.4, amps: watts / 230.4 };
  // Fixed ports keep the printed CLI commands valid between runs; fall back to any free port.
  return SimulatedPlug.start({ ...options, port }).catch(() => SimulatedPlug.start(options));
}

async function main(): Promise<void> {
  const house = [
    { name: 'Desk lamp', plug: startPlug({ firmware: 2 }, 18_310, '2009113111806125175848e1e9000310', true, 48.2) },
    { name: 'Heater', plug: startPlug({ firmware: 1 }, 18_311, '1811261652154529080434298f000311', false, 1200) },
    { name: 'Fridge', plug: startPlug({ model: 'mss305' }, 18_312, '2302011409593851070848e1e9000305', true, 85) },
    { name: 'Fan', plug: startPlug({ model: 'mss210' }, 18_313, '1901081432497625080434298f000210', false, 0) },
    { name: 'Hall light', plug: startPlug({ model: 'mss110' }, 18_314, '2405301043117835000148e1e9000110', true, 0) },
    { name: 'TV strip', plug: startPlug({ model: 'mss425e' }, 18_315, '1811260947419629080534298f000425', true, 0) },
  ];
  const plugs = await Promise.all(house.map((h) => h.plug));
  const storageDir = join(ROOT, '.demo', 'homebridge');
  mkdirSync(storageDir, { recursive: true });
  const hb = await Homebridge.start({
    version: 'v2',
    storageDir,
    port: 51_826,
    pin: PIN,
    username: '0E:4D:45:52:4F:53',
    bind: lan ? [] : ['lo'],
    echo: true,
    debug: false,
    platform: {
      pollInterval: 5,
      energyPollInterval: 60,
      devices: house.map((h, i) => ({ name: h.name, host: plugs[i].address, key: plugs[i].key })),
    },
  });

  const banner = [
    '',
    '──────── homebridge-meross-lan demo ────────',
    `Homebridge ${lan ? 'on your LAN' : 'on loopback only (start with --lan to pair from a phone)'}, port ${hb.port}`,
    `HomeKit setup code: ${PIN}`,
    'Simulated plugs (key "demo-key"):',
    ...plugs.map((p, i) => {
      const channels = p.channels.length > 1 ? `  channels ${p.channels.join(',')} (0 = master)` : '';
      return `  ${house[i].name.padEnd(10)} ${p.name.split('-')[0]} fw ${p.firmware}: ${p.address}  uuid ${p.uuid}${channels}`;
    }),
    'Try, in another terminal:',
    `  npx meross-lan info --host ${plugs[0].address} --key demo-key`,
    `  npx meross-lan toggle --host ${plugs[1].address} --key demo-key`,
    'Ctrl-C to stop.',
    '─────────────────────────────────────────────',
    '',
  ];
  process.stdout.write(banner.join('\n'));

  const stop = async (): Promise<void> => {
    await hb.stop({ keepStorage: true });
    await Promise.all(plugs.map((p) => p.stop()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
