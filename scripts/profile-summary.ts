/**
 * `tsx scripts/profile-summary.ts DIR|FILE [--top N] [--from S]`: where the time went in V8 CPU profiles
 * (`node --cpu-prof`, e.g. written by `npm run bench -- --cpu-prof DIR`). Prints self time by function and by file
 * (node_modules packages folded into one line each), as a share of the wall time profiled, and the time spent
 * under each of the plugin's own functions: a sample counts for the innermost plugin frame on its stack, so a
 * socket's connect or a JSON.stringify lands on the plugin code that asked for it. `--from S` leaves out the first
 * S seconds (start-up), to see the steady state a measurement window holds.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, from: { type: 'string', default: '0' } },
});
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
const fromUs = Number(values.from) * 1e6;

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
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (at < fromUs) continue;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime - Math.min(fromUs, profile.endTime - profile.startTime);
  let idleUs = 0;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const underPlugin = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const fn = byId.get(id)?.callFrame.functionName;
    if (fn !== '(idle)' && fn !== '(program)') {
      const key = pluginFrame(id) ?? '(not under plugin code)';
      underPlugin.set(key, (underPlugin.get(key) ?? 0) + us);
    }
  }
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
  function pluginFrame(id: number): string | undefined {
    for (let n = byId.get(id); n; n = byId.get(parentOf.get(n.id) ?? -1)) {
      const { functionName, url, lineNumber } = n.callFrame;
      if (url.includes('/dist/') && !url.includes('node_modules')) return `${functionName || '(anonymous)'}  ${place(url, functionName)}:${lineNumber + 1}`;
    }
    return undefined;
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
      `By place (self time, share of the wall time profiled):\n${rows(byPlace)}\n\nBy function:\n${rows(byFunction)}\n\n` +
      `Under the plugin's own functions (innermost plugin frame on the stack, what it called included):\n${rows(underPlugin)}\n\n`,
  );
}
