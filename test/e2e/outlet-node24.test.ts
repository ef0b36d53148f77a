import { outletSuite } from './outlet.e2e';

// Homebridge 2.4 on Node 24 (the node@24 package, installed as the `node24` dev dependency): the automated checks
// of homebridge/plugins test `engines.node` against Node 22 and 24, so the plugin runs on both.
outletSuite('v2', 24);
