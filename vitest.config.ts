import { defineConfig } from 'vitest/config';

// One vitest project per package; each package's own vitest.config.ts holds its settings.
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
