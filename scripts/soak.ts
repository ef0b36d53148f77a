/**
 * `npm run soak -- --plugs 140 --minutes 30`: a real Homebridge 2 with many simulated plugs for a long while,
 * with random faults on a share of the plugs and HomeKit toggles all along, watching the Homebridge process for
 * leaks: RSS and heap (after a full GC), event-loop lag, live handles, timers and sockets over time. Ends with a
 * verdict: no growth trend after the warm-up (a least-squares slope per hour, against a limit a real leak cannot
 * hide under: 1 kB kept per poll of 140 plugs is 17 MB an hour), no leaked sockets or timers, no missed polls on the
 * healthy plugs, every toggle of a healthy plug done, no crash in the log. All traffic on loopback.
 *
 * Options: --plugs N (default 140, at most 149: HAP's bridge limit), --minutes M (default 12: two minutes of
 * warm-up and one whole 10-minute Eve history period with two energy reads), --poll S (default
 * 30), --sample S (seconds between samples, default 10), --faulty 0.1 (share of plugs that get faults),
 * --toggle-every S (default 2). Progress on stderr; the time series, the verdict and a JSON summary on stdout, and
 * everything under .test-tmp/soak-<time>/. Exit 0 on PASS, 1 on FAIL, 2 if the run itself broke.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug, type Fault } from '../src/simulator';
import { accessories, TYPES, write } from '../test/e2e/hap';
import { Homebridge, ROOT } from '../test/e2e/homebridge';
import { crashLines, percentile, PollWatch, slope } from '../test/e2e/stats';

interface Options {
  plugs: number;
  minutes: number;
  pollS: number;
  sampleS: number;
  faultyShare: number;
  toggleEveryS: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      plugs: { type: 'string', default: '140' },
      minutes: { type: 'string', default: '12' },
      poll: { type: 'string', default: '30' },
      sample: { type: 'string', default: '10' },
      faulty: { type: 'string', default: '0.1' },
      'toggle-every': { type: 'string', default: '2' },
    },
    strict: true,
  });
  const num = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, not "${text}"`);
    return n;
  };
  return {
    plugs: Math.round(num('plugs', values.plugs, 2, 149)),
    minutes: num('minutes', values.minutes, 0.5, 24 * 60),
    pollS: num('poll', values.poll, 1, 3600),
    sampleS: num('sample', values.sample, 1, 600),
    faultyShare: num('faulty', values.faulty, 0, 0.5),
    toggleEveryS: num('toggle-every', values['toggle-every'], 0.2, 600),
  };
}

const progress = (m: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const MB = 1024 * 1024;

/** One line of the Homebridge-side reporter (scripts/soak-reporter.mjs), plus what /proc says at about that time. */
interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  lag: { p50: number; p99: number; max: number; mean: number };
  resources: Record<string, number>;
  /** Live timers made through the global setTimeout/setInterval (the reporter counts them). */
  timers: number;
  fds?: number;
  socketFds?: number;
  vmRss?: number;
}

function procStats(pid: number): { fds: number; socketFds: number; vmRss: number } {
  let fds = 0;
  let socketFds = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) socketFds++;
    } catch {
      // closed meanwhile
    }
  }
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, socketFds, vmRss: m ? Number(m[1]) * 1024 : NaN };
}

/** The faults the simulator plays; wrong key needs a swapped simulator and is covered by the fault matrix instead. */
function randomFault(timeoutS: number): Fault {
  const faults: Fault[] = [
    { type: 'offline' },
    { type: 'hang' },
    { type: 'delay', ms: timeoutS * 1000 + 500 },
    { type: 'garbage' },
    { type: 'reset' },
    { type: 'oversize' },
    { type: 'unsynced-clock' },
    { type: 'wrong-uuid' },
    { type: 'every-other' },
  ];
  return faults[Math.floor(Math.random() * faults.length)];
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];

async function main(): Promise<number> {
  const opts = options();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const dir = join(ROOT, '.test-tmp', `soak-${stamp}`);
  mkdirSync(dir, { recursive: true });
  const statsFile = join(dir, 'homebridge-stats.jsonl');
  const pollMs = opts.pollS * 1000;
  const timeoutS = 5;
  const cleanups: Array<() => Promise<unknown>> = [];
  const stopAll = async (): Promise<void> => {
    for (let c = cleanups.pop(); c; c = cleanups.pop()) await c().catch((e: unknown) => progress(`cleanup failed: ${String(e)}`));
  };
  process.once('SIGINT', () => {
    progress('interrupted; stopping');
    void stopAll().finally(() => process.exit(130));
  });

  try {
    progress(`${opts.plugs} plugs, ${opts.minutes} min, poll ${opts.pollS} s; output in ${dir}`);
    // Every tenth plug runs firmware 1 (no Multiple), as in a household that bought plugs over the years.
    const sims = await Promise.all(
      Array.from({ length: opts.plugs }, (_, i) => SimulatedPlug.start({ firmware: i % 10 === 9 ? 1 : 2, on: i % 3 !== 0, watts: 5 + (i % 40) * 2.5 })),
    );
    cleanups.push(() => Promise.all(sims.map((s) => s.stop())));
    const faultable = sims.slice(0, Math.round(opts.plugs * opts.faultyShare));
    const healthy = sims.slice(faultable.length);
    const names = sims.map((_, i) => `Soak ${String(i + 1).padStart(3, '0')}`);
    const watches = sims.map((s) => new PollWatch(s, pollMs / 2));
    cleanups.push(async () => watches.forEach((w) => w.stop()));

    process.env.SOAK_STATS_FILE = statsFile;
    process.env.SOAK_STATS_INTERVAL_MS = String(opts.sampleS * 1000);
    const hb = await Homebridge.start({
      // As users run it: debug output would be part of what is measured.
      debug: false,
      nodeArgs: ['--expose-gc', '--import', join(ROOT, 'scripts', 'soak-reporter.mjs')],
      platform: {
        pollInterval: opts.pollS,
        timeout: timeoutS,
        devices: sims.map((s, i) => ({ name: names[i], host: s.address, key: s.key })),
      },
    });
    cleanups.push(() => hb.stop());
    const pid = hb.pid!;
    await Promise.all(names.map((n) => hb.waitForLog(new RegExp(`${n}: added to HomeKit`), 180_000)));
    progress('all plugs in HomeKit; pairing');
    const hap: HttpClient = await hb.pair();
    cleanups.push(() => hap.close());
    const views = await accessories(hap);
    const onIds = new Map(sims.map((s) => [s, views.find((v) => v.info(TYPES.SerialNumber) === s.uuid)!.id(TYPES.Outlet, TYPES.On)]));
    // Like the Home app: every outlet subscribed, in one request before any event flows.
    await hap.subscribeCharacteristics([...onIds.values()]);

    const began = Date.now();
    const endAt = began + opts.minutes * 60_000;
    const procSamples: Array<{ t: number; fds: number; socketFds: number; vmRss: number }> = [];
    const faultLog: Array<{ plug: number; fault: string; from: number; to: number }> = [];
    const active = new Map<SimulatedPlug, { fault: string; from: number }>();
    const toggles: Array<{ healthy: boolean; status: number; ms: number; at: number }> = [];

    // Faults: every few seconds one faultable plug that is fine gets a fault for 20–90 s.
    const faultLoop = (async () => {
      while (Date.now() < endAt - 30_000 && faultable.length > 0) {
        await sleep(3000 + Math.random() * 7000); // the chaos schedule itself, not a synchronisation
        const free = faultable.filter((s) => !active.has(s));
        if (free.length === 0) continue;
        const sim = pick(free);
        const fault = randomFault(timeoutS);
        active.set(sim, { fault: fault.type, from: Date.now() });
        await sim.setFault(fault);
        const holdMs = 20_000 + Math.random() * 70_000;
        void sleep(Math.min(holdMs, Math.max(0, endAt - 20_000 - Date.now()))).then(async () => {
          await sim.setFault(null);
          const a = active.get(sim)!;
          faultLog.push({ plug: sims.indexOf(sim), fault: a.fault, from: a.from, to: Date.now() });
          active.delete(sim);
        });
      }
    })();
    // Toggles: a HomeKit write every few seconds, mostly to healthy plugs.
    const toggleLoop = (async () => {
      while (Date.now() < endAt - 5000) {
        await sleep(opts.toggleEveryS * 1000 * (0.5 + Math.random())); // the user's pace
        const sim = Math.random() < 0.9 || faultable.length === 0 ? pick(healthy) : pick(faultable);
        const started = performance.now();
        const status = await write(hap, onIds.get(sim)!, !sim.isOn);
        toggles.push({ healthy: healthy.includes(sim), status, ms: performance.now() - started, at: Date.now() });
      }
    })();
    const procLoop = (async () => {
      while (Date.now() < endAt) {
        procSamples.push({ t: Date.now(), ...procStats(pid) });
        await sleep(opts.sampleS * 1000); // sampling period
      }
    })();
    let lastReport = 0;
    while (Date.now() < endAt) {
      await sleep(5000);
      if (!hb.running) throw new Error('Homebridge exited during the soak');
      if (Date.now() - lastReport >= 60_000) {
        lastReport = Date.now();
        const p = procStats(pid);
        progress(`${((Date.now() - began) / 60_000).toFixed(1)} min: RSS ${(p.vmRss / MB).toFixed(1)} MB, ${p.socketFds} socket fds, ${active.size} plugs faulted, ${toggles.length} toggles`);
      }
    }
    await Promise.all([faultLoop, toggleLoop, procLoop]);
    // Let the last faults clear and one more poll of every plug happen before the final look.
    await Promise.all(sims.map((s) => s.setFault(null)));
    await Promise.all(watches.map((w) => w.next(1, pollMs * 2 + 10_000).catch(() => undefined)));
    const alive = hb.running;
    const logs = [...hb.logs];
    await stopAll();

    const samples = readFileSync(statsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Sample)
      .filter((s) => s.t >= began);
    for (const s of samples) {
      const p = procSamples.reduce((best, x) => (Math.abs(x.t - s.t) < Math.abs(best.t - s.t) ? x : best), procSamples[0]);
      if (p) Object.assign(s, { fds: p.fds, socketFds: p.socketFds, vmRss: p.vmRss });
    }
    const report = analyse(opts, samples, watches, sims, faultable, faultLog, toggles, began, endAt, logs, alive);
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(report.summary, null, 2));
    writeFileSync(join(dir, 'report.md'), report.text);
    writeFileSync(join(dir, 'homebridge.log'), logs.join('\n'));
    process.stdout.write(report.text);
    process.stdout.write(`${JSON.stringify(report.summary)}\n`);
    return report.pass ? 0 : 1;
  } catch (error) {
    progress(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await stopAll();
    return 2;
  }
}

interface Trend {
  metric: string;
  unit: string;
  first: number;
  last: number;
  /** Least-squares slope after the warm-up, per hour. */
  slopePerHour: number;
  /** The largest slope per hour that passes. */
  limitPerHour: number;
  pass: boolean;
}

/** Start-up, the first energy reads and the JIT settle in this long; a leak shows in what comes after. */
const WARM_UP_MS = 2 * 60_000;

/**
 * The least-squares slope per hour of a series after the warm-up (or its last 80 % on a short run). A slope is what a
 * leak is; a single high sample (a GC that came late) barely moves it, as it moved the old "growth over the second
 * half" that needed a leak of ~190 MB/h in a 5-minute run to show.
 */
function trend(metric: string, unit: string, points: Array<{ t: number; v: number }>, limitPerHour: number): Trend {
  const t0 = points[0]?.t ?? 0;
  const span = (points.at(-1)?.t ?? t0) - t0;
  const settled = points.filter((p) => p.t >= t0 + Math.min(WARM_UP_MS, span * 0.2));
  const perHour = slope(
    settled.map((p) => (p.t - t0) / 3_600_000),
    settled.map((p) => p.v),
  );
  return { metric, unit, first: points[0]?.v ?? NaN, last: points.at(-1)?.v ?? NaN, slopePerHour: perHour, limitPerHour, pass: settled.length >= 3 && perHour <= limitPerHour };
}

function analyse(
  opts: Options,
  samples: Sample[],
  watches: PollWatch[],
  sims: SimulatedPlug[],
  faultable: SimulatedPlug[],
  faultLog: Array<{ plug: number; fault: string; from: number; to: number }>,
  toggles: Array<{ healthy: boolean; status: number; ms: number; at: number }>,
  began: number,
  endAt: number,
  logs: string[],
  alive: boolean,
): { pass: boolean; text: string; summary: unknown } {
  const pollMs = opts.pollS * 1000;
  const series = (f: (s: Sample) => number | undefined): Array<{ t: number; v: number }> =>
    samples.map((s) => ({ t: s.t, v: f(s) ?? NaN })).filter((p) => Number.isFinite(p.v));
  const count = (s: Sample, type: string): number => s.resources[type] ?? 0;
  const handles = (s: Sample): number => Object.values(s.resources).reduce((a, b) => a + b, 0);
  const trends = [
    // The heap after a full GC is the honest leak signal; RSS follows the allocator and wanders more.
    trend('heap used (after GC)', 'MB', series((s) => s.heapUsed / MB), 6),
    trend('RSS', 'MB', series((s) => s.rss / MB), 20),
    trend('external + array buffers', 'MB', series((s) => s.external / MB), 6),
    trend('active handles', '', series(handles), 20),
    trend('timers', '', series((s) => s.timers), 20),
    trend('TCP sockets (handles)', '', series((s) => count(s, 'TCPSocketWrap')), 20),
    trend('socket fds (/proc)', '', series((s) => s.socketFds), 20),
    trend('fds (/proc)', '', series((s) => s.fds), 20),
  ];

  // Polls: gaps between poll starts of the plugs that never had a fault, inside the run.
  const faultyIdx = new Set(faultable.map((s) => sims.indexOf(s)));
  // The second poll of each plug lands at a random point of the interval (plug.ts spreads them), so count from later.
  const from = began + pollMs;
  const healthyGaps: number[] = [];
  let missed = 0;
  sims.forEach((_, i) => {
    if (faultyIdx.has(i)) return;
    for (const gap of watches[i].intervals(from, endAt)) {
      healthyGaps.push(gap);
      if (gap > 1.5 * pollMs) missed++;
    }
  });
  const pollsPerHealthyPlug = sims.map((_, i) => (faultyIdx.has(i) ? NaN : watches[i].starts.filter((t) => t >= from && t < endAt).length)).filter(Number.isFinite);
  const expectedPolls = Math.floor((endAt - from) / pollMs);
  const starved = pollsPerHealthyPlug.filter((n) => n < expectedPolls - 1).length;

  const healthyToggles = toggles.filter((t) => t.healthy);
  const faultyToggles = toggles.filter((t) => !t.healthy);
  const lagP99 = samples.map((s) => s.lag.p99);
  const lagMax = samples.map((s) => s.lag.max);
  const crashes = crashLines(logs);

  const checks = [
    { what: 'Homebridge alive at the end', pass: alive },
    { what: 'no crash, unhandled rejection or stack trace in the log', pass: crashes.length === 0, detail: crashes.slice(0, 3).join(' | ') },
    ...trends.map((t) => ({ what: `no growth: ${t.metric}`, pass: t.pass, detail: `${t.slopePerHour.toFixed(2)} ${t.unit} per hour after the warm-up (limit ${t.limitPerHour})` })),
    { what: 'no missed polls on healthy plugs', pass: missed === 0 && starved === 0, detail: `${missed} gaps > 1.5× interval, ${starved} plugs short of polls` },
    { what: 'every toggle of a healthy plug done', pass: healthyToggles.every((t) => t.status === 0), detail: `${healthyToggles.filter((t) => t.status !== 0).length} failed of ${healthyToggles.length}` },
    { what: 'event-loop lag p99 under 100 ms in every sample', pass: Math.max(0, ...lagP99) < 100, detail: `worst p99 ${Math.max(0, ...lagP99).toFixed(1)} ms, worst max ${Math.max(0, ...lagMax).toFixed(1)} ms` },
  ];
  const pass = checks.every((c) => c.pass);

  const rows = samples.filter((_, i) => i % Math.max(1, Math.round(60 / opts.sampleS)) === 0 || i === samples.length - 1);
  const lines: string[] = [];
  lines.push(`\n## Soak: ${opts.plugs} plugs (${faultable.length} with faults), ${opts.minutes} min, poll ${opts.pollS} s\n`);
  lines.push('| min | RSS MB | heap MB | ext MB | lag p99/max ms | handles | timers | TCP sockets | socket fds | fds |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of rows) {
    lines.push(
      `| ${((s.t - began) / 60_000).toFixed(1)} | ${(s.rss / MB).toFixed(1)} | ${(s.heapUsed / MB).toFixed(1)} | ${(s.external / MB).toFixed(1)} | ${s.lag.p99.toFixed(1)}/${s.lag.max.toFixed(1)} | ${handles(s)} | ${s.timers} | ${count(s, 'TCPSocketWrap')} | ${s.socketFds ?? '—'} | ${s.fds ?? '—'} |`,
    );
  }
  lines.push('\n| trend (after warm-up) | first | last | slope per hour | limit per hour | |');
  lines.push('|---|---|---|---|---|---|');
  for (const t of trends) {
    lines.push(`| ${t.metric} ${t.unit && `(${t.unit})`} | ${t.first.toFixed(1)} | ${t.last.toFixed(1)} | ${t.slopePerHour.toFixed(2)} | ${t.limitPerHour} | ${t.pass ? 'ok' : 'GROWS'} |`);
  }
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  lines.push(
    `\nPolls of the ${pollsPerHealthyPlug.length} healthy plugs: ${healthyGaps.length} intervals, p50 ${ms(percentile(healthyGaps, 50))}, p99 ${ms(percentile(healthyGaps, 99))}, max ${ms(Math.max(0, ...healthyGaps))}; ${missed} missed.`,
  );
  lines.push(
    `Toggles: ${healthyToggles.length} to healthy plugs (p50 ${ms(percentile(healthyToggles.map((t) => t.ms), 50))}, p99 ${ms(percentile(healthyToggles.map((t) => t.ms), 99))}, ${healthyToggles.filter((t) => t.status !== 0).length} failed); ` +
      `${faultyToggles.length} to plugs with faults (${faultyToggles.filter((t) => t.status === 0).length} done, ${faultyToggles.filter((t) => t.status === -70402).length} No Response).`,
  );
  lines.push(`Faults played: ${faultLog.length} (${Object.entries(faultLog.reduce<Record<string, number>>((m, f) => ((m[f.fault] = (m[f.fault] ?? 0) + 1), m), {})).map(([k, v]) => `${k} ×${v}`).join(', ')}).`);
  lines.push('\n| check | result | detail |');
  lines.push('|---|---|---|');
  for (const c of checks) lines.push(`| ${c.what} | ${c.pass ? 'PASS' : 'FAIL'} | ${'detail' in c ? (c.detail ?? '') : ''} |`);
  lines.push(`\nVerdict: ${pass ? 'PASS' : 'FAIL'}\n`);
  const summary = {
    options: opts,
    pass,
    trends,
    polls: { healthyPlugs: pollsPerHealthyPlug.length, intervals: healthyGaps.length, p50: percentile(healthyGaps, 50), p99: percentile(healthyGaps, 99), missed, starved },
    toggles: { healthy: healthyToggles.length, healthyFailed: healthyToggles.filter((t) => t.status !== 0).length, faulty: faultyToggles.length },
    faults: faultLog.length,
    lag: { worstP99: Math.max(0, ...lagP99), worstMax: Math.max(0, ...lagMax) },
    checks,
  };
  return { pass, text: lines.join('\n'), summary };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    progress(`soak failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
