/**
 * `npm run fuzz`: the long fuzz run — the same properties as test/fuzz/ (decoders, envelope verifier, config
 * validation, the client over loopback HTTP, the energy ledger), with far more cases (≈ 240 000 by default,
 * about five minutes).
 *
 * Usage: tsx scripts/fuzz.ts [--scale 2] [--seed 42] [--only ledger]
 *   --scale  multiplies every property's case count (0.1 for a smoke run)
 *   --seed   fixes fast-check's seed (printed at the start, so any run can be replayed)
 *   --only   runs the properties whose name or area contains this text
 * Prints one line per property and a total; exits 1 if any property failed, with fast-check's shrunk
 * counterexample and the seed/path that replays it.
 */
import { parseArgs } from 'node:util';
import { clientSpec } from '../test/fuzz/client';
import { ledgerSpecs } from '../test/fuzz/ledger';
import { SPECS, type FuzzSpec } from '../test/fuzz/properties';

function loadSpecs(): FuzzSpec[] {
  return [...SPECS, clientSpec, ...ledgerSpecs];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1' },
      seed: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: tsx scripts/fuzz.ts [--scale N] [--seed N] [--only TEXT]\n');
    return 0;
  }
  const scale = Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`--scale must be a positive number, not "${values.scale}"`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not "${values.seed}"`);
  const only = values.only?.toLowerCase();
  const specs = loadSpecs().filter((s) => !only || s.name.toLowerCase().includes(only) || s.area.includes(only));

  process.stdout.write(`homebridge-meross-lan fuzz: ${specs.length} properties, seed ${seed}, scale ${scale}\n\n`);
  let total = 0;
  let failed = 0;
  const began = performance.now();
  for (const spec of specs) {
    const numRuns = Math.max(1, Math.round(spec.longRuns * scale));
    const started = performance.now();
    let verdict = 'ok';
    try {
      await spec.run({ numRuns, seed });
      total += numRuns;
    } catch (error) {
      failed++;
      verdict = 'FAILED';
      process.stdout.write(`\n${error instanceof Error ? error.message : String(error)}\n\n`);
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`${verdict.padEnd(6)} ${String(numRuns).padStart(7)} cases ${seconds.toFixed(1).padStart(6)} s  [${spec.area}] ${spec.name}\n`);
  }
  const seconds = (performance.now() - began) / 1000;
  process.stdout.write(`\n${total} cases passed in ${seconds.toFixed(0)} s; ${failed === 0 ? 'no failures' : `${failed} propert${failed === 1 ? 'y' : 'ies'} FAILED`} (seed ${seed}).\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
