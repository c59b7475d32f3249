import { defineConfig } from 'vitest/config';

// `npm test`: everything that needs no browser. Browser tests live in test/browser and run
// with vitest.browser.config.ts (`npm run test:browser`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
