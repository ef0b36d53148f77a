/**
 * `tsx scripts/profile-summary.ts DIR|FILE [--top N]`: where the time went in V8 CPU profiles (`node --cpu-prof`,
 * e.g. written by `npm run bench -- --cpu-prof DIR`). Prints self time by function and by file (node_modules
 * packages folded into one line each), the plugin's own code first, as a share of the whole profile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const target = positionals[0];
if (!target) {
  process.stderr.write('usage: tsx scripts/profile-summary.ts DIR|FILE [--top N]\n');
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];
const top = Number(values.top);

/** Where a frame's code lives: the plugin's own file, a package, Node itself, or V8's own work. */
function place(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `pkg ${pkg[1]}`;
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  const totalUs = profile.endTime - profile.startTime;
  let idleUs = 0;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') {
      if (functionName === '(idle)') idleUs += us;
      continue;
    }
    const where = place(url, functionName);
    const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byPlace.set(where, (byPlace.get(where) ?? 0) + us);
  }
  const busyUs = [...byPlace.values()].reduce((a, b) => a + b, 0);
  const pct = (us: number): string => `${((us / totalUs) * 100).toFixed(3)} %`.padStart(9);
  const ms = (us: number): string => `${(us / 1000).toFixed(0)} ms`.padStart(9);
  const rows = (m: Map<string, number>): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${ms(us)} ${pct(us)}  ${k}`)
      .join('\n');
  process.stdout.write(
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busyUs / 1000).toFixed(0)} ms on the CPU in JS and native frames ` +
      `(${((busyUs / totalUs) * 100).toFixed(2)} % of one core), idle ${((idleUs / totalUs) * 100).toFixed(1)} %\n\n` +
      `By place (self time, share of the wall time profiled):\n${rows(byPlace)}\n\nBy function:\n${rows(byFunction)}\n\n`,
  );
}
