import { defineConfig } from 'vitest/config';

// Runs the suite against deliberately broken backends; only suite-bites.test.ts starts it.
export default defineConfig({
  test: { include: ['test/broken/*.conformance.ts'], testTimeout: 20_000 },
});
