import { verificationSuite } from './verification.e2e';

// Homebridge 2.4 on Node 22: no block, an empty block, everything on (with Matter), everything unreachable.
verificationSuite('v2');
