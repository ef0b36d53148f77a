import { describe, it } from 'vitest';
import { clientSpec } from './client';

describe('fuzz: MerossClient over loopback HTTP', () => {
  it(clientSpec.name, async () => {
    await clientSpec.run({ numRuns: clientSpec.quickRuns });
  });
});
