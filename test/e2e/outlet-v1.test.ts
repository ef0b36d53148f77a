import { outletSuite } from './outlet.e2e';

// Homebridge 1.11 on the machine's own Node 20.
outletSuite('v1', 20);
