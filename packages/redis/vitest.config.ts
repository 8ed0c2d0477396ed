import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'redis',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/support/cluster-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
