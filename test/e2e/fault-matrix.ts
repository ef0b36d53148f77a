/**
 * The machinery behind faults.test.ts: a "lane" is one real Homebridge with two healthy simulated plugs and one
 * simulated plug per fault; the faults are applied one after the other, each to its own plug, while the lane
 * measures what HomeKit shows for the faulty plug and how the healthy ones fare. Several lanes run at once.
 *
 * Everything here records what happened instead of asserting, so that one surprise still leaves a complete
 * table; faults.test.ts asserts on the records.
 */
import type { HttpClient } from 'hap-controller';
import { SimulatedPlug, type Fault, type RequestRecord } from '../../src/simulator';
import { accessoryBySerial, nextEvent, read, readOne, TYPES, write, type AccessoryView } from './hap';
import { Homebridge } from './homebridge';
import { crashLines, PollWatch } from './stats';

export const POLL_S = 1;
export const TIMEOUT_S = 1;
export const ENERGY_POLL_S = 2;
export const NO_RESPONSE = -70402;

/** The simulated plug under fault; the wrong-key case swaps the simulator behind the same address. */
export class FaultyPlug {
  readonly requests: RequestRecord[] = [];
  readonly polls: PollWatch;
  private readonly record = (r: RequestRecord): void => void this.requests.push(r);

  constructor(
    public sim: SimulatedPlug,
    readonly name: string,
  ) {
    sim.on('request', this.record);
    this.polls = new PollWatch(sim);
  }

  /** Replaces the simulator with another one on the same port (same uuid, another key: a re-paired plug). */
  async swap(options: { key: string }): Promise<void> {
    const old = this.sim;
    const on = old.isOn;
    await old.stop();
    old.off('request', this.record);
    const next = await SimulatedPlug.start({ port: old.port, uuid: old.uuid, mac: old.mac, key: options.key, firmware: old.firmware, on });
    next.on('request', this.record);
    this.polls.follow(next);
    this.sim = next;
  }

  sets(since = 0): RequestRecord[] {
    return this.requests.filter((r) => r.at >= since && r.method === 'SET' && r.namespace !== 'Appliance.Control.Multiple');
  }
}

export interface FaultCase {
  id: string;
  /** Row label in the table. */
  title: string;
  /** During the fault: No Response (reads fail), or the plug stays readable (every-other, unsynced clock). */
  expect: 'no-response' | 'online';
  /** How long an answer already on its way may still take once the fault ends (a delayed reply). */
  inFlightMs?: number;
  /**
   * What a HomeKit toggle during the fault does, pinned per fault:
   * - `done`: the plug answers; the write succeeds and the relay switched;
   * - `answer-lost`: the plug switched on the SET, but its answer never arrived (it hangs, is late, garbled, cut):
   *   No Response, and the plugin does not claim the new state;
   * - `unreached`: no connection, no SET: No Response, relay untouched;
   * - `refused`: wrong key or device, or not a Meross reply: refused at once, nothing sent (never switch a stranger's plug);
   * - `by-turn` (every other request unanswered): the SET is answered on an even turn and lost on an odd one; which
   *   turn it gets is set by the plugin's own polls, so the test reads the turn and checks the outcome that belongs to it.
   */
  toggle: 'done' | 'answer-lost' | 'unreached' | 'refused' | 'by-turn';
  start(p: FaultyPlug): Promise<void>;
  end(p: FaultyPlug, hb: Homebridge): Promise<void>;
  /**
   * For a fault with a rhythm of its own (flapping): hold it in one phase, known to the plugin, while HomeKit reads
   * and toggles, so what they see does not depend on where in the rhythm they land; `resume` lets it run on.
   */
  hold?(p: FaultyPlug, hb: Homebridge): Promise<void>;
  resume?(p: FaultyPlug): Promise<void>;
  /** Explanation for the table, where the behaviour needs one. */
  note?: string;
}

export const setFault =
  (fault: Fault): FaultCase['start'] =>
  (p) =>
    p.sim.setFault(fault);
export const clearFault: FaultCase['end'] = (p) => p.sim.setFault(null);

/** Reachable and unreachable in turn every `periodMs` (the fault's own rhythm, so timers are the point here). */
export function flapping(periodMs: number): Pick<FaultCase, 'start' | 'end' | 'hold' | 'resume'> {
  let timer: NodeJS.Timeout | undefined;
  let down = false;
  const run = (p: FaultyPlug): void => {
    timer = setInterval(() => {
      down = !down;
      void p.sim.setFault(down ? { type: 'offline' } : null);
    }, periodMs);
  };
  return {
    start: async (p) => {
      down = true;
      await p.sim.setFault({ type: 'offline' });
      run(p);
    },
    // Held down, and seen offline by the plugin, while HomeKit reads and toggles: a toggle that landed in an up
    // phase would simply work, one in a down phase could not reach the plug.
    hold: async (p, hb) => {
      clearInterval(timer);
      down = true;
      await p.sim.setFault({ type: 'offline' });
      if (plugState(hb, p.name) !== 'offline') await hb.waitForLog(offlineLine(p.name), 10_000, lastStateLine(hb, p.name) + 1);
    },
    resume: async (p) => run(p),
    end: async (p, hb) => {
      clearInterval(timer);
      // End in an outage the plugin has noticed, so that "recovered in" measures a real comeback.
      await p.sim.setFault({ type: 'offline' });
      if (plugState(hb, p.name) !== 'offline') await hb.waitForLog(offlineLine(p.name), 10_000, lastStateLine(hb, p.name) + 1);
      await p.sim.setFault(null);
    },
  };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** How the plugin announces that a plug went away (plug.ts markOffline). */
export function offlineLine(name: string): RegExp {
  return new RegExp(`${escape(name)}: .*(No Response until it answers again|rejected the device key|a different Meross device|unexpected error)`);
}

function backOnlineLine(name: string): RegExp {
  return new RegExp(`${escape(name)}: back online`);
}

function lastStateLine(hb: Homebridge, name: string): number {
  const off = offlineLine(name);
  const on = backOnlineLine(name);
  for (let i = hb.logs.length - 1; i >= 0; i--) if (off.test(hb.logs[i]) || on.test(hb.logs[i])) return i;
  return -1;
}

/** The plug's reachability as the plugin last announced it. */
export function plugState(hb: Homebridge, name: string): 'online' | 'offline' {
  const i = lastStateLine(hb, name);
  return i >= 0 && offlineLine(name).test(hb.logs[i]) ? 'offline' : 'online';
}

/** Homebridge's log lines with the time this process received them, for durations the log's 1 s stamps cannot give. */
class LineClock {
  readonly lines: Array<{ at: number; line: string }> = [];
  private buffered = '';
  private readonly onData = (chunk: Buffer): void => {
    const parts = (this.buffered + chunk.toString('utf8')).split('\n');
    this.buffered = parts.pop() ?? '';
    const at = performance.now();
    for (const line of parts) this.lines.push({ at, line });
  };

  constructor(private readonly hb: Homebridge) {
    hb.child.stdout?.on('data', this.onData);
    hb.child.stderr?.on('data', this.onData);
  }

  /** Outages of `name` that began in [from, to): how long each lasted until "back online" (Infinity if it did not). */
  outages(name: string, from: number, to: number): number[] {
    const off = offlineLine(name);
    const on = backOnlineLine(name);
    const out: number[] = [];
    let began: number | undefined;
    for (const { at, line } of this.lines) {
      if (off.test(line) && began === undefined && at >= from && at < to) began = at;
      else if (on.test(line) && began !== undefined) {
        out.push(at - began);
        began = undefined;
      }
    }
    if (began !== undefined) out.push(Infinity);
    return out;
  }

  stop(): void {
    this.hb.child.stdout?.off('data', this.onData);
    this.hb.child.stderr?.off('data', this.onData);
  }
}

/**
 * A handful of samples (6 toggles during a fault, 10 at the baseline, a dozen or two poll gaps): their largest is all
 * they can tell, and it is called what it is. A p99 needs a hundred samples or more.
 */
export interface Distribution {
  n: number;
  max: number;
}

function distribution(values: number[]): Distribution {
  return { n: values.length, max: values.length ? Math.max(...values) : NaN };
}

export interface Health {
  /** Gaps between poll starts of the healthy plugs (their simulators' clocks), ms. */
  poll: Distribution;
  /** HAP write round trips of On for the healthy plugs, ms. */
  toggle: Distribution;
  toggleFailures: number;
}

export interface ToggleOutcome {
  target: boolean;
  status: number;
  latencyMs: number;
  relayBefore: boolean;
  relayAfterWrite: boolean;
  /** SETs the plug received for this write. */
  setsSent: number;
  /** On, read right after the write (status, value) — No Response or the state the plug confirmed. */
  readAfter: { status: number; value: unknown };
  /** HAP events for On during the fault that claimed the requested state while the relay did not have it. */
  phantomEvents: number;
  /** The SET's place (1-based) among the requests the plug received since the fault began; undefined if none came. */
  turn?: number;
}

export interface FaultResult {
  id: string;
  title: string;
  expect: FaultCase['expect'];
  note?: string;
  /** The case expects the plugin to refuse a toggle without sending it. */
  refusedToggle: boolean;
  /** All the Outlet's characteristics read during the fault, by type: their HAP status (0 = a value). */
  statuses: Record<string, number>;
  /** The values read when the plug stayed readable. */
  values: Record<string, unknown>;
  detectedMs?: number;
  /** Unsynced clock: Eve total kWh before / during the fault. */
  energy?: { before: number; during: number; after?: number };
  /** Every-other: how often the plugin announced an outage during the fault. */
  outagesDuringFault: number;
  /** How long each outage that began during the fault lasted, ms (for the faults where the plug stays online). */
  outageMs: number[];
  toggle?: ToggleOutcome;
  /** Fault end → the plugin's "back online" (or, for unsynced clock, the first real reading), ms. */
  recoveredMs?: number;
  recoveryBoundMs: number;
  /** After recovery: On read via HAP vs the simulator's relay. */
  afterRecovery?: { status: number; value: unknown; relay: boolean };
  others: Health;
  errors: string[];
}

export interface LaneResult {
  name: string;
  baseline: Health;
  results: FaultResult[];
  alive: boolean;
  crashLines: string[];
  errors: string[];
  /** Homebridge's whole log, for the report file. */
  logs: string[];
}

const OUTLET_CHARS = {
  On: TYPES.On,
  OutletInUse: TYPES.OutletInUse,
  Power: TYPES.EvePower,
  Voltage: TYPES.EveVoltage,
  Current: TYPES.EveCurrent,
  Total: TYPES.EveTotal,
} as const;

/** Toggles each healthy plug a few times and returns the HAP round trips. */
async function toggleHealthy(hap: HttpClient, healthy: Array<{ sim: SimulatedPlug; view: AccessoryView }>, count: number): Promise<{ ms: number[]; failures: number }> {
  const ms: number[] = [];
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const { sim, view } = healthy[i % healthy.length];
    const target = !sim.isOn;
    const started = performance.now();
    const status = await write(hap, view.id(TYPES.Outlet, TYPES.On), target);
    ms.push(performance.now() - started);
    if (status !== 0 || sim.isOn !== target) failures++;
  }
  return { ms, failures };
}

function health(watches: PollWatch[], from: number, to: number, toggles: { ms: number[]; failures: number }): Health {
  return {
    poll: distribution(watches.flatMap((w) => w.intervals(from, to))),
    toggle: distribution(toggles.ms),
    toggleFailures: toggles.failures,
  };
}

/** One Homebridge, two healthy plugs, one plug per fault; runs the faults one after the other. */
export async function runLane(name: string, cases: FaultCase[]): Promise<LaneResult> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const lane: LaneResult = {
    name,
    baseline: { poll: distribution([]), toggle: distribution([]), toggleFailures: 0 },
    results: [],
    alive: false,
    crashLines: [],
    errors: [],
    logs: [],
  };
  try {
    const healthySims = await Promise.all([
      SimulatedPlug.start({ firmware: 2, on: true, watts: 40 }),
      SimulatedPlug.start({ firmware: 1, on: false, watts: 25 }),
    ]);
    const faultySims = await Promise.all(cases.map(() => SimulatedPlug.start({ firmware: 2, on: true, watts: 60.5 })));
    const faulty = faultySims.map((sim, i) => new FaultyPlug(sim, `${name} ${cases[i].id}`));
    cleanups.push(() => Promise.all([...healthySims, ...faulty.map((f) => f.sim)].map((s) => s.stop())));
    const healthyNames = [`${name} healthy fw2`, `${name} healthy fw1`];
    const hb = await Homebridge.start({
      platform: {
        pollInterval: POLL_S,
        timeout: TIMEOUT_S,
        energyPollInterval: ENERGY_POLL_S,
        devices: [
          ...healthySims.map((s, i) => ({ name: healthyNames[i], host: s.address, key: s.key })),
          ...faulty.map((f) => ({ name: f.name, host: f.sim.address, key: f.sim.key })),
        ],
      },
    });
    cleanups.push(() => hb.stop());
    await Promise.all([...healthyNames, ...faulty.map((f) => f.name)].map((n) => hb.waitForLog(new RegExp(`${n}: added to HomeKit`), 30_000)));
    const hap = await hb.pair();
    cleanups.push(() => hap.close());
    const healthy = await Promise.all(healthySims.map(async (sim) => ({ sim, view: await accessoryBySerial(hap, sim.uuid) })));
    const views = await Promise.all(faulty.map((f) => accessoryBySerial(hap, f.sim.uuid)));
    // One subscription for the whole lane, before any event flows: hap-controller loses its frame counter (and
    // spins forever) when a subscribe request crosses an event on the same connection.
    await hap.subscribeCharacteristics(views.flatMap((v) => [v.id(TYPES.Outlet, TYPES.On), v.id(TYPES.Outlet, TYPES.EveVoltage)]));
    const watches = healthySims.map((s) => new PollWatch(s));
    const clock = new LineClock(hb);
    cleanups.push(async () => {
      watches.forEach((w) => w.stop());
      clock.stop();
    });

    // Baseline: a few polls of each healthy plug, and toggles, before any fault.
    await Promise.all(watches.map((w) => w.next(1, 5000)));
    const baseFrom = Date.now();
    await toggleHealthy(hap, healthy, 4); // warm-up: the first writes set up the HAP session
    const baseToggles = await toggleHealthy(hap, healthy, 10);
    await Promise.all(watches.map((w) => w.next(4, 10_000)));
    lane.baseline = health(watches, baseFrom, Date.now(), baseToggles);

    for (let i = 0; i < cases.length; i++) {
      lane.results.push(await runFault(hb, clock, hap, cases[i], faulty[i], views[i], healthy, watches));
    }
    lane.alive = hb.running;
    lane.crashLines = crashLines(hb.logs);
    lane.logs = hb.logs;
  } catch (error) {
    lane.errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e: unknown) => lane.errors.push(`cleanup: ${String(e)}`));
  }
  return lane;
}

async function runFault(
  hb: Homebridge,
  clock: LineClock,
  hap: HttpClient,
  c: FaultCase,
  plug: FaultyPlug,
  view: AccessoryView,
  healthy: Array<{ sim: SimulatedPlug; view: AccessoryView }>,
  watches: PollWatch[],
): Promise<FaultResult> {
  const ids = Object.fromEntries(Object.entries(OUTLET_CHARS).map(([k, t]) => [k, view.id(TYPES.Outlet, t)])) as Record<keyof typeof OUTLET_CHARS, string>;
  const result: FaultResult = {
    id: c.id,
    title: c.title,
    expect: c.expect,
    note: c.note,
    refusedToggle: c.toggle === 'refused',
    statuses: {},
    values: {},
    outagesDuringFault: 0,
    outageMs: [],
    recoveryBoundMs: POLL_S * 1000 + (c.inFlightMs ?? 0) + 750,
    others: { poll: distribution([]), toggle: distribution([]), toggleFailures: 0 },
    errors: [],
  };
  const phantom = { count: 0, target: undefined as boolean | undefined };
  const onEvent = (ev: { characteristics: Array<{ aid: number; iid: number; value: unknown }> }): void => {
    for (const ch of ev.characteristics) {
      if (`${ch.aid}.${ch.iid}` === ids.On && phantom.target !== undefined && Boolean(ch.value) === phantom.target && plug.sim.isOn !== phantom.target) phantom.count++;
    }
  };
  try {
    hap.on('event', onEvent);
    const totalBefore = (await readOne(hap, ids.Total)).value as number;
    const mark = hb.logs.length;
    const faultFrom = Date.now();
    const t0 = performance.now();
    // Taken right before the fault is set: the simulator counts its every-other turns from that moment.
    const firstRequest = plug.requests.length;
    await c.start(plug);

    if (c.expect === 'no-response') {
      await hb.waitForLog(offlineLine(plug.name), 10_000, mark);
      result.detectedMs = performance.now() - t0;
    } else {
      // Stays readable: let it go through a few polls and an energy read under the fault first.
      await plug.polls.next(3, 15_000);
      if (c.id === 'unsynced-clock') await nextRequest(plug, 'Appliance.Control.ConsumptionX', 10_000).then(() => plug.polls.next(1, 5000));
    }
    await c.hold?.(plug, hb);
    const reads = await read(hap, Object.values(ids));
    for (const [k, id] of Object.entries(ids)) {
      result.statuses[k] = reads[id]?.status ?? 0;
      result.values[k] = reads[id]?.value;
    }
    if (c.id === 'unsynced-clock') result.energy = { before: totalBefore, during: result.values.Total as number };

    // A toggle during the fault.
    const relayBefore = plug.sim.isOn;
    const target = !relayBefore;
    const setsFrom = Date.now();
    const requestsBeforeToggle = plug.requests.length;
    phantom.target = target;
    const started = performance.now();
    const status = await write(hap, ids.On, target);
    const latencyMs = performance.now() - started;
    const relayAfterWrite = plug.sim.isOn;
    const readAfter = await readOne(hap, ids.On);
    result.toggle = {
      target,
      status,
      latencyMs,
      relayBefore,
      relayAfterWrite,
      setsSent: plug.sets(setsFrom).length,
      readAfter: { status: readAfter.status ?? 0, value: readAfter.value },
      phantomEvents: 0,
    };
    const setAt = plug.requests.findIndex((r, i) => i >= requestsBeforeToggle && r.method === 'SET' && r.namespace !== 'Appliance.Control.Multiple');
    if (setAt >= 0) result.toggle.turn = setAt - firstRequest + 1;
    await c.resume?.(plug);

    // The healthy plugs while the fault lasts: toggles, then a few polls each.
    const toggles = await toggleHealthy(hap, healthy, 6);
    await Promise.all(watches.map((w) => w.next(4, 10_000)));

    const faultTo = Date.now();
    result.others = health(watches, faultFrom, faultTo, toggles);
    result.outagesDuringFault = hb.logs.slice(mark).filter((l) => offlineLine(plug.name).test(l)).length;
    const outagesTo = performance.now();

    // End the fault and time the recovery.
    const wasOffline = plugState(hb, plug.name) === 'offline';
    const recoverMark = hb.logs.length;
    const energyEvent =
      // An unsynced plug reports 0 V as well; the mains voltage is back with the first real reading, relay on or off.
      c.id === 'unsynced-clock' ? nextEvent(hap, ids.Voltage, (v) => typeof v === 'number' && v > 0, 10_000) : undefined;
    energyEvent?.catch(() => undefined);
    const cleared = performance.now();
    await c.end(plug, hb);
    const endedAt = c.id === 'flapping' ? performance.now() : cleared;
    if (energyEvent) {
      result.recoveredMs = (await energyEvent).at - endedAt;
    } else if (c.id === 'flapping' || wasOffline) {
      const from = c.id === 'flapping' ? lastStateLine(hb, plug.name) : recoverMark;
      await hb.waitForLog(backOnlineLine(plug.name), 10_000, from);
      result.recoveredMs = performance.now() - endedAt;
    }
    // Settled: after a poll that saw the healthy plug, the value must be the relay's (no phantom left behind).
    await plug.polls.next(1, 5000);
    await plug.polls.next(1, 5000);
    if (c.expect === 'online') result.outageMs = clock.outages(plug.name, t0, outagesTo);
    const after = await readOne(hap, ids.On);
    result.afterRecovery = { status: after.status ?? 0, value: after.value, relay: plug.sim.isOn };
    if (c.id === 'unsynced-clock' && result.energy) result.energy.after = (await readOne(hap, ids.Total)).value as number;
  } catch (error) {
    result.errors.push(error instanceof Error ? error.message : String(error));
  } finally {
    hap.off('event', onEvent);
    if (result.toggle) result.toggle.phantomEvents = phantom.count;
  }
  return result;
}

function nextRequest(plug: FaultyPlug, namespace: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sim = plug.sim;
    const onRequest = (r: RequestRecord): void => {
      if (r.namespace !== namespace) return;
      clearTimeout(timer);
      sim.off('request', onRequest);
      resolve();
    };
    const timer = setTimeout(() => {
      sim.off('request', onRequest);
      reject(new Error(`no ${namespace} request within ${timeoutMs} ms`));
    }, timeoutMs);
    sim.on('request', onRequest);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const s = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);
const msText = (ms: number): string => (Number.isNaN(ms) ? '—' : `${ms.toFixed(0)} ms`);

function noResponseCell(r: FaultResult): string {
  const failing = Object.values(r.statuses).filter((v) => v === NO_RESPONSE).length;
  const all = Object.keys(r.statuses).length;
  if (r.expect === 'no-response') {
    return failing === all && all > 0 ? `yes, all ${all} characteristics (after ${s(r.detectedMs)})` : `NO: ${failing}/${all} failing`;
  }
  const outages =
    r.outagesDuringFault === 0
      ? 'never went offline'
      : `${r.outagesDuringFault} outage(s) of ${r.outageMs.map((ms) => s(ms)).join(', ')}, when the toggle's SET took the answered turn and a GET's retry got none`;
  if (r.id === 'unsynced-clock' && r.energy) {
    return `no, live 0 W (what the plug reports); total ${r.energy.before.toFixed(3)} → ${r.energy.during.toFixed(3)} kWh during (no invented energy), ${outages}`;
  }
  return `no: live values, ${outages}`;
}

function toggleCell(r: FaultResult): string {
  const t = r.toggle;
  if (!t) return '—';
  // Every other request unanswered: which outcome the SET gets depends on its turn, so the table names it.
  const turn = r.id === 'every-other' && t.turn !== undefined ? `SET on turn ${t.turn}, ` : '';
  if (t.status === 0) return `ok in ${msText(t.latencyMs)} (${turn}answered); relay ${t.relayAfterWrite === t.target ? 'switched' : 'NOT switched'}`;
  const sent =
    t.setsSent === 0
      ? r.refusedToggle
        ? 'refused at once, nothing sent'
        : 'nothing reached the plug'
      : t.relayAfterWrite === t.target
        ? 'the plug switched, but its answer was lost'
        : 'the plug did not switch';
  const readBack = t.readAfter.status === NO_RESPONSE ? 'reads No Response' : `reads back ${String(t.readAfter.value)}`;
  return `${t.status} after ${msText(t.latencyMs)} (${turn}${sent}); ${readBack}; next poll shows the relay${t.phantomEvents ? `; ${t.phantomEvents} PHANTOM events` : ''}`;
}

export function markdownTable(lanes: LaneResult[]): string {
  const rows = lanes.flatMap((l) => l.results.map((r) => ({ r, base: l.baseline })));
  rows.sort((a, b) => ORDER.indexOf(a.r.id) - ORDER.indexOf(b.r.id));
  const lines = [
    `| fault | No Response | recovered in | others' longest poll gap (baseline) | others' slowest toggle (baseline) | toggle during fault |`,
    '|---|---|---|---|---|---|',
  ];
  for (const { r, base } of rows) {
    const recovered =
      r.recoveredMs === undefined ? (r.expect === 'online' ? 'n/a (stayed online)' : '—') : `${s(r.recoveredMs)}${r.id === 'unsynced-clock' ? ' (first real reading)' : ''}`;
    const title = r.note ? `${r.title} — ${r.note}` : r.title;
    lines.push(
      `| ${title} | ${noResponseCell(r)} | ${recovered} | ${s(r.others.poll.max)} (${s(base.poll.max)}) | ${msText(r.others.toggle.max)} (${msText(base.toggle.max)}) | ${toggleCell(r)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const ORDER = ['offline', 'hang', 'delay', 'garbage', 'reset', 'oversize', 'wrong-key', 'unsynced-clock', 'wrong-uuid', 'flapping', 'every-other'];
