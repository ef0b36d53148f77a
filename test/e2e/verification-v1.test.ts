import { verificationSuite } from './verification.e2e';

// Homebridge 1.11 on the machine's own Node 20: no block, an empty block, everything on (no Matter there).
verificationSuite('v1');
