/**
 * The client against the simulated encrypted-firmware plug (mss110 hw 7.0.0 / fw 7.3.37, profiles/mss110.ts) on a
 * real loopback socket: the clear Ability, the key from its uuid, encrypted requests and replies, and the firmware's
 * reset of plain requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { probe } from '../../src/discovery/probe';
import { MerossClient } from '../../src/meross/client';
import { ConnectionDroppedError, WrongKeyError } from '../../src/meross/errors';
import { SimulatedPlug } from '../../src/simulator';
import { message, rawExchange, rawRequest } from '../simulator/helpers';

const plugs: SimulatedPlug[] = [];
afterEach(async () => {
  await Promise.all(plugs.splice(0).map((p) => p.stop()));
});

async function encryptedPlug(on = false): Promise<SimulatedPlug> {
  const plug = await SimulatedPlug.start({ model: 'mss110', on, key: '0123456789abcdef0123456789abcdef' });
  plugs.push(plug);
  return plug;
}

describe('simulated mss110 (encrypted firmware 7.3.37)', () => {
  it('answers a plain System.Ability in clear, naming ECDHE, no metering and its uuid', async () => {
    const plug = await encryptedPlug();
    const { bytes, error } = await rawExchange(plug, rawRequest(message(plug, 'Appliance.System.Ability', 'GET', {})));
    expect(error).toBeUndefined();
    const text = bytes.toString('utf8');
    const reply = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { header: { from: string }; payload: { ability: Record<string, unknown> } };
    expect(reply.header.from).toBe(`/appliance/${plug.uuid}/publish`);
    expect(Object.keys(reply.payload.ability)).toEqual(expect.arrayContaining(['Appliance.Encrypt.ECDHE', 'Appliance.Encrypt.Suite', 'Appliance.Control.ToggleX']));
    expect(reply.payload.ability).not.toHaveProperty('Appliance.Control.Electricity');
    expect(reply.payload.ability).not.toHaveProperty('Appliance.Control.ConsumptionX');
  });

  it('resets the connection on any other plain request, without a byte of reply', async () => {
    const plug = await encryptedPlug();
    for (const [ns, payload] of [
      ['Appliance.System.All', { all: {} }],
      ['Appliance.Control.ToggleX', { togglex: { channel: 0, onoff: 1 } }],
    ] as const) {
      const { bytes, error } = await rawExchange(plug, rawRequest(message(plug, ns, ns.endsWith('All') ? 'GET' : 'SET', payload)));
      expect(bytes.length, ns).toBe(0);
      expect(error?.code, ns).toBe('ECONNRESET');
    }
    expect(plug.isOn).toBe(false);
    expect(plug.requests).toHaveLength(0);
  });
});

describe('MerossClient with an encrypted plug', () => {
  it('reads the clear Ability, then encrypts: System.All, ToggleX read and switch', async () => {
    const plug = await encryptedPlug(false);
    const notices: string[] = [];
    const client = new MerossClient({ host: plug.address, key: plug.key, retries: 0, notice: (m) => notices.push(m) });
    const abilities = await client.ability();
    expect(abilities.encrypted).toBe(true);
    expect(abilities.electricity).toBe(false);
    expect(client.uuid).toBe(plug.uuid);
    const info = await client.systemAll();
    expect(info).toMatchObject({ uuid: plug.uuid, model: 'mss110', hardwareVersion: '7.0.0', firmwareVersion: '7.3.37', on: false });
    expect(await client.getOn()).toBe(false);
    await client.setOn(true);
    expect(plug.isOn).toBe(true);
    expect(await client.getOn()).toBe(true);
    const poll = await client.poll();
    expect(poll).toEqual({ on: true, relays: new Map([[0, true]]), electricity: undefined });
    // The first Ability went in clear, everything after it encrypted.
    expect(plug.requests.map((r) => [r.namespace, r.encrypted])).toEqual([
      ['Appliance.System.Ability', false],
      ['Appliance.System.All', true],
      ['Appliance.Control.ToggleX', true],
      ['Appliance.Control.ToggleX', true],
      ['Appliance.Control.ToggleX', true],
      ['Appliance.Control.ToggleX', true],
    ]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/encrypts its local messages.*not a real plug/);
    expect(notices[0]).not.toContain(plug.key);
  });

  it('identifies the plug from a plain System.All (as a LAN scan does): reset, then Ability, then encrypted', async () => {
    const plug = await encryptedPlug(true);
    const client = new MerossClient({ host: plug.address, key: plug.key, retries: 0 });
    const info = await client.systemAll();
    expect(info.uuid).toBe(plug.uuid);
    expect(info.on).toBe(true);
    const found = await probe(plug.host, plug.port, ['wrong-key', plug.key]);
    expect(found).toMatchObject({ uuid: plug.uuid, model: 'mss110', firmware: '7.3.37', keyOk: true, keyIndex: 1 });
  });

  it('a wrong key is refused on the clear Ability, naming the plug but not the key', async () => {
    const plug = await encryptedPlug();
    const client = new MerossClient({ host: plug.address, key: 'not-the-key', retries: 0 });
    const error = await client.ability().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongKeyError);
    expect(String((error as Error).message)).not.toContain('not-the-key');
    expect(String((error as Error).message)).not.toContain(plug.key);
  });

  it('a client handed the abilities and uuid (a plug that moved) encrypts from its first request', async () => {
    const plug = await encryptedPlug();
    const first = new MerossClient({ host: plug.address, key: plug.key, retries: 0 });
    await first.ability();
    const moved = new MerossClient({ host: plug.address, key: plug.key, uuid: first.uuid, retries: 0 });
    moved.abilities = first.abilities;
    expect(await moved.getOn()).toBe(false);
    expect(plug.requests.at(-1)).toMatchObject({ namespace: 'Appliance.Control.ToggleX', encrypted: true });
  });

  it('a plain request, as a client without encryption sends it, is refused the way the firmware refuses it', async () => {
    const plug = await encryptedPlug();
    const plain = new MerossClient({ host: plug.address, key: plug.key, retries: 0 });
    // A ToggleX read sent before the client knows the plug's abilities cannot be encrypted: the plug resets it.
    plain.abilities = { ...(await new MerossClient({ host: plug.address, key: plug.key }).ability()), encrypted: false };
    const error = await plain.getOn().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionDroppedError);
    expect((error as Error).message).toContain('closed the connection without a reply');
  });
});
