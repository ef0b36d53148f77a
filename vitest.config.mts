import { defineConfig } from 'vitest/config';

/**
 * Energy days are the plug's, never the host's: the energy unit tests run again under host time zones far from UTC
 * (a half-hour zone, a 30-minute daylight-saving zone, and the Homebridge-in-a-container favourite's opposite).
 * test/plug/host-zone.test.ts proves each run really is in the zone it names.
 */
const ENERGY_TESTS = [
  'test/plug/ledger.test.ts',
  'test/plug/midnight.test.ts',
  'test/plug/calendar.test.ts',
  'test/plug/host-zone.test.ts',
  'test/meross/time.test.ts',
  'test/simulator/consumption.test.ts',
  'test/homekit/history.test.ts',
];
const HOST_ZONES = ['America/Los_Angeles', 'Asia/Kolkata', 'Australia/Lord_Howe'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // End-to-end files each run their own Homebridge; two cores, so at most two files at once.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      { extends: true as const, test: { name: 'default', include: ['test/**/*.test.ts'], env: { TZ: process.env.TZ ?? 'UTC' } } },
      ...HOST_ZONES.map((zone) => ({ extends: true as const, test: { name: `host ${zone}`, include: ENERGY_TESTS, env: { TZ: zone } } })),
    ],
  },
});
