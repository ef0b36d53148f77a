import { describe, it } from 'vitest';
import { SPECS } from './properties';

describe('fuzz: config validation', () => {
  for (const spec of SPECS.filter((s) => s.area === 'config')) {
    it(spec.name, () => {
      spec.run({ numRuns: spec.quickRuns });
    });
  }
});
