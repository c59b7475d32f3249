import { defineConfig } from 'vitest/config';

// `npm run test:browser`: real Chromium (Debian's package) driven by playwright-core,
// pages served by the emulator. One file at a time: each launches its own browser.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
