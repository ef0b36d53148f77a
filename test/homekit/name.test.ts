import { describe, expect, it } from 'vitest';
import { homekitName } from '../../src/homekit/name';

const HAP_RULE = /^[\p{L}\p{N}][\p{L}\p{N}\p{Zs}\u2019'&!._:;()/,-]*[\p{L}\p{N}]$/u;

describe('homekitName', () => {
  it('keeps names HomeKit accepts', () => {
    for (const name of ['Desk lamp', "Kid's room", 'Plug 2', 'Küche Steckdose', 'A']) {
      expect(homekitName(name)).toBe(name);
    }
  });

  it('cleans names HomeKit would reject', () => {
    expect(homekitName('Heater (fw 1)')).toBe('Heater (fw 1');
    expect(homekitName('💡 Lamp 💡')).toBe('Lamp');
    expect(homekitName('  -- Fridge -- ')).toBe('Fridge');
    expect(homekitName('TV#1')).toBe('TV 1');
    expect(homekitName('🔌')).toBe('Meross Plug');
  });

  it('always satisfies the HAP name rule', () => {
    for (const name of ['(x)', 'a\u0000b', '!!!a!!!', 'Ω plug', 'x'.repeat(100) + ')', "it's'"]) {
      const cleaned = homekitName(name);
      expect(cleaned.length === 1 || HAP_RULE.test(cleaned), `${name} → ${cleaned}`).toBe(true);
    }
  });
});
