import { defineConfig } from 'vitest/config';

// One GPU device per test file (a worker process each); lavapipe runs on the CPU,
// so two workers on a 2-core machine is the sweet spot.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
