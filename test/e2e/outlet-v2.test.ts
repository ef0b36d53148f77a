import { outletSuite } from './outlet.e2e';

// Homebridge 2.4 on Node 22 (the node@22 package).
outletSuite('v2', 22);
