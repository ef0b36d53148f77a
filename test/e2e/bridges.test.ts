/**
 * Several MerossLan blocks, each a child bridge (its own process), in one real Homebridge 2.4, sharing
 * `<storage>/meross-lan/`: the embedded broker runs once per port (the second block says so in one line and keeps
 * polling over HTTP), a plug listed in both blocks runs in one and is refused in the other with one line naming the
 * plug and the block that runs it, and on SIGTERM every process is gone with its claims released.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedPlug } from '../../src/simulator';
import { Homebridge, freePort } from './homebridge';
import { assertCleanLogs, stopTimed } from './verification.e2e';

const POLL_S = 1;

describe('several MerossLan blocks as child bridges (Homebridge 2.4)', () => {
  const sims: SimulatedPlug[] = [];
  let upstairs: SimulatedPlug;
  let downstairs: SimulatedPlug;
  let shared: SimulatedPlug;
  let hb: Homebridge;
  let brokerPort = 0;
  /** The block that runs the shared plug (the first to claim it). */
  let runsIn = '';
  let platforms: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [upstairs, downstairs, shared] = await Promise.all([SimulatedPlug.start({ on: true }), SimulatedPlug.start({ on: false }), SimulatedPlug.start({ on: true })]);
    sims.push(upstairs, downstairs, shared);
    brokerPort = await freePort();
    const block = async (name: string, mac: string, own: SimulatedPlug): Promise<Record<string, unknown>> => ({
      platform: 'MerossLan',
      name,
      pollInterval: POLL_S,
      timeout: 1,
      push: { enabled: true, port: brokerPort, bind: '127.0.0.1', userId: '777' },
      devices: [
        { name: `${name} plug`, host: own.address, key: own.key, uuid: own.uuid },
        // The same plug in both blocks, by host only in one of them: its uuid is learned from its answer.
        name === 'Upstairs' ? { name: 'Shared plug', host: shared.address, key: shared.key, uuid: shared.uuid } : { name: 'Shared plug', host: shared.address, key: shared.key },
      ],
      _bridge: { username: mac, port: await freePort() },
    });
    platforms = [await block('Upstairs', '0E:42:52:49:44:01', upstairs), await block('Downstairs', '0E:42:52:49:44:02', downstairs)];
    hb = await Homebridge.start({ platforms, echo: process.env.E2E_ECHO === '1' });
    await hb.waitForLog(/\[Upstairs\] Watching 2 Meross plugs/, 20_000);
    await hb.waitForLog(/\[Downstairs\] Watching \d Meross plugs/, 20_000);
  });

  afterAll(async () => {
    if (hb?.running) await hb.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('runs the embedded broker once per port: the other block says so in one line and polls over HTTP', async () => {
    await hb.waitForLog(new RegExp(`Local push: listening on 127\\.0\\.0\\.1:${brokerPort}`), 10_000);
    await hb.waitForLog(new RegExp(`Local push: port ${brokerPort} is already served by the MerossLan block`), 10_000);
    const lines = hb.logs.filter((l) => l.includes(`port ${brokerPort} is already served`));
    expect(lines).toHaveLength(1);
    expect(hb.logs.filter((l) => /Local push: listening on/.test(l))).toHaveLength(1);
    expect(hb.logs.join('\n')).not.toMatch(/EADDRINUSE|Local push: cannot start/);
    // Both blocks keep polling their own plugs.
    const mark = { up: upstairs.requests.length, down: downstairs.requests.length };
    await new Promise((r) => setTimeout(r, (POLL_S + 1) * 1000));
    expect(upstairs.requests.length).toBeGreaterThan(mark.up);
    expect(downstairs.requests.length).toBeGreaterThan(mark.down);
  });

  it('runs a plug listed in both blocks in one of them; the other says which block runs it, once', async () => {
    await hb.waitForLog(new RegExp(`\\(${shared.uuid}\\): already run by the MerossLan block "(Upstairs|Downstairs)"`), 15_000);
    // A few polls later: still exactly one line, and exactly one block published the plug.
    await new Promise((r) => setTimeout(r, (POLL_S + 1) * 1000));
    const refusals = hb.logs.filter((l) => l.includes(`(${shared.uuid}): already run by`));
    expect(refusals).toHaveLength(1);
    const [, refusedIn, owner] = refusals[0].match(/\[(\w+)\] .*block "(\w+)"/) ?? [];
    runsIn = owner;
    expect(new Set([refusedIn, runsIn])).toEqual(new Set(['Upstairs', 'Downstairs']));
    expect(hb.logs.filter((l) => /Shared plug: added to HomeKit/.test(l))).toHaveLength(1);
    expect(hb.logs.some((l) => l.includes(`[${runsIn}] Shared plug: added to HomeKit`))).toBe(true);
    // (The refused block read the plug once to learn its uuid; it publishes nothing and never reports it online.)
    expect(hb.logs.filter((l) => l.includes(`[${refusedIn}] Shared plug`) && /added to HomeKit|back online|connected|removed/.test(l))).toEqual([]);
  });

  it('a child bridge killed outright is restarted by Homebridge and takes its own plugs back (stale claims)', async () => {
    const claimFile = join(hb.storageDir, 'meross-lan', 'claims', `plug-${shared.uuid}.json`);
    const before = JSON.parse(readFileSync(claimFile, 'utf8')) as { pid: number; block: string };
    expect(before.block).toBe(runsIn);
    const mark = hb.logs.length;
    process.kill(before.pid, 'SIGKILL');
    // Homebridge restarts a child bridge that died by a signal at once; it finds its claims left by a dead process.
    await hb.waitForLog(new RegExp(`\\[${runsIn}\\] Watching 2 Meross plugs`), 30_000, mark);
    const polled = shared.requests.length;
    await new Promise((r) => setTimeout(r, (POLL_S + 1) * 1000));
    expect(shared.requests.length).toBeGreaterThan(polled);
    expect(hb.logs.slice(mark).filter((l) => /already run by/.test(l))).toEqual([]);
    const after = JSON.parse(readFileSync(claimFile, 'utf8')) as { pid: number; block: string };
    expect(after.block).toBe(runsIn);
    expect(after.pid).not.toBe(before.pid);
  });

  it('logs no stack trace; on SIGTERM every process is gone within 12 s and the claims are released', async () => {
    assertCleanLogs(hb.logs);
    expect(hb.childPids.length).toBeGreaterThanOrEqual(2);
    const ms = await stopTimed(hb);
    console.log(`two child bridges: SIGTERM to exit ${Math.round(ms)} ms`);
    // Each block finished its shutdown (files saved, broker closed) before its process ended.
    expect(hb.logs.filter((l) => /\[(Upstairs|Downstairs)\] Stopped: \d plugs? saved/.test(l))).toHaveLength(2);
    const claims = join(hb.storageDir, 'meross-lan', 'claims');
    expect(existsSync(claims) ? readdirSync(claims) : []).toEqual([]);

    // An immediate restart on the same storage: the same ports, one broker, one refusal, no stale claim in the way.
    hb = await Homebridge.start({ platforms, storageDir: hb.storageDir, port: hb.port, username: hb.username, echo: process.env.E2E_ECHO === '1' });
    await hb.waitForLog(new RegExp(`Local push: listening on 127\\.0\\.0\\.1:${brokerPort}`), 20_000);
    await hb.waitForLog(new RegExp(`Local push: port ${brokerPort} is already served`), 20_000);
    await hb.waitForLog(new RegExp(`\\(${shared.uuid}\\): already run by`), 20_000);
    for (const block of platforms) {
      const { port } = block._bridge as { port: number };
      await hb.waitForLog(new RegExp(`\\(${block.name as string}\\) is running on port ${port}`), 20_000);
    }
    expect(hb.logs.join('\n')).not.toMatch(/EADDRINUSE|could not be read|\.corrupt/);
    assertCleanLogs(hb.logs);
    const again = await stopTimed(hb);
    console.log(`two child bridges after a restart: SIGTERM to exit ${Math.round(again)} ms`);
  }, 60_000);
});
