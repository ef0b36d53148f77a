import { describe, it } from 'vitest';
import { SPECS } from './properties';

describe('fuzz: envelope verifier', () => {
  for (const spec of SPECS.filter((s) => s.area === 'verify')) {
    it(spec.name, () => {
      spec.run({ numRuns: spec.quickRuns });
    });
  }
});
