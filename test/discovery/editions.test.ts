import { describe, expect, it } from 'vitest';
import { NativeEditionGate, nativeEdition, skipLine } from '../../src/discovery/editions';

describe('nativeEdition', () => {
  it('recognises HomeKit editions by model and major hardware version, as homebridge-meross hkNativeHardware does', () => {
    // The mss100 trace's cloud entry: deviceType mss110, hdwareVersion 7.0.0.
    expect(nativeEdition({ model: 'mss110', hardwareVersion: '7.0.0' })).toMatchObject({ kind: 'homekit', why: 'MSS110 hardware 7.x is a HomeKit edition' });
    expect(nativeEdition({ model: 'MSS210', hardwareVersion: '4.0.0' })?.kind).toBe('homekit');
    expect(nativeEdition({ model: 'mss620', hardwareVersion: '7.1.0' })?.kind).toBe('homekit');
    expect(nativeEdition({ model: 'mss110r', hardwareVersion: '4.0.0' })?.kind).toBe('homekit');
  });

  it('leaves the other hardware generations of the same models alone', () => {
    expect(nativeEdition({ model: 'mss110', hardwareVersion: '2.0.0' })).toBeUndefined();
    expect(nativeEdition({ model: 'mss210', hardwareVersion: '1.0.0' })).toBeUndefined();
    expect(nativeEdition({ model: 'mss110r', hardwareVersion: '7.0.0' })).toBeUndefined();
  });

  it('leaves every MSS310 and the traced mss305 8.0.0 / mss210 1.0.0 alone', () => {
    for (const hw of ['1.0.0', '2.0.0', '6.0.0', '8.0.0']) expect(nativeEdition({ model: 'mss310', hardwareVersion: hw }), hw).toBeUndefined();
    expect(nativeEdition({ model: 'mss305', hardwareVersion: '8.0.0' })).toBeUndefined();
    expect(nativeEdition({ model: 'mss210', hardwareVersion: '1.0.0' })).toBeUndefined();
  });

  it('recognises HomeKit firmware from System.All firmware.homekitVersion (mss100 trace: "6.3")', () => {
    expect(nativeEdition({ model: 'mss999', hardwareVersion: '9.0.0', homekitVersion: '6.3' })).toMatchObject({ kind: 'homekit', why: 'MSS999 runs HomeKit firmware (homekitVersion 6.3)' });
  });

  it('recognises Matter editions by the Appliance.Config.Matter namespace or the MSS315 model', () => {
    expect(nativeEdition({ model: 'mss310', hardwareVersion: '2.0.0', namespaces: ['Appliance.System.All', 'Appliance.Config.Matter'] })?.kind).toBe('matter');
    expect(nativeEdition({ model: 'MSS315', hardwareVersion: '9.0.0' })).toMatchObject({ kind: 'matter', why: 'MSS315 is a Matter edition' });
  });

  it('needs facts: nothing known is no native edition', () => {
    expect(nativeEdition({})).toBeUndefined();
    expect(nativeEdition({ model: 'mss110' })).toBeUndefined();
    expect(nativeEdition({ model: '', hardwareVersion: '7.0.0' })).toBeUndefined();
    expect(nativeEdition({ model: 'mss310', hardwareVersion: '2.0.0', namespaces: new Set(['Appliance.Control.ToggleX']) })).toBeUndefined();
  });
});

describe('skipLine and NativeEditionGate', () => {
  it('names the plug, says why and how to add it anyway, in one line', () => {
    const edition = nativeEdition({ model: 'mss110', hardwareVersion: '7.0.0' })!;
    const line = skipLine('Hall lamp', '2011061237014329088148e1e9a1b2c3', edition, 'cloud');
    expect(line).toBe(
      'Hall lamp: not added from the Meross cloud: MSS110 hardware 7.x is a HomeKit edition; Apple Home can add it directly ' +
        '(its HomeKit code), and adding it here too would show it twice. To add it anyway, list it under "devices" with ' +
        '"uuid": "2011061237014329088148e1e9a1b2c3".',
    );
    expect(line).not.toContain('\n');
  });

  it('skips native editions and logs each plug once; lets the others through silently', () => {
    const lines: string[] = [];
    const gate = new NativeEditionGate((l) => lines.push(l));
    const native = { uuid: 'u1', name: 'Hall', model: 'mss110', hardwareVersion: '7.0.0' };
    expect(gate.skips(native, 'cloud')).toBe(true);
    expect(gate.skips(native, 'scan')).toBe(true);
    expect(gate.skips({ uuid: 'u2', name: 'Desk', model: 'mss310', hardwareVersion: '2.0.0' }, 'cloud')).toBe(false);
    expect(gate.skips({ uuid: 'u3', name: 'MSS315 0003', model: 'mss315', hardwareVersion: '1.0.0' }, 'scan')).toBe(true);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Hall: not added from the Meross cloud/);
    expect(lines[1]).toMatch(/^MSS315 0003: not added from the LAN scan: MSS315 is a Matter edition; Apple Home can add it directly over Matter/);
  });
});
