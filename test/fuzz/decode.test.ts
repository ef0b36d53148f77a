import { describe, expect, it } from 'vitest';
import { decodeRealFixtures, SPECS } from './properties';

describe('fuzz: reply decoders', () => {
  it('decode every real fixture (so the mutations start from replies that get deep into the decoders)', () => {
    const results = decodeRealFixtures();
    expect(Object.keys(results).length).toBeGreaterThanOrEqual(10);
    expect(Object.entries(results).filter(([, r]) => r !== 'ok')).toEqual([]);
  });

  for (const spec of SPECS.filter((s) => s.area === 'decode')) {
    it(spec.name, () => {
      spec.run({ numRuns: spec.quickRuns });
    });
  }
});
