import { describe, it } from 'vitest';
import { ledgerSpecs } from './ledger';

describe('fuzz: energy ledger', () => {
  for (const spec of ledgerSpecs) {
    it(spec.name, () => spec.run({ numRuns: spec.quickRuns }));
  }
});
