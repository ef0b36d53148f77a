/**
 * `npm start`: the plugin running in a real Homebridge against two simulated plugs (firmware 1 and 2), no
 * hardware needed. Pair it with the Home app (use --lan, or MEROSS_DEMO_LAN=1, so the bridge is reachable from
 * your phone) or drive the plugs with the CLI. Ctrl-C stops everything; pairing survives in .demo/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SimulatedPlug } from '../src/simulator';
import { Homebridge, ROOT } from '../test/e2e/homebridge';

const lan = process.argv.includes('--lan') || process.env.MEROSS_DEMO_LAN === '1';
const PIN = '031-45-154';

async function startPlug(firmware: 1 | 2, port: number, uuid: string, on: boolean, watts: number): Promise<SimulatedPlug> {
  const options = { firmware, uuid, key: 'demo-key', on, watts, volts: 230.4, amps: watts / 230.4 } as const;
  // Fixed ports keep the printed CLI commands valid between runs; fall back to any free port.
  return SimulatedPlug.start({ ...options, port }).catch(() => SimulatedPlug.start(options));
}

async function main(): Promise<void> {
  const plugs = await Promise.all([
    startPlug(2, 18_310, '2009113111806125175848e1e9000310', true, 48.2),
    startPlug(1, 18_311, '1811261652154529080434298f000311', false, 1200),
  ]);
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
      devices: [
        { name: 'Desk lamp', host: plugs[0].address, key: plugs[0].key },
        { name: 'Heater', host: plugs[1].address, key: plugs[1].key },
      ],
    },
  });

  const banner = [
    '',
    '──────── homebridge-meross-lan demo ────────',
    `Homebridge ${lan ? 'on your LAN' : 'on loopback only (start with --lan to pair from a phone)'}, port ${hb.port}`,
    `HomeKit setup code: ${PIN}`,
    'Simulated plugs (key "demo-key"):',
    ...plugs.map((p) => `  fw ${p.firmware}: ${p.address}  uuid ${p.uuid}`),
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
